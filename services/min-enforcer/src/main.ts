// min-enforcer: keeps every pool at or above its minimum (DESIGN.md section 3; seed 000).
import { runService } from '@scalewise/service';
import { defineMinEnforcer } from './service.ts';

await runService(defineMinEnforcer());

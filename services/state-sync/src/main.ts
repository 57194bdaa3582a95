// state-sync: keeps one true picture of each pool (DESIGN.md section 3).
import { runService } from '@scalewise/service';
import { defineStateSync } from './service.ts';

await runService(defineStateSync({ env: process.env }));

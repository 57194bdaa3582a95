// decision-engine: decides when a pool grows or shrinks, and says why (DESIGN.md sections 3, 5).
import { runService } from '@scalewise/service';
import { defineDecisionEngine } from './service.ts';

await runService(defineDecisionEngine());

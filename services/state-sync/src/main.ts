// state-sync: keeps one true picture of each pool (DESIGN.md section 3).
import { dockerEnvironment } from '@scalewise/config';
import { runService } from '@scalewise/service';
import { defineStateSync } from './service.ts';

// The Docker provider's variables only, bound in packages/config.
await runService(defineStateSync({ env: dockerEnvironment(process.env) }));

// node-manager: creates and removes workers safely (DESIGN.md sections 2 and 3).
import { dockerEnvironment } from '@scalewise/config';
import { runService } from '@scalewise/service';
import { defineNodeManager } from './service.ts';

// The Docker provider's variables only, bound in packages/config.
await runService(defineNodeManager({ env: dockerEnvironment(process.env) }));

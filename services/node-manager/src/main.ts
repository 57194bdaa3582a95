// node-manager: creates and removes workers safely (DESIGN.md sections 2 and 3).
import { runService } from '@scalewise/service';
import { defineNodeManager } from './service.ts';

await runService(defineNodeManager({ env: process.env }));

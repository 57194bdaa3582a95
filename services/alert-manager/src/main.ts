// alert-manager: notifications, the event history, the live stream and "why did it do that?"
// (DESIGN.md sections 3 and 7).
import { consoleDirectory } from '@scalewise/config';
import { runService } from '@scalewise/service';
import { defineAlertManager } from './service.ts';

// The image ships the console's build beside dist/ (Dockerfile) and names it; from sources
// the service finds it by itself.
const consoleDir = consoleDirectory(process.env);
await runService(defineAlertManager(consoleDir ? { consoleDir } : {}));

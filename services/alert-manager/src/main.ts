// alert-manager: notifications, the event history, the live stream and "why did it do that?"
// (DESIGN.md sections 3 and 7).
import { runService } from '@scalewise/service';
import { defineAlertManager } from './service.ts';

await runService(defineAlertManager());

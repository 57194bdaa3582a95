// A service run as its own process by runService, as a service's main.ts runs it, for
// secure-transport.int.test.ts: argv[2] is its name, argv[3] the event type it handles; the
// configuration comes from SCALEWISE_CONFIG. Each handled event's id is printed as a JSON line.
import type { EventType } from '@scalewise/events';
import { runService } from './service.ts';

const [name = 'node-manager', type = 'io.scalewise.ScaleUpDecision'] = process.argv.slice(2);
await runService({
  name,
  fromBeginning: true,
  handlers: () =>
    ({
      [type]: async (e: { id: string }) => {
        process.stdout.write(`${JSON.stringify({ handled: e.id })}\n`);
      },
    }) as never as Record<EventType, never>,
});

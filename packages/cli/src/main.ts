#!/usr/bin/env node
// scalewise: the operator's command line. The composition root: the process's streams,
// environment and signals in, an exit status out.
import { run } from './run.ts';

// kafkajs sets negative timers while it backs off; Node's warning about them says nothing
// an operator can act on (the test runner disables it the same way).
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (type === 'TimeoutNegativeWarning') return;
  (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => controller.abort());
}
const status = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
// Exit now: a client that failed to connect may still hold a timer or a socket.
process.exit(status);

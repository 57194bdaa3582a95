/** What tests of a logger need: a destination that keeps every JSON line written to it. */
import { Writable } from 'node:stream';
import { createLogger, type LoggerConfig } from './logger.ts';

/** A pino destination that parses each line written to it into `lines`. */
export function jsonLines(): { lines: Record<string, unknown>[]; destination: Writable } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, destination };
}

/** A logger whose lines land, parsed, in `lines`. */
export function captureLogger(config: Omit<LoggerConfig, 'destination'>) {
  const { lines, destination } = jsonLines();
  return { lines, logger: createLogger({ ...config, destination }) };
}

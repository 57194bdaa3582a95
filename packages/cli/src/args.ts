/**
 * Flag parsing on the parser `scalewise-bus` uses (packages/bus/src/cli-args.ts, on
 * commander), strict: an unknown flag, a missing value or a stray argument is a UsageError
 * naming it. The value checks here are pure.
 */
import { FlagError, type FlagSpec, parseFlags } from '@scalewise/bus/cli';
import { type EventType, eventTypes, isEventType, type Severity, shortName, typeOf } from '@scalewise/events';
import { UsageError } from './errors.ts';

/** Flags every command takes. */
export const commonOptions = {
  help: { type: 'boolean', short: 'h' },
  config: { type: 'string' },
  'no-color': { type: 'boolean' },
} as const satisfies Record<string, FlagSpec>;

/** Flags of the commands that call a service's REST API. */
export const httpOptions = {
  token: { type: 'string' },
  'token-file': { type: 'string' },
  timeout: { type: 'string' },
} as const satisfies Record<string, FlagSpec>;

/**
 * The shared flag parser with the command's options, turning its errors into a UsageError for `command`.
 * @throws UsageError
 */
export function parseCommand<O extends Record<string, FlagSpec>>(
  command: string,
  args: string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseFlags(command, args, options, allowPositionals);
  } catch (err) {
    if (err instanceof FlagError) throw new UsageError(err.message.replace(/\.$/, ''), command);
    throw err;
  }
}

/** A comma-separated, repeatable flag as one list. Pure. */
export function listOf(values: string | string[] | undefined): string[] {
  if (values === undefined) return [];
  return (Array.isArray(values) ? values : [values])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/**
 * An integer flag within [min, max].
 * @throws UsageError naming the flag and the value.
 */
export function intFlag(
  command: string,
  flag: string,
  value: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}-${max}`;
    throw new UsageError(`--${flag}: expected an integer ${range}, got '${value}'`, command);
  }
  return n;
}

/**
 * An instant given as RFC 3339 / ISO 8601 or epoch milliseconds.
 * @throws UsageError naming the flag and the value.
 */
export function timeFlag(command: string, flag: string, value: string): number {
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) {
    throw new UsageError(`--${flag}: '${value}' is neither an ISO 8601 time nor epoch milliseconds`, command);
  }
  return t;
}

/**
 * Event types given short (`ScaleUpDecision`, `trigger.scale`) or full
 * (`io.scalewise.ScaleUpDecision`).
 * @throws UsageError naming the first unknown type.
 */
export function eventTypeFlags(command: string, values: string[]): EventType[] {
  return values.map((v) => {
    const full = typeOf(v);
    if (isEventType(full)) return full;
    const near = eventTypes.map((t) => shortName(t)).filter((t) => t.toLowerCase() === v.toLowerCase());
    const hint = near.length > 0 ? ` (did you mean ${near[0]}?)` : '';
    throw new UsageError(`--type: unknown event type '${v}'${hint}`, command);
  });
}

const severities: readonly Severity[] = ['info', 'warning', 'critical'];

/** @throws UsageError naming the first value that is not a severity. */
export function severityFlags(command: string, values: string[]): Severity[] {
  for (const v of values) {
    if (!severities.includes(v as Severity)) {
      throw new UsageError(`--severity: expected info, warning or critical, got '${v}'`, command);
    }
  }
  return values as Severity[];
}

/** A URL flag; only http(s). @throws UsageError */
export function urlFlag(command: string, flag: string, value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return value.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  throw new UsageError(`--${flag}: expected an http(s) URL, got '${value}'`, command);
}

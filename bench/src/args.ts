/**
 * A bench's command line. Most options are counts (nodes, rounds, pods, a sampling interval):
 * each is declared by its default alone and comes back as a number already checked, so that a
 * typo fails at once instead of running a bench of NaN nodes for minutes.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O }>>['values'];

/**
 * Parses the command line: `counts` are the options that take a positive integer, each with
 * its default; `options` the others, as parseArgs takes them.
 * @throws Error naming the first count that is not a positive integer; parseArgs' own errors
 *   (an unknown option, a missing value).
 */
export function benchArgs<C extends string, const O extends ParseArgsOptionsConfig = Record<never, never>>(
  counts: Record<C, number>,
  options?: O,
): { counts: Record<C, number>; values: Values<O> } {
  const countOptions: ParseArgsOptionsConfig = {};
  for (const [name, fallback] of Object.entries<number>(counts)) {
    countOptions[name] = { type: 'string', default: String(fallback) };
  }
  const { values } = parseArgs({ options: { ...countOptions, ...options } });
  const parsed = {} as Record<C, number>;
  for (const name of Object.keys(counts) as C[]) {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
    parsed[name] = v;
  }
  return { counts: parsed, values: values as Values<O> };
}

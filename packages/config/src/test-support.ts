/** Helpers of this package's tests: configs to load, and the problems of one that must fail. */
import assert from 'node:assert/strict';
import { ScalewiseError } from '@scalewise/errors';
import type { ConfigProblem } from './load.ts';

/**
 * A config of one pool, `name`, of `provider`, with `options` (YAML, any indentation of its
 * own) as its provider_options.
 */
export const poolWithOptions = (name: string, provider: string, options: string) => `
autoscaler:
  pools:
    - name: ${name}
      provider: ${provider}
      provider_options:
${options
  .trim()
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
`;

/** A `readFile` that reads from `files` (path -> content) and throws ENOENT for any other path. */
export const readFrom =
  (files: Record<string, string>) =>
  (path: string): string => {
    const f = files[path];
    if (f === undefined) throw new Error(`ENOENT: no such file '${path}'`);
    return f;
  };

/**
 * Runs `load`, which must throw INVALID_CONFIG: its problems and message. Fails the test when
 * `load` returns or throws anything else.
 */
export function invalidConfig(load: () => unknown): { problems: ConfigProblem[]; message: string } {
  try {
    load();
  } catch (err) {
    assert.ok(err instanceof ScalewiseError, `a ScalewiseError: ${String(err)}`);
    assert.equal(err.code, 'INVALID_CONFIG');
    return { problems: err.details.problems as ConfigProblem[], message: err.message };
  }
  assert.fail('the configuration was accepted');
}

/** Where a problem with the first pool's provider_options is: the start of its key. */
const OPTIONS_KEY = 'autoscaler.pools[0].provider_options';

/**
 * Asserts that the problems' `keys` name each of the provider options `names` (paths under
 * the first pool's provider_options, e.g. `env.K3S_TOKEN`), and that one at least is under
 * provider_options.
 */
export function assertNamesOptions(keys: readonly string[], names: readonly string[]): void {
  for (const name of names) {
    const key = `${OPTIONS_KEY}.${name}`;
    assert.ok(keys.includes(key), `${key} in ${keys.join(', ')}`);
  }
  assert.ok(keys.some((k) => k.startsWith(OPTIONS_KEY)));
}

/**
 * The CLI's version: the package's version and, in a build, the commit it was built from.
 * scripts/build-cli.mjs replaces `SCALEWISE_CLI_VERSION` with the string it read from
 * package.json and git at build time; run from its sources, the CLI reads package.json.
 */
import { readFileSync } from 'node:fs';

declare const SCALEWISE_CLI_VERSION: string | undefined;

/** `0.1.0 (commit 1e9e65c)` in a build, `0.1.0 (from source)` from the sources. */
export function cliVersion(): string {
  if (typeof SCALEWISE_CLI_VERSION === 'string') return SCALEWISE_CLI_VERSION;
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return `${pkg.version} (from source)`;
}

#!/usr/bin/env node
// Builds the `scalewise` command line (packages/cli/src/main.ts) into one JavaScript file,
// packages/cli/dist/scalewise.js, with a node shebang: the workspace packages (shipped as
// TypeScript) and every third-party package it imports are in it, so it runs anywhere Node
// 24 runs, from any directory, with no node_modules beside it. That file is the package's
// bin: `pnpm pack` in packages/cli gives a tarball with no dependencies that
// `npm install -g` installs offline; scripts/up links it onto PATH; every service image
// carries it as /usr/local/bin/scalewise (Dockerfile).
//
//   node scripts/build-cli.mjs [--out FILE]
//
// The bundle takes the service bundles' plugins (scripts/build-service.mjs: Node built-ins
// as require(), OpenTelemetry exporters nobody constructs left out) but is one file: no
// chunks, no source map (an error is printed as one line naming its code, not as a stack).
// `scalewise --version` prints the package's version and the commit it was built from
// (`+dirty` when tracked files had changes; SCALEWISE_COMMIT overrides), read at build time.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { builtinsAsRequire, bundleDefaults, otelExportersNotShipped } from './build-service.mjs';

const root = join(import.meta.dirname, '..');
const pkgDir = join(root, 'packages', 'cli');

/**
 * `SCALEWISE_COMMIT` when set (an image build: its context has no .git), else `abc1234` or
 * `abc1234+dirty` from git, else undefined (a copy of the sources outside a git work tree).
 */
function commit() {
  if (process.env.SCALEWISE_COMMIT) return process.env.SCALEWISE_COMMIT;
  const git = (...args) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const head = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') ? `${head}+dirty` : head;
  } catch {
    return undefined;
  }
}

/** What `scalewise --version` prints after `scalewise `. */
export function versionString() {
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const c = commit();
  return c ? `${version} (commit ${c})` : version;
}

/**
 * Bundles the CLI into `outfile` (executable). Returns the bytes written and the version
 * string baked in.
 * @throws when esbuild fails (the errors are printed first).
 */
export async function bundleCli(outfile = join(pkgDir, 'dist', 'scalewise.js')) {
  const version = versionString();
  // main.ts's own `#!/usr/bin/env node` stays the first line; bundleDefaults' banner follows it.
  const result = await build({
    ...bundleDefaults,
    entryPoints: [join(pkgDir, 'src', 'main.ts')],
    outfile,
    plugins: [builtinsAsRequire, otelExportersNotShipped],
    define: {
      SCALEWISE_CLI_VERSION: JSON.stringify(version),
      // In one file every module shares the entry's import.meta: a module's own
      // `if (import.meta.main)` block (packages/bus/src/cli.ts runs itself as scalewise-bus)
      // must not run inside the CLI. main.ts never asks.
      'import.meta.main': 'false',
    },
  });
  chmodSync(outfile, 0o755);
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { bytes, version };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = values.out ? resolve(values.out) : undefined;
  const { bytes, version } = await bundleCli(out);
  const shown = relative(process.cwd(), out ?? join(pkgDir, 'dist', 'scalewise.js'));
  console.log(`build-cli: scalewise ${version} -> ${shown} (${(bytes / 1024).toFixed(0)} KiB)`);
}

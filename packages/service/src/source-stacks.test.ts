import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';

const hook = join(import.meta.dirname, 'source-stacks.ts');

/** Bundles `source` (TypeScript) with a source map, as the service images are built, and runs it. */
async function runBundled(source: string, nodeArgs: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'source-stacks-'));
  try {
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, source);
    const outfile = join(dir, 'dist', 'main.js');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      sourcemap: true,
      keepNames: true,
      outfile,
      logLevel: 'error',
    });
    const run = spawnSync(process.execPath, [...nodeArgs, outfile], { encoding: 'utf8' });
    return { dir, outfile, ...run };
  } finally {
    setImmediate(() => rmSync(dir, { recursive: true, force: true }));
  }
}

const program = `
import { installSourceMappedStacks, sourceMapsRead } from ${JSON.stringify(hook)};
installSourceMappedStacks();
const before = sourceMapsRead();
function failing(): never {
  throw new TypeError('no such pool');
}
try {
  failing();
} catch (err) {
  console.log(JSON.stringify({ before, stack: (err as Error).stack, after: sourceMapsRead() }));
}
`;

test('a bundled stack trace names the TypeScript source, line and column of each own frame', async () => {
  const run = await runBundled(program);
  assert.equal(run.status, 0, run.stderr);
  const { stack } = JSON.parse(run.stdout) as { stack: string };
  const lines = stack.split('\n');
  assert.equal(lines[0], 'TypeError: no such pool');
  // `throw` is on line 6 of entry.ts, column 9 (1-based, as V8 prints positions).
  assert.match(lines[1] ?? '', /^ {4}at failing \(.*entry\.ts:6:9\)$/);
  assert.match(lines[2] ?? '', /entry\.ts:9:\d+\)?$/);
  assert.doesNotMatch(stack, /main\.js:\d+/, 'no frame left in the bundle');
});

test('the source map is read at the first stack trace, not at start', async () => {
  const run = await runBundled(program);
  const out = JSON.parse(run.stdout) as { before: number; after: number };
  assert.deepEqual([out.before, out.after], [0, 1]);
});

test('with --enable-source-maps Node maps the stack itself and the hook stays out', async () => {
  const run = await runBundled(program, ['--enable-source-maps']);
  const out = JSON.parse(run.stdout) as { stack: string; after: number };
  assert.match(out.stack, /entry\.ts:6:9/);
  assert.equal(out.after, 0);
});

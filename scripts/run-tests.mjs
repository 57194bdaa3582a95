#!/usr/bin/env node
// Runs the workspace's tests with node's test runner (Node 24 strips TypeScript types).
//
//   node scripts/run-tests.mjs unit|int|all [dir...]
//
// unit: `*.test.ts` that are not `*.int.test.ts`; pure, no servers.
// int:  `*.int.test.ts`; real servers from packages/testing (the native stack or testcontainers).
// The last line printed is "N passed, N failed, N skipped" for the whole run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
const [kind = 'all', ...dirs] = process.argv.slice(2);
if (!['unit', 'int', 'all'].includes(kind)) {
  console.error(`run-tests: unknown kind '${kind}' (expected unit, int or all)`);
  process.exit(2);
}
const roots =
  dirs.length > 0 ? dirs.map((d) => resolve(d)) : ['packages', 'services'].map((d) => join(repo, d));

function* walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.name.endsWith('.test.ts')) yield p;
  }
}

const files = roots
  .flatMap((r) => [...walk(r)])
  .filter((f) => {
    const isInt = f.endsWith('.int.test.ts');
    return kind === 'all' || (kind === 'int') === isInt;
  })
  .sort();

if (files.length === 0) {
  const where = roots.map((r) => relative(repo, r) || '.').join(', ');
  console.log(`run-tests: no ${kind} tests under ${where}`);
  // A package without tests of this kind is fine; the whole workspace without any is not.
  process.exit(dirs.length > 0 ? 0 : 1);
}

const out = mkdtempSync(join(tmpdir(), 'scalewise-tests-'));
const summaryFile = join(out, 'summary.txt');
// Integration tests share one broker and one API server: keep their parallelism modest.
const concurrency = process.env.SCALEWISE_TEST_CONCURRENCY ?? (kind === 'unit' ? '4' : '3');
const args = [
  '--test',
  `--test-concurrency=${concurrency}`,
  `--test-timeout=${process.env.SCALEWISE_TEST_TIMEOUT_MS ?? (kind === 'unit' ? '30000' : '300000')}`,
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  `--test-reporter=${join(repo, 'scripts', 'summary-reporter.mjs')}`,
  `--test-reporter-destination=${summaryFile}`,
  ...files,
];
const started = Date.now();
const res = spawnSync(process.execPath, args, {
  stdio: 'inherit',
  cwd: repo,
  env: {
    ...process.env,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --disable-warning=ExperimentalWarning`.trim(),
  },
});
let summary = '';
try {
  if (statSync(summaryFile).size > 0) summary = readFileSync(summaryFile, 'utf8').trim();
} catch {}
rmSync(out, { recursive: true, force: true });
console.log(
  `run-tests: ${files.length} ${kind} test files in ${((Date.now() - started) / 1000).toFixed(1)}s`,
);
if (summary) console.log(summary);
process.exit(res.status ?? 1);

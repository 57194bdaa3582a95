#!/usr/bin/env node
// Runs the workspace's tests with node's test runner (Node 24 strips TypeScript types).
//
//   node scripts/run-tests.mjs unit|int|all [dir...]
//
// unit: `*.test.ts` that are not `*.int.test.ts`; pure, no servers.
// int:  `*.int.test.ts`; real servers from packages/testing (the native stack or testcontainers).
//       Without dirs, e2e/ is left out: `run-tests.mjs int e2e` runs the end-to-end tests.
// The last line printed is "N passed, N failed, N skipped" for the whole run.
//
// A watchdog ends a run that outlives SCALEWISE_TEST_RUN_TIMEOUT_S (unit 600 s, int 1800 s):
// node's runner then names the test files still running, the stack's status is printed, and
// the exit status is 124, so that a hang fails the step instead of the whole CI job.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
const [kind = 'all', ...dirs] = process.argv.slice(2);
if (!['unit', 'int', 'all'].includes(kind)) {
  console.error(`run-tests: unknown kind '${kind}' (expected unit, int or all)`);
  process.exit(2);
}
// e2e/'s integration tests start all six services per file: scripts/test runs them in a step
// of their own, one file at a time (`run-tests.mjs int e2e`); its unit tests run with the rest.
// e2e/src/in-process/ holds the tests that start a service or two inside the test process (the
// CLI and the console against real services, state-sync beside node-manager, node-manager on
// the reference provisioner): they live in e2e/ because packages/ never import services/ nor
// a service another, and run with the other integration tests, as light as those.
const IN_PROCESS = join(repo, 'e2e', 'src', 'in-process');
const roots =
  dirs.length > 0
    ? dirs.map((d) => resolve(d))
    : [
        ...['packages', 'services', 'scripts', ...(kind === 'int' ? [] : ['e2e'])].map((d) => join(repo, d)),
        IN_PROCESS,
      ];

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
    // Reached from e2e/, the in-process tests are left to the integration run (named as a root, they run).
    if (e.isDirectory() && p === IN_PROCESS) continue;
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
// packages/testing's uniqueName records every name here, so that the topics named after
// them can be dropped when the run ends (see dropRunTopics).
const namesFile = join(out, 'names.txt');
// Integration tests share one broker and one API server: keep their parallelism modest, no
// more files at once than cores (three at once on two cores made timing-bound tests time out).
const concurrency =
  process.env.SCALEWISE_TEST_CONCURRENCY ??
  (kind === 'unit' ? '4' : String(Math.min(3, availableParallelism())));
const runTimeoutS = Number(process.env.SCALEWISE_TEST_RUN_TIMEOUT_S ?? (kind === 'unit' ? 600 : 1800));
const args = [
  '--test',
  `--test-concurrency=${concurrency}`,
  `--test-timeout=${process.env.SCALEWISE_TEST_TIMEOUT_MS ?? (kind === 'unit' ? '30000' : '300000')}`,
  // No --test-force-exit: with it node's parent may exit before it has read every child's
  // results and report fewer tests than ran, exit status 0 (nodejs/node#64833; seen here: the
  // last 13 tests of a file missing from a CI run). A file that holds the run is the watchdog's.
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  `--test-reporter=${join(repo, 'scripts', 'summary-reporter.mjs')}`,
  `--test-reporter-destination=${summaryFile}`,
  ...files,
];
const started = Date.now();
const child = spawn(process.execPath, args, {
  stdio: 'inherit',
  cwd: repo,
  // Its own process group, so the watchdog can end the test files it spawned too.
  detached: true,
  env: {
    ...process.env,
    ...(kind === 'unit' ? {} : { SCALEWISE_TEST_NAMES_FILE: namesFile }),
    // kafkajs 2.2.4 schedules a timer with a negative delay (tulios/kafkajs#1751); harmless.
    NODE_OPTIONS:
      `${process.env.NODE_OPTIONS ?? ''} --disable-warning=ExperimentalWarning --disable-warning=TimeoutNegativeWarning`.trim(),
  },
});
let timedOut = false;
const watchdog = setTimeout(() => {
  timedOut = true;
  console.error(`\nrun-tests: the ${kind} run did not end within ${runTimeoutS} s; stopping it.`);
  if (kind !== 'unit') {
    const status = spawnSync(join(repo, 'scripts', 'stack'), ['status'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    console.error(`run-tests: scripts/stack status:\n${status.stdout}${status.stderr}`);
  }
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {}
  setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }, 10_000).unref();
}, runTimeoutS * 1000);
const status = await new Promise((done) =>
  child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0))),
);
clearTimeout(watchdog);

if (kind !== 'unit') dropRunTopics();

let summary = '';
try {
  if (statSync(summaryFile).size > 0) summary = readFileSync(summaryFile, 'utf8').trim();
} catch {}
rmSync(out, { recursive: true, force: true });

/**
 * Drops the Kafka topics this run's tests created on the native stack's broker: each run
 * creates hundreds of partitions, and a broker that keeps tens of thousands of them from
 * earlier runs takes minutes to start.
 */
function dropRunTopics() {
  if (!existsSync(namesFile) || process.env.SCALEWISE_TEST_SERVERS === 'containers') return;
  const env = spawnSync(join(repo, 'scripts', 'stack'), ['env'], { encoding: 'utf8', timeout: 30_000 });
  const brokers = /^KAFKA_BROKERS=(.+)$/m.exec(env.stdout ?? '')?.[1];
  if (!brokers) return;
  spawnSync(
    process.execPath,
    [
      '--disable-warning=TimeoutNegativeWarning',
      join(repo, 'packages', 'testing', 'src', 'drop-test-topics.ts'),
      namesFile,
      brokers,
    ],
    { stdio: 'inherit', cwd: repo, timeout: 180_000 },
  );
}
console.log(
  `run-tests: ${files.length} ${kind} test files in ${((Date.now() - started) / 1000).toFixed(1)}s`,
);
if (summary) console.log(summary);
process.exit(timedOut ? 124 : status);

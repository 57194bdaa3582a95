// The whole system's reaction times, all six services as processes on the native stack
// (e2e's startSystem: the kwok provider, the real kube-apiserver, scheduler and KWOK):
//
// 1. an unschedulable pod created -> ScaleUpDecision, and -> that pod Running on a new
//    worker: one pod at a time, each too big for the free room of every worker, kept
//    running so that the next one needs a new worker again. Two cases side by side, taken in
//    turn in one run (`--runs` of each, default 20): "after a scale-up", the pod created as
//    soon as the previous scale-up's node is Ready and its action completed, and "quiet", the
//    pod created once the pool has been idle for `--quiet-seconds` (default 3) since its last
//    node turned Ready;
// 2. a worker deleted at the minimum -> NodeUnexpectedlyLost, and -> MinimumNodesRestored
//    (`--losses`, default 20; 0 leaves this part out).
//
// The services run as their images run them (bundled, the Dockerfile's ENTRYPOINT flags and
// allocator settings; `--sources` runs their TypeScript sources instead), and the RSS of each is
// sampled every second while it works: the services' loaded RSS.
//
// Reported with the anchors of issue 11, never asserted.
//
//   node bench/src/reaction.bench.ts [--runs 20] [--quiet-seconds 3] [--losses 20] [--sample-interval 10] [--sources]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type System, type SystemOptions, startSystem } from '@scalewise/e2e';
import type { AnyScalewiseEvent } from '@scalewise/events';
import { POOL_LABEL } from '@scalewise/kube';
import { benchArgs } from './args.ts';
import { imageLauncher } from './image.ts';
import { pct } from './stats.ts';

const { counts, values } = benchArgs(
  { runs: 20, 'sample-interval': 10 },
  {
    'quiet-seconds': { type: 'string', default: '3' },
    losses: { type: 'string', default: '20' },
    sources: { type: 'boolean', default: false },
  },
);
const { runs, 'sample-interval': sampleInterval } = counts;
const losses = Number(values.losses);
const quietSeconds = Number(values['quiet-seconds']);
if (!Number.isInteger(losses) || losses < 0)
  throw new Error(`--losses must be an integer >= 0, got ${losses}`);
if (!(quietSeconds >= 0)) throw new Error(`--quiet-seconds must be >= 0, got ${quietSeconds}`);

// Each service bundled once, started as its image starts it by both systems.
const bundleDir = mkdtempSync(join(tmpdir(), 'scalewise-reaction-'));
const launch: SystemOptions['launch'] = values.sources ? undefined : imageLauncher(bundleDir);

/** RSS samples in MiB per service, taken every second while `watch` runs. */
const rssSamples = new Map<string, number[]>();
function watchRss(system: System, phase: string): () => void {
  const timer = setInterval(() => {
    for (const [name, s] of system.services) {
      try {
        const status = readFileSync(`/proc/${s.child.pid}/status`, 'utf8');
        const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
        const key = `${name} (${phase})`;
        if (Number.isFinite(kib)) rssSamples.set(key, [...(rssSamples.get(key) ?? []), kib / 1024]);
      } catch {
        // exited
      }
    }
  }, 1000);
  return () => clearInterval(timer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first recorded event of `type` created at or after `since` (epoch ms). */
async function first(
  system: System,
  type: string,
  since: number,
  timeoutMs = 120_000,
): Promise<AnyScalewiseEvent> {
  const full = `io.scalewise.${type}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = system.rec.events.find((x) => x.type === full && Date.parse(x.time) >= since);
    if (e) return e;
    if (Date.now() > deadline) throw new Error(`no ${type} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

type Case = 'quiet' | 'after';
type Timings = Record<Case, { decision: number[]; running: number[] }>;

async function pendingPodToWorker(): Promise<
  Timings & { spare: Record<Case, number>; extra: Record<Case, number> }
> {
  const system = await startSystem({
    label: 'bench-reaction',
    // Workers of 2 CPUs, pods of 1.5: every pod needs a worker of its own.
    pool: {
      min: 1,
      max: 2 * runs + 2,
      cpuMillicores: 2000,
      memoryMib: 4096,
      cooldownSeconds: 0,
      scaleUpPodsPer15s: 100,
    },
    initialWorkers: 1,
    sampleIntervalSeconds: sampleInterval,
    ...(launch ? { launch } : {}),
  });
  const unwatch = watchRss(system, 'scale-ups');
  const out: Timings = { quiet: { decision: [], running: [] }, after: { decision: [], running: [] } };
  const starts: { kind: Case; t0: number }[] = [];
  const spare: Record<Case, number> = { quiet: 0, after: 0 };
  const extra: Record<Case, number> = { quiet: 0, after: 0 };
  /** Creates a pod of 1.5 CPUs selecting the pool's workers (2 CPUs each). */
  const bigPod = (name: string) =>
    system.kube.core.createNamespacedPod({
      namespace: system.namespace,
      body: {
        metadata: { name },
        spec: {
          nodeSelector: { [POOL_LABEL]: system.pool },
          terminationGracePeriodSeconds: 0,
          containers: [{ name, image: name, resources: { requests: { cpu: '1500m', memory: '256Mi' } } }],
        },
      },
    });
  /** The first ScaleUpDecision since t0, or undefined when the pod runs without one. */
  const decisionOrRunning = async (name: string, t0: number): Promise<AnyScalewiseEvent | undefined> => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const d = system.rec.events.find(
        (x) => x.type === 'io.scalewise.ScaleUpDecision' && Date.parse(x.time) >= t0,
      );
      if (d) return d;
      const pod = await system.kube.core.readNamespacedPod({ name, namespace: system.namespace });
      if (pod.status?.phase === 'Running') return undefined;
      if (Date.now() > deadline) throw new Error(`no ScaleUpDecision for ${name} within 120 s`);
      await sleep(20);
    }
  };
  const runningNow = async (name: string) => {
    for (;;) {
      const pod = await system.kube.core.readNamespacedPod({ name, namespace: system.namespace });
      if (pod.status?.phase === 'Running') return;
      await sleep(20);
    }
  };
  try {
    // The initial worker's room taken first, so that every measured pod needs a new worker.
    await bigPod('filler');
    await runningNow('filler');
    // When the pool's last node was seen Ready: the filler's node is an initial worker.
    let readyAt = Date.now();
    for (let i = 0; i < 2 * runs; i++) {
      const name = `job-${i}`;
      // In turn, so that both cases see the same machine: "after" right away (the previous
      // run's node has just turned Ready), "quiet" once the pool has been idle long enough.
      const kind: Case = i % 2 === 0 ? 'after' : 'quiet';
      if (kind === 'quiet') await sleep(Math.max(0, readyAt + quietSeconds * 1000 - Date.now()));
      const t0 = Date.now();
      const p0 = performance.now();
      await bigPod(name);
      starts.push({ kind, t0 });
      const d = await decisionOrRunning(name, t0);
      if (!d) {
        // Running on a node bought before (an earlier run bought one too many): no reaction
        // to measure; counted and reported.
        spare[kind] += 1;
        readyAt = Date.now();
        process.stdout.write('s');
        continue;
      }
      out[kind].decision.push(Date.parse(d.time) - t0);
      await runningNow(name);
      out[kind].running.push(performance.now() - p0);
      // The decision must be the last of this run: wait for its action to complete.
      await first(system, 'ScalingActionCompleted', t0);
      // The new node is Ready (its pod runs) and its action completed: the next "after" run
      // starts now, the next "quiet" one quietSeconds from now.
      readyAt = Date.now();
      process.stdout.write(kind === 'quiet' ? 'q' : 'a');
    }
    process.stdout.write('\n');
    // Decisions per run (from its pod's creation to the next's): more than one bought a node
    // the pod did not need.
    for (const [j, s] of starts.entries()) {
      const end = starts[j + 1]?.t0 ?? Number.POSITIVE_INFINITY;
      const n = system.rec.events.filter((x) => {
        const t = Date.parse(x.time);
        return x.type === 'io.scalewise.ScaleUpDecision' && t >= s.t0 && t < end;
      }).length;
      if (n > 1) extra[s.kind] += n - 1;
    }
  } finally {
    unwatch();
    await system.stop();
  }
  return { ...out, spare, extra };
}

async function lostToRestored(): Promise<{ lost: number[]; restored: number[] }> {
  const system = await startSystem({
    label: 'bench-restore',
    pool: { min: 2, max: 6 },
    initialWorkers: 2,
    // One loss at a time is an ordinary repair back to the minimum: losses a few seconds apart
    // within the default window would be an emergency (twice the deficit), leaving the pool
    // above its minimum, where the next loss is no violation.
    emergencyWindowSeconds: 1,
    sampleIntervalSeconds: sampleInterval,
    syncIntervalSeconds: sampleInterval,
    ...(launch ? { launch } : {}),
  });
  const unwatch = watchRss(system, 'losses');
  const lost: number[] = [];
  const restored: number[] = [];
  try {
    await first(system, 'ClusterStateSynced', 0);
    for (let i = 0; i < losses; i++) {
      const [victim] = await system.readyWorkers();
      if (!victim) throw new Error('no ready worker to delete');
      const t0 = Date.now();
      await system.kube.core.deleteNode({ name: victim });
      const l = await first(system, 'NodeUnexpectedlyLost', t0);
      lost.push(Date.parse(l.time) - t0);
      const r = await first(system, 'MinimumNodesRestored', t0);
      restored.push(Date.parse(r.time) - t0);
      // Let the replacement settle (synced at 2 again) before the next loss.
      while ((await system.readyWorkers()).length < 2) await sleep(100);
      await first(system, 'ClusterStateSynced', Date.now());
      process.stdout.write('.');
    }
    process.stdout.write('\n');
  } finally {
    unwatch();
    await system.stop();
  }
  return { lost, restored };
}

const up = await pendingPodToWorker();
const down = losses > 0 ? await lostToRestored() : undefined;
const row = (xs: number[], anchor: string) => ({
  runs: xs.length,
  'p50 ms': Math.round(pct(xs, 50)),
  'p99 ms': Math.round(pct(xs, 99)),
  'max ms': Math.round(Math.max(...xs)),
  anchor,
});
console.log(`\nsample interval ${sampleInterval} s, state-sync interval ${sampleInterval} s, 2 shared cores`);
console.log(
  `scale-ups taken in turn: "quiet" = pod created ${quietSeconds} s after the pool's last node was seen Ready, ` +
    `"after scale-up" = pod created as soon as the previous scale-up's node was Ready and its action completed`,
);
const CA = 'Cluster Autoscaler: 10 s scan interval; SLO <= 30 s, ~5 s average (< 100 nodes)';
console.table({
  'quiet: unschedulable pod -> ScaleUpDecision': row(up.quiet.decision, `goal p99 <= 200 ms; ${CA}`),
  'after scale-up: unschedulable pod -> ScaleUpDecision': row(up.after.decision, 'goal p99 <= 200 ms'),
  'quiet: unschedulable pod -> Running on a new worker': row(up.quiet.running, '(KWOK worker: no VM boot)'),
  'after scale-up: unschedulable pod -> Running on a new worker': row(up.after.running, ''),
  ...(down
    ? {
        'worker deleted at min -> NodeUnexpectedlyLost': row(down.lost, ''),
        'worker deleted at min -> MinimumNodesRestored': row(down.restored, 'seed 000 example: 90 s'),
      }
    : {}),
});
console.log(
  `runs whose pod ran on a node bought before (no decision): quiet ${up.spare.quiet}, after ${up.spare.after}; ` +
    `ScaleUpDecisions beyond the first in a run (a node bought twice): quiet ${up.extra.quiet}, after ${up.extra.after}`,
);
const ratio = (a: number[], b: number[], p: number) => (pct(a, p) / pct(b, p)).toFixed(2);
console.log(
  `after scale-up / quiet, pod -> ScaleUpDecision: p50 ${ratio(up.after.decision, up.quiet.decision, 50)}, ` +
    `p99 ${ratio(up.after.decision, up.quiet.decision, 99)}`,
);
console.log(
  `RSS of each service while it worked, sampled every second (${values.sources ? 'TypeScript sources' : 'started as its image starts it'}):`,
);
console.table(
  Object.fromEntries(
    [...rssSamples.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, xs]) => [
        k,
        {
          samples: xs.length,
          'median MiB': pct(xs, 50).toFixed(1),
          'max MiB': Math.max(...xs).toFixed(1),
        },
      ]),
  ),
);
rmSync(bundleDir, { recursive: true, force: true });
process.exit(0);

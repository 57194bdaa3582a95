// The scheduling simulation at cluster scale, pure (no servers): a generated cluster of
// `--nodes` nodes and `--nodes x --pods-per-node` pods (bench/src/sim-cluster.ts: a mix of
// plain pods, hostname anti-affinity groups, zone spreads, a tainted pool with tolerating pods,
// PDBs, DaemonSet pods, 10 % of the nodes nearly empty), made as API objects and projected with
// packages/kube as metrics-listener's watch caches hold them. Over `--rounds` rounds (p50/p99):
//
// (a) the snapshot (packages/kube snapshotOf): the first build (cold conversion caches), later
//     builds with nothing changed and with 1 % of the pods changed (new projections);
// (b) planScaleUp for `--pending` pending pods of mixed shapes across the pools' templates, and
//     the same through metrics-listener's planPending;
// (c) a full scale-down pass: planRemoval over every node under the default low thresholds
//     (CPU < 30 % and memory < 40 % requested), no limit on removals, the PDBs and the
//     not-evictable pods counted, the pressure thresholds (80 %) as headroom; and the same pool
//     by pool through metrics-listener's planRemovals, one pool per call;
//
// and one metrics-listener round's worth (snapshot with 1 % changed + planPending + one
// planRemovals over every pool, as the round runs it) beside the goal of < 1 s; heap used and RSS at each stage. Reported, never
// asserted.
//
//   node bench/src/simulation.bench.ts [--nodes 5000] [--pods-per-node 30] [--pools 3] [--rounds 20] [--pending 500]

import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  blockerOf,
  type NodeInfo,
  nodeProjection,
  type PdbInfo,
  type PodInfo,
  pdbProjection,
  podProjection,
  simPod,
  snapshotOf,
} from '@scalewise/kube';
import { type Candidate, planPending, planRemovals, type WaitingPod } from '@scalewise/metrics-listener/core';
import { Cluster, planRemoval, planScaleUp, type SimPod, type Snapshot } from '@scalewise/scheduling';
import { benchArgs } from './args.ts';
import {
  boundPods,
  budgets,
  nodeObject,
  type PodShape,
  pendingPods,
  podObject,
  poolShape,
  templateOf,
} from './sim-cluster.ts';
import { pct } from './stats.ts';

const { counts } = benchArgs({ nodes: 5000, 'pods-per-node': 30, pools: 3, rounds: 20, pending: 500 });
const { nodes: nodesN, 'pods-per-node': podsPerNode, pools: poolsN, rounds, pending: pendingN } = counts;

// A full GC before each memory reading, without asking for --expose-gc on the command line.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 2 ** 20;
const memory: Record<string, Record<string, string>> = {};
let peakRss = 0;
function mem(stage: string): void {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  gc();
  const m = process.memoryUsage();
  memory[stage] = {
    'heap used MiB': (m.heapUsed / MiB).toFixed(1),
    'heap total MiB': (m.heapTotal / MiB).toFixed(1),
    'RSS MiB': (m.rss / MiB).toFixed(1),
    'peak RSS so far MiB': (Math.max(peakRss, m.rss) / MiB).toFixed(1),
  };
}
const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const time = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const out = f();
  return [out, performance.now() - t];
};

mem('start');

// The watch caches: packages/kube's projections, keyed as its caches key them. One API object
// alive at a time, as a watch delivers them.
const nodes = new Map<string, NodeInfo>();
const pods = new Map<string, PodInfo>();
const pdbs = new Map<string, PdbInfo>();
/** Every 100th bound pod: 1 % of the pods, re-projected (a new resourceVersion) each round. */
const churn: [string, PodShape][] = [];
const [, projectMs] = time(() => {
  for (let i = 0; i < nodesN; i++) {
    const n = nodeProjection.project(nodeObject(i, poolsN));
    nodes.set(nodeProjection.key(n), n);
  }
  let k = 0;
  for (const [i, shape] of boundPods({ nodes: nodesN, podsPerNode, pools: poolsN })) {
    const p = podProjection.project(podObject(shape, `node-${i}`));
    pods.set(podProjection.key(p), p);
    if (k++ % 100 === 50) churn.push([`node-${i}`, shape]);
  }
  for (const b of budgets()) {
    const p = pdbProjection.project(b);
    pdbs.set(pdbProjection.key(p), p);
  }
});
mem(`${nodes.size} nodes, ${pods.size} pods projected (the watch caches)`);

// (a) The first build converts every projection (cold WeakMap caches).
const [first, firstMs] = time(() => snapshotOf(nodes.values(), pods.values(), pdbs.values()));
mem('after the first snapshot (conversion caches full)');

const templates = Array.from({ length: poolsN }, (_, p) => templateOf(p, 200));
const pendingShapes = pendingPods(pendingN, poolsN);
const pending: SimPod[] = pendingShapes.map((s) => simPod(podProjection.project(podObject(s, undefined))));
const waiting: WaitingPod[] = pending.map((pod) => ({
  pod,
  sample: {
    namespace: pod.namespace,
    name: pod.key.slice(pod.namespace.length + 1),
    cpuMillicores: pod.requests.cpu ?? 0,
    memoryBytes: pod.requests.memory ?? 0,
    pendingSince: 0,
    reason: 'Unschedulable',
  },
}));

// Candidates as metrics-listener finds them: requested CPU < 30 % and memory < 40 %, least
// used first (the default low thresholds).
function candidatesOf(snap: Snapshot): Map<string, Candidate[]> {
  const used = new Map<string, { cpu: number; memory: number }>();
  for (const p of snap.pods) {
    const u = used.get(p.nodeName) ?? { cpu: 0, memory: 0 };
    u.cpu += p.requests.cpu ?? 0;
    u.memory += p.requests.memory ?? 0;
    used.set(p.nodeName, u);
  }
  const out = new Map<string, Candidate[]>();
  for (const n of snap.nodes) {
    const u = used.get(n.name) ?? { cpu: 0, memory: 0 };
    const cpuPercent = (100 * u.cpu) / (n.allocatable.cpu ?? 1);
    const memoryPercent = (100 * u.memory) / (n.allocatable.memory ?? 1);
    if (n.pool === undefined || cpuPercent >= 30 || memoryPercent >= 40) continue;
    const l = out.get(n.pool) ?? [];
    l.push({ node: n.name, cpuPercent, memoryPercent });
    out.set(n.pool, l);
  }
  for (const l of out.values())
    l.sort((a, b) => Math.max(a.cpuPercent, a.memoryPercent) - Math.max(b.cpuPercent, b.memoryPercent));
  return out;
}
const byPool = candidatesOf(first);
const allCandidates = [...byPool.values()].flat().sort((a, b) => a.cpuPercent - b.cpuPercent);
const headroom = Object.fromEntries(templates.map((t) => [t.pool, { cpu: 0.8, memory: 0.8 }]));

const t: Record<string, number[]> = {};
const rec = (k: string, v: number) => {
  t[k] ??= [];
  t[k].push(v);
};
let lastUp: ReturnType<typeof planScaleUp> | undefined;
let lastRemoval: ReturnType<typeof planRemoval> | undefined;
let lastPoolRemoval = 0;

for (let r = 0; r < rounds; r++) {
  const [, unchangedMs] = time(() => snapshotOf(nodes.values(), pods.values(), pdbs.values()));
  rec('snapshot: unchanged caches', unchangedMs);
  // 1 % of the pods changed since the last round: new projections, converted again.
  for (const [node, shape] of churn) {
    const o = podObject(shape, node);
    if (o.metadata) o.metadata.resourceVersion = String(r + 2);
    const p = podProjection.project(o);
    pods.set(podProjection.key(p), p);
  }
  const [snap, churnMs] = time(() => snapshotOf(nodes.values(), pods.values(), pdbs.values()));
  rec('snapshot: 1 % of pods changed', churnMs);

  // What each planner call starts with: the mutable cluster, built from the snapshot in O(pods).
  const [, clusterMs] = time(() => new Cluster(snap));
  rec('new Cluster(snapshot) (each planner call builds one)', clusterMs);
  const [up, upMs] = time(() => planScaleUp({ snapshot: snap, pending, templates }));
  lastUp = up;
  rec(`planScaleUp, ${pendingN} pending`, upMs);
  const [, pendingMs] = time(() =>
    planPending({ snapshot: snap, waiting, templates, expander: 'least_waste', now: 0 }),
  );
  rec(`planPending (metrics-listener), ${pendingN} pending`, pendingMs);

  const [removal, removalMs] = time(() =>
    planRemoval({
      snapshot: snap,
      candidates: allCandidates.map((c) => c.node),
      blocker: blockerOf,
      maxRemovals: allCandidates.length,
      headroom,
    }),
  );
  lastRemoval = removal;
  rec(`planRemoval, ${allCandidates.length} candidates`, removalMs);
  let poolsMs = 0;
  let removable = 0;
  for (const [pool, candidates] of byPool) {
    const [sims, ms1] = time(() =>
      planRemovals({
        snapshot: snap,
        pools: [
          { pool, candidates, maxRemovals: candidates.length, cpuHighPercent: 80, memoryHighPercent: 80 },
        ],
        blocker: blockerOf,
      }),
    );
    const sim = sims.get(pool) ?? { removable_nodes: [] };
    poolsMs += ms1;
    removable += sim.removable_nodes.length;
  }
  lastPoolRemoval = removable;
  rec(`planRemovals (metrics-listener), ${byPool.size} pools one call each`, poolsMs);
  // What a round does: one removal pass over every pool's candidates.
  const [, allPoolsMs] = time(() =>
    planRemovals({
      snapshot: snap,
      pools: [...byPool].map(([pool, candidates]) => ({
        pool,
        candidates,
        maxRemovals: candidates.length,
        cpuHighPercent: 80,
        memoryHighPercent: 80,
      })),
      blocker: blockerOf,
    }),
  );
  rec(`planRemovals (metrics-listener), ${byPool.size} pools in one pass`, allPoolsMs);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  rec('one round: snapshot (1 % changed) + planPending + planRemovals', churnMs + pendingMs + allPoolsMs);
}
mem(`after ${rounds} rounds`);

const pods0 = first.pods.length;
console.log(
  `\n${nodesN} nodes (${poolsN} pools: ${templates.map((x, p) => `${x.pool} ${poolShape(p).cpu} CPU/${poolShape(p).memoryGi} GiB${poolShape(p).taint ? ' tainted' : ''}`).join(', ')}), ` +
    `${pods0} bound pods, ${first.pdbs?.length ?? 0} PDBs; ${rounds} rounds; Node ${process.version}; 2 shared cores, load average at the end ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' / ')}`,
);
console.log(`projecting the API objects (once, as a full resync would): ${ms(projectMs)} ms`);
const rows: Record<string, Record<string, string | number>> = {
  'snapshot: first build (cold caches)': {
    runs: 1,
    'p50 ms': ms(firstMs),
    'p99 ms': ms(firstMs),
    'max ms': ms(firstMs),
    goal: '',
  },
};
for (const [k, xs] of Object.entries(t)) {
  rows[k] = {
    runs: xs.length,
    'p50 ms': ms(pct(xs, 50)),
    'p99 ms': ms(pct(xs, 99)),
    'max ms': ms(Math.max(...xs)),
    goal: k.startsWith('one round') ? '< 1000 ms' : '',
  };
}
console.table(rows);
if (lastUp) {
  const newNodes = lastUp.pools.map((p) => `${p.pool} ${p.newNodes.length}`).join(', ');
  console.log(
    `scale-up plan: ${lastUp.onExisting.length} pods on existing nodes, new nodes ${newNodes || 'none'} ` +
      `(${lastUp.pools.reduce((s, p) => s + p.pods.length, 0)} pods), ${lastUp.unplaceable.length} unplaceable`,
  );
}
if (lastRemoval) {
  const why = new Map<string, number>();
  for (const b of lastRemoval.blocked) why.set(b.reason.predicate, (why.get(b.reason.predicate) ?? 0) + 1);
  console.log(
    `removal pass: ${allCandidates.length} candidates, ${lastRemoval.removable.length} removable ` +
      `(${lastRemoval.removable.reduce((s, x) => s + x.moves.length, 0)} pods moved), blocked ${[...why].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; ` +
      `pool by pool: ${lastPoolRemoval} removable`,
  );
}
console.log('memory (after a full GC):');
console.table(memory);

/**
 * The scheduling simulation's answers as events, pure: which pool each waiting pod is for and
 * how many new nodes that pool needs (PendingPodsDetected's `simulation`), which pods no pool
 * can host (NotTriggerScaleUp), and which under-used nodes can go (UnderutilizationWarning's
 * `simulation`). The simulation itself is packages/scheduling; the shell gives it the watch
 * caches as they are at the moment of the report, so every number here is true of that cluster.
 */
import type { EventData } from '@scalewise/events';
import {
  type BoundPod,
  type Expander,
  type NodeTemplate,
  planRemoval,
  planScaleUp,
  type Reason,
  type ScaleUpPlan,
  type SimPod,
  type Snapshot,
} from '@scalewise/scheduling';
import { type PendingPod, pct, secs } from './sense.ts';

type PendingSimulation = NonNullable<EventData<'io.scalewise.PendingPodsDetected'>['simulation']>;
type RemovalSimulation = NonNullable<EventData<'io.scalewise.UnderutilizationWarning'>['simulation']>;
export type Unplaceable = EventData<'io.scalewise.NotTriggerScaleUp'>;

/** A waiting pod: what the simulation places, and what the event says of it. */
export interface WaitingPod {
  pod: SimPod;
  sample: PendingPod;
}

export interface PendingPlan {
  /** Per pool: the waiting pods the simulation put on its nodes (existing, in flight or new), and its numbers. */
  byPool: Map<string, { pending: PendingPod[]; simulation: PendingSimulation }>;
  /** Pods no node and no pool can host; null when there are none. */
  unplaceable: Unplaceable | null;
  /** Pods that fit a node of no pool (the scheduler will place them): counted, not reported. */
  elsewhere: number;
}

/**
 * Places the waiting pods on the snapshot's nodes, then on new nodes of the templates, and
 * groups the answer by pool. `templates` are the pools the simulation may grow, each with the
 * nodes it may still add.
 */
export function planPending(input: {
  snapshot: Snapshot;
  waiting: readonly WaitingPod[];
  templates: readonly NodeTemplate[];
  expander: Expander;
  now: number;
  /**
   * The pool a pod names itself (its nodeSelector's pool label), if any: a pod that names a
   * pool and fits nowhere still waits for that pool (it holds its scale-down).
   */
  namedPool?: (pod: SimPod) => string | undefined;
}): PendingPlan {
  const { snapshot, waiting, templates, expander, now } = input;
  const byKey = new Map(waiting.map((w) => [w.pod.key, w]));
  const plan: ScaleUpPlan = planScaleUp({
    snapshot,
    pending: waiting.map((w) => w.pod),
    templates,
    expander,
  });
  const nodePool = new Map<string, { pool: string | undefined; inFlight: boolean }>();
  const poolNodes = new Map<string, { all: number; inFlight: number }>();
  for (const n of snapshot.nodes) {
    nodePool.set(n.name, { pool: n.pool, inFlight: n.inFlight === true });
    if (n.pool === undefined) continue;
    const c = poolNodes.get(n.pool) ?? { all: 0, inFlight: 0 };
    c.all += 1;
    if (n.inFlight) c.inFlight += 1;
    poolNodes.set(n.pool, c);
  }
  const templateOf = new Map(templates.map((t) => [t.pool, t]));
  const out = new Map<string, { pending: PendingPod[]; fit: number; plan?: ScaleUpPlan['pools'][number] }>();
  const entry = (pool: string) => {
    let e = out.get(pool);
    if (!e) {
      e = { pending: [], fit: 0 };
      out.set(pool, e);
    }
    return e;
  };
  let elsewhere = 0;
  for (const placed of plan.onExisting) {
    const pool = nodePool.get(placed.node)?.pool;
    const w = byKey.get(placed.pod);
    if (pool === undefined || !w) {
      elsewhere += 1;
      continue;
    }
    const e = entry(pool);
    e.pending.push(w.sample);
    e.fit += 1;
  }
  for (const p of plan.pools) {
    const e = entry(p.pool);
    e.plan = p;
    for (const key of p.pods) {
      const w = byKey.get(key);
      if (w) e.pending.push(w.sample);
    }
  }
  const unplaceableOf = new Map<string, number>();
  for (const u of plan.unplaceable) {
    const w = byKey.get(u.pod);
    const pool = w && input.namedPool?.(w.pod);
    if (!w || pool === undefined || !templateOf.has(pool)) continue;
    entry(pool).pending.push(w.sample);
    unplaceableOf.set(pool, (unplaceableOf.get(pool) ?? 0) + 1);
  }
  const byPool = new Map<string, { pending: PendingPod[]; simulation: PendingSimulation }>();
  for (const [pool, e] of out) {
    const t = templateOf.get(pool);
    const nodes = poolNodes.get(pool) ?? { all: 0, inFlight: 0 };
    const newNodes = e.plan?.newNodes ?? [];
    byPool.set(pool, {
      pending: e.pending,
      simulation: {
        pool_nodes: nodes.all,
        in_flight_nodes: nodes.inFlight,
        fit_existing: e.fit,
        ...(unplaceableOf.has(pool) ? { unplaceable: unplaceableOf.get(pool) } : {}),
        new_nodes: newNodes.length,
        pods_on_new_nodes: e.plan?.pods.length ?? 0,
        expander,
        template: {
          cpu_millicores: Math.round(t?.allocatable.cpu ?? 0),
          memory_bytes: Math.round(t?.allocatable.memory ?? 0),
          pods: Math.round(t?.allocatable.pods ?? 110),
          ...(t && t.zones.length > 0 ? { zones: [...t.zones] } : {}),
        },
        waste: {
          cpu_percent: pct(e.plan?.waste.cpu ?? 0, 1),
          memory_percent: pct(e.plan?.waste.memory ?? 0, 1),
        },
        ...(newNodes.length > 0
          ? {
              new_node_pods: newNodes
                .slice(0, 100)
                .map((n) => ({ ...(n.zone ? { zone: n.zone } : {}), pods: n.pods.length })),
            }
          : {}),
      },
    });
  }
  return { byPool, unplaceable: unplaceableEvent(plan, byKey, now), elsewhere };
}

function unplaceableEvent(
  plan: ScaleUpPlan,
  byKey: ReadonlyMap<string, WaitingPod>,
  now: number,
): Unplaceable | null {
  if (plan.unplaceable.length === 0) return null;
  const pods = plan.unplaceable.slice(0, 50).map((u) => {
    const w = byKey.get(u.pod);
    const [namespace = '', name = u.pod] = u.pod.split('/');
    return {
      namespace,
      name,
      ...(u.owner ? { owner: u.owner } : {}),
      waiting_time: w ? secs(now - w.sample.pendingSince) : 0,
      existing_nodes: u.existing.slice(0, 5).map((x) => ({
        constraint: x.reason.predicate,
        message: x.reason.message,
        nodes: x.nodes,
      })),
      pools: u.pools.map((x) => ({
        pool: x.pool,
        constraint: x.reason.predicate,
        message: x.reason.message,
      })),
    };
  });
  const first = plan.unplaceable[0];
  const why = first ? firstWhy(first.pools.map((p) => p.reason)) : '';
  const n = plan.unplaceable.length;
  return {
    pending_count: n,
    pods,
    summary:
      `${n} pod${n === 1 ? '' : 's'} pending that no pool can host, so nothing is scaled for ${n === 1 ? 'it' : 'them'}: ` +
      `${first?.pod ?? ''}${why ? ` (${why})` : ''}${n > 1 ? ` and ${n - 1} more` : ''}`,
  };
}

/** The reason pools gave most often, or the first. */
function firstWhy(reasons: readonly Reason[]): string {
  if (reasons.length === 0) return 'no pool has a template';
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r.message, (counts.get(r.message) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}

/** A candidate node of a pool for removal, with its requested share. */
export interface Candidate {
  node: string;
  cpuPercent: number;
  memoryPercent: number;
}

/** One pool's part of the scale-down pass. */
export interface PoolRemoval {
  pool: string;
  candidates: readonly Candidate[];
  /** The pool may lose this many nodes (its size less its min). */
  maxRemovals: number;
  /** The pressure thresholds, percent. */
  cpuHighPercent: number;
  memoryHighPercent: number;
}

/**
 * The scale-down pass of every pool at once, over one model of the cluster: each pool's
 * candidates (least used first) are tried one after another, each removable only if every pod
 * on it is placed on the nodes that stay, within the PDBs, and without bringing its pool's
 * requests above the pressure thresholds; which must stay and why.
 */
export function planRemovals(input: {
  snapshot: Snapshot;
  pools: readonly PoolRemoval[];
  blocker: (pod: BoundPod) => string | undefined;
}): Map<string, RemovalSimulation> {
  const { snapshot, pools } = input;
  const plan = planRemoval({
    snapshot,
    candidates: pools.flatMap((p) => p.candidates.map((c) => c.node)),
    blocker: input.blocker,
    maxRemovalsByPool: Object.fromEntries(pools.map((p) => [p.pool, Math.max(0, p.maxRemovals)])),
    headroom: Object.fromEntries(
      pools.map((p) => [p.pool, { cpu: p.cpuHighPercent / 100, memory: p.memoryHighPercent / 100 }]),
    ),
  });
  const poolOf = new Map<string, { pool: string; c: Candidate }>();
  for (const p of pools) for (const c of p.candidates) poolOf.set(c.node, { pool: p.pool, c });
  const out = new Map<string, RemovalSimulation>(
    pools.map((p) => [
      p.pool,
      { candidate_nodes: p.candidates.length, removable_nodes: [], blocked_nodes: [] },
    ]),
  );
  for (const r of plan.removable) {
    const hit = poolOf.get(r.node);
    const sim = hit && out.get(hit.pool);
    sim?.removable_nodes.push({
      node: r.node,
      cpu_percent: hit?.c.cpuPercent ?? 0,
      memory_percent: hit?.c.memoryPercent ?? 0,
      pods: r.moves.length,
    });
  }
  for (const b of plan.blocked) {
    const hit = poolOf.get(b.node);
    const sim = hit && out.get(hit.pool);
    if (!sim || sim.blocked_nodes.length >= 50) continue;
    sim.blocked_nodes.push({
      node: b.node,
      ...(b.pod ? { pod: b.pod } : {}),
      constraint: b.reason.predicate,
      message: b.reason.message,
    });
  }
  return out;
}

export type Headroom = NonNullable<EventData<'io.scalewise.ResourcePressureAlert'>['headroom']>;

/**
 * Headroom for a pool under pressure, sized by the simulation: one node's worth of pods shaped
 * like the pool's typical pod (the median by CPU of the pods on its nodes, DaemonSet pods
 * aside), placed on its nodes as they are, then on new nodes of its template. Undefined when
 * no pod runs on the pool's nodes (nothing to take the shape from).
 */
export function planHeadroom(input: {
  snapshot: Snapshot;
  pool: string;
  template: NodeTemplate;
  poolLabel: { key: string; value: string };
}): Headroom | undefined {
  const { snapshot, pool, template } = input;
  const nodes = new Set(snapshot.nodes.filter((n) => n.pool === pool && !n.inFlight).map((n) => n.name));
  if (nodes.size === 0) return undefined;
  const shapes = snapshot.pods
    .filter((p) => nodes.has(p.nodeName) && !p.daemon)
    .map((p) => ({ cpu: p.requests.cpu ?? 0, memory: p.requests.memory ?? 0 }))
    .sort((a, b) => a.cpu - b.cpu || a.memory - b.memory);
  const typical = shapes[Math.floor(shapes.length / 2)];
  if (!typical) return undefined;
  const wanted = Math.max(1, Math.ceil(shapes.length / nodes.size));
  const pending: SimPod[] = Array.from({ length: wanted }, (_, i) => ({
    key: `scalewise-headroom/${pool}-${i + 1}`,
    namespace: 'scalewise-headroom',
    labels: {},
    requests: { cpu: typical.cpu, memory: typical.memory },
    nodeSelector: { [input.poolLabel.key]: input.poolLabel.value },
    // The pool's own taints never keep its own typical pods off it.
    tolerations: [{ operator: 'Exists' }],
  }));
  const plan = planScaleUp({ snapshot, pending, templates: [template], expander: 'least_waste' });
  return {
    typical_pod: { cpu_millicores: Math.round(typical.cpu), memory_bytes: Math.round(typical.memory) },
    wanted,
    fit_now: plan.onExisting.length,
    new_nodes: plan.pools.find((p) => p.pool === pool)?.newNodes.length ?? 0,
  };
}

/**
 * planRemoval: for each candidate node in turn, whether its pods can be evicted (the
 * caller's blocker, PodDisruptionBudgets) and moved to the other running nodes under every
 * predicate, and whether its pool keeps its headroom without it. A removable node's moves
 * stay in the simulated cluster for the next candidate; a blocked one's are undone.
 */
import { Cluster, type NodeState, type PlacedPod } from './cluster.ts';
import { type Failure, failure, toReason } from './failure.ts';
import { filter, prepare } from './filter.ts';
import { largestFirst, reference } from './order.ts';
import { matchesLabelSelector } from './selectors.ts';
import { Tally } from './tally.ts';
import type { BoundPod, Reason, RemovalInput, RemovalPlan, SimPdb } from './types.ts';

type Blocked = RemovalPlan['blocked'][number];
type Moves = { pod: string; to: string }[];

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/** Predicates that refuse a pod whatever runs on the node: such a node is none the pod could move to. */
const STATIC: ReadonlySet<string> = new Set([
  'node_selector',
  'node_affinity',
  'taints',
  'node_unschedulable',
]);

/** Why the pod fits none of the `n` receivers, from their failures (`which`: of what the n nodes are). */
function nowhere(pod: string, tally: Tally, n: number, which = ''): Reason {
  if (n === 0)
    return { predicate: 'resources', message: `pod ${pod}: no other running, schedulable node to move to` };
  const top = tally.top(3);
  const first = top[0]!;
  const of = which ? ` ${which}` : '';
  if (top.length === 1) {
    return {
      predicate: first.reason.predicate,
      message: `pod ${pod}: ${first.reason.message} on ${n === 1 ? `the only other node${of}` : `all ${n} other nodes${of}`}`,
    };
  }
  const parts = top.map((g) => `${g.reason.message} on ${g.nodes}`);
  if (tally.size > top.length) parts.push('...');
  return {
    predicate: first.reason.predicate,
    message: `pod ${pod} fits none of the ${n} other nodes${of}: ${parts.join('; ')}`,
  };
}

class Mover {
  /** Where the last move landed: the next search starts there (a rotating first fit). */
  private cursor = 0;

  private readonly cluster: Cluster;

  constructor(cluster: Cluster) {
    this.cluster = cluster;
  }

  /** Places the pod on a running node other than removed ones, or says why it cannot. */
  move(pod: BoundPod): { to: NodeState } | { reason: Reason } {
    const cluster = this.cluster;
    const ctx = prepare(cluster, pod);
    const nodes = cluster.nodes;
    for (let k = 0; k < nodes.length; k++) {
      const i = (this.cursor + k) % nodes.length;
      const node = nodes[i]!;
      if (node.removed || node.inFlight || filter(cluster, ctx, node)) continue;
      this.cursor = i;
      return { to: node };
    }
    // No receiver: go over them again, this time keeping every failure for the reason. The
    // nodes the pod could never run on (its selector, affinity or their taints refuse it) say
    // nothing of why it cannot move; the reason is that of the nodes it could run on, when
    // there are any.
    const eligible = new Tally();
    const never = new Tally();
    for (const node of nodes) {
      if (node.removed || node.inFlight) continue;
      const f = filter(cluster, ctx, node);
      if (!f) continue;
      if (STATIC.has(f.predicate)) never.add(f);
      else eligible.add(f);
    }
    if (eligible.total > 0) return { reason: nowhere(pod.key, eligible, eligible.total, 'it could run on') };
    return { reason: nowhere(pod.key, never, never.total) };
  }
}

/**
 * Finds which candidates can go, in order, until `maxRemovals` are found (and no more of a
 * pool's than `maxRemovalsByPool` allows; the pool's later candidates are skipped): each candidate's
 * pods but its daemon pods are evicted (the blocker and the PDBs allow it) and placed on
 * the other running nodes (not in flight, not cordoned, not removed in this plan) under
 * every predicate, the candidate's own pods out of the topology counts first. Unknown
 * candidates are skipped. Pure; the snapshot is not modified.
 */
export function planRemoval(input: RemovalInput): RemovalPlan {
  const cluster = new Cluster(input.snapshot);
  const pdbs = input.snapshot.pdbs ?? [];
  const allowed = new Map(pdbs.map((p) => [p.key, p.disruptionsAllowed]));
  const max = input.maxRemovals ?? Number.POSITIVE_INFINITY;
  const ref = reference(input.snapshot.nodes.map((n) => n.allocatable));
  const mover = new Mover(cluster);
  const plan: RemovalPlan = { removable: [], blocked: [] };

  const byPool = new Map<string, number>();
  for (const name of input.candidates) {
    if (plan.removable.length >= max) break;
    const node = cluster.byName.get(name);
    if (!node || node.removed) continue;
    const cap = node.pool === undefined ? undefined : input.maxRemovalsByPool?.[node.pool];
    if (cap !== undefined && (byPool.get(node.pool as string) ?? 0) >= cap) continue;
    const placed = [...node.pods];
    const leaving = largestFirst(
      placed.filter((pp) => !pp.pod.daemon).map((pp) => pp.pod as BoundPod),
      ref,
    );
    const spent = new Map<string, number>();
    const early = evictionBlock(input, node.name, leaving, pdbs, allowed, spent);
    if (early) {
      plan.blocked.push(early);
      continue;
    }
    const result = drain(cluster, mover, node, placed, leaving);
    if ('blocked' in result) {
      plan.blocked.push(result.blocked);
      continue;
    }
    const headroom = headroomBlock(cluster, input, node);
    if (headroom) {
      undo(cluster, node, placed, result.moved);
      plan.blocked.push({ node: node.name, reason: headroom });
      continue;
    }
    for (const [k, n] of spent) allowed.set(k, (allowed.get(k) ?? 0) - n);
    plan.removable.push({ node: node.name, moves: result.moves });
    if (node.pool !== undefined) byPool.set(node.pool, (byPool.get(node.pool) ?? 0) + 1);
  }
  return plan;
}

function evictionBlock(
  input: RemovalInput,
  node: string,
  leaving: readonly BoundPod[],
  pdbs: readonly SimPdb[],
  allowed: ReadonlyMap<string, number>,
  spent: Map<string, number>,
): Blocked | undefined {
  for (const pod of leaving) {
    const why = input.blocker?.(pod);
    if (why !== undefined) {
      return {
        node,
        pod: pod.key,
        reason: { predicate: 'not_evictable', message: `pod ${pod.key} cannot be evicted: ${why}` },
      };
    }
  }
  for (const pod of leaving) {
    for (const pdb of pdbs) {
      if (pdb.namespace !== pod.namespace || !matchesLabelSelector(pdb.selector, pod.labels)) continue;
      const used = spent.get(pdb.key) ?? 0;
      const left = (allowed.get(pdb.key) ?? 0) - used;
      if (left <= 0) {
        const before = used > 0 ? ` (${used} already taken by this node's other pods)` : '';
        return {
          node,
          pod: pod.key,
          reason: {
            predicate: 'pdb',
            message: `pod ${pod.key}: PodDisruptionBudget ${pdb.key} allows no more disruptions${before}`,
          },
        };
      }
      spent.set(pdb.key, used + 1);
    }
  }
  return undefined;
}

/** Empties the node into the rest of the cluster, or undoes it all and says which pod stays. */
function drain(
  cluster: Cluster,
  mover: Mover,
  node: NodeState,
  placed: readonly PlacedPod[],
  leaving: readonly BoundPod[],
): { moves: Moves; moved: PlacedPod[] } | { blocked: Blocked } {
  for (const pp of placed) cluster.unplace(pp);
  cluster.removeNode(node);
  const moves: Moves = [];
  const moved: PlacedPod[] = [];
  for (const pod of leaving) {
    const r = mover.move(pod);
    if ('reason' in r) {
      undo(cluster, node, placed, moved);
      return { blocked: { node: node.name, pod: pod.key, reason: r.reason } };
    }
    const there: BoundPod = { ...pod, nodeName: r.to.name };
    moved.push(cluster.place(there, r.to));
    moves.push({ pod: pod.key, to: r.to.name });
  }
  return { moves, moved };
}

function undo(
  cluster: Cluster,
  node: NodeState,
  placed: readonly PlacedPod[],
  moved: readonly PlacedPod[],
): void {
  for (const pp of moved) cluster.unplace(pp);
  cluster.restoreNode(node);
  for (const pp of placed) cluster.place(pp.pod, node);
}

function headroomBlock(cluster: Cluster, input: RemovalInput, node: NodeState): Reason | undefined {
  const limit = node.pool === undefined ? undefined : input.headroom?.[node.pool];
  if (!limit || node.pool === undefined) return undefined;
  const u = cluster.poolUsage(node.pool);
  const share = (used: number, alloc: number) => (alloc > 0 ? used / alloc : used > 0 ? 1 : 0);
  const over = (what: string, s: number, max: number): Failure | undefined =>
    s > max
      ? failure(
          'headroom',
          `without ${node.name} the pool's ${what} requests would be ${pct(s)} of its allocatable, above ${pct(max)}`,
        )
      : undefined;
  const f =
    over('CPU', share(u.cpuUsed, u.cpuAlloc), limit.cpu) ??
    over('memory', share(u.memoryUsed, u.memoryAlloc), limit.memory);
  return f && toReason(f);
}

/**
 * The watch caches' projections as the scheduling simulation's values (packages/scheduling):
 * nodes, pods, PodDisruptionBudgets and a cluster snapshot. Pure.
 *
 * A conversion is cached per projection object: projections are immutable (a change of the
 * API object is a new projection), so a sampling round over 150,000 pods converts only those
 * that changed since the last round and allocates nothing for the others.
 */
import type {
  BoundPod,
  LabelSelector,
  ResourceList,
  SimNode,
  SimPdb,
  SimPod,
  Snapshot,
} from '@scalewise/scheduling';
import { POOL_LABEL } from './nodes.ts';
import { intern, type NodeInfo, type PdbInfo, type PodInfo, podKey } from './projection.ts';
import { workloadOf } from './utilisation.ts';
import { evictionBlocker, isDaemonSetPod, isMirrorPod } from './victims.ts';

const nodes = new WeakMap<NodeInfo, SimNode>();
const pods = new WeakMap<PodInfo, SimPod>();
/** The projection each converted pod came from, for {@link blockerOf}. */
const origins = new WeakMap<SimPod, PodInfo>();

/**
 * Taints the node lifecycle controller puts on a node while it is not Ready (and a cloud
 * provider while it is not initialised), and takes off once it is: a node in flight carries
 * them until a moment after it turned Ready. The simulation counts readiness through
 * `inFlight` (and the caller's not-Ready timeout), so it leaves these out: with them, no pod
 * would fit a node in flight, nor one just turned Ready, and each would be bought again.
 */
export const LIFECYCLE_TAINTS: ReadonlySet<string> = new Set([
  'node.kubernetes.io/not-ready',
  'node.kubernetes.io/unreachable',
  'node.cloudprovider.kubernetes.io/uninitialized',
]);

/**
 * A node as the simulation sees it: its labels, taints and allocatable (cpu in millicores,
 * memory and ephemeral-storage in bytes, pods, extended resources), cordoned or not, its pool
 * (POOL_LABEL) and whether it is in flight (its Ready condition not True, and not being
 * deleted). The same object for the same projection.
 */
export function simNode(n: NodeInfo): SimNode {
  const hit = nodes.get(n);
  if (hit) return hit;
  const a = n.allocatable;
  const allocatable: Record<string, number> = {
    cpu: a.cpuMillicores,
    memory: a.memoryBytes,
    pods: a.pods,
    ...(a.ephemeralStorageBytes !== undefined ? { 'ephemeral-storage': a.ephemeralStorageBytes } : {}),
    ...a.extended,
  };
  const pool = n.labels[POOL_LABEL];
  const inFlight = n.conditions.Ready?.status !== 'True' && n.deletedAt === undefined;
  const out: SimNode = {
    name: n.name,
    labels: n.labels,
    taints: n.taints.some((t) => LIFECYCLE_TAINTS.has(t.key))
      ? n.taints.filter((t) => !LIFECYCLE_TAINTS.has(t.key))
      : n.taints,
    allocatable,
    ...(n.unschedulable ? { unschedulable: true } : {}),
    ...(pool !== undefined ? { pool } : {}),
    ...(inFlight ? { inFlight: true } : {}),
  };
  nodes.set(n, out);
  return out;
}

/**
 * The requests of pods that ask only cpu and memory, one frozen object per pair: the replicas
 * of a workload share one. Bounded: emptied past 10,000 pairs.
 */
const plainRequests = new Map<string, ResourceList>();
function requestsOf(p: PodInfo): ResourceList {
  const { cpuMillicores: cpu, memoryBytes: memory } = p.requests;
  if (p.extraRequests) return { cpu, memory, ...p.extraRequests };
  const k = `${cpu}/${memory}`;
  let hit = plainRequests.get(k);
  if (!hit) {
    if (plainRequests.size >= 10_000) plainRequests.clear();
    hit = Object.freeze({ cpu, memory });
    plainRequests.set(k, hit);
  }
  return hit;
}

function convert(p: PodInfo): SimPod {
  const requests = requestsOf(p);
  const workload = workloadOf(p);
  const owner = workload === undefined ? undefined : intern(workload);
  const daemon = isDaemonSetPod(p) || isMirrorPod(p);
  const out: SimPod & { nodeName?: string } = {
    key: p.key,
    namespace: p.namespace,
    labels: p.labels,
    requests,
    ...(p.nodeSelector ? { nodeSelector: p.nodeSelector } : {}),
    ...(p.nodeAffinity ? { nodeAffinity: p.nodeAffinity } : {}),
    ...(p.tolerations ? { tolerations: p.tolerations } : {}),
    ...(p.podAffinity ? { podAffinity: p.podAffinity } : {}),
    ...(p.podAntiAffinity ? { podAntiAffinity: p.podAntiAffinity } : {}),
    ...(p.topologySpread ? { topologySpread: p.topologySpread } : {}),
    ...(p.hostPorts ? { hostPorts: p.hostPorts } : {}),
    ...(owner ? { owner } : {}),
    ...(daemon ? { daemon: true } : {}),
    ...(p.nodeName ? { nodeName: p.nodeName } : {}),
  };
  origins.set(out, p);
  return out;
}

/**
 * A pod as the simulation sees it: key `namespace/name`, requests (cpu in millicores, memory
 * in bytes, plus its extra requests), its scheduling constraints, its owner (`Kind/name` of
 * its controller, a ReplicaSet counted as its Deployment) and `daemon` for a DaemonSet's or a
 * mirror pod. A bound pod's value also carries its `nodeName` (it is then its
 * {@link boundPod}). The same object for the same projection.
 */
export function simPod(p: PodInfo): SimPod {
  let out = pods.get(p);
  if (!out) {
    out = convert(p);
    pods.set(p, out);
  }
  return out;
}

/**
 * A pod bound to a node as the simulation sees it ({@link simPod} with its `nodeName`).
 * @throws RangeError when the pod is not bound.
 */
export function boundPod(p: PodInfo): BoundPod {
  if (!p.nodeName) throw new RangeError(`pod ${p.key} is not bound to a node`);
  return simPod(p) as BoundPod;
}

/** A selector no pod matches: a PodDisruptionBudget without one selects nothing. */
const SELECTS_NOTHING: LabelSelector = Object.freeze({
  matchExpressions: Object.freeze([Object.freeze({ key: POOL_LABEL, operator: 'In', values: [] })]),
});

/** A PodDisruptionBudget as the simulation counts it; one without a selector matches no pod. */
export function simPdb(p: PdbInfo): SimPdb {
  return {
    key: podKey(p),
    namespace: p.namespace,
    selector: p.selector ?? SELECTS_NOTHING,
    disruptionsAllowed: p.disruptionsAllowed,
  };
}

const finished = (p: PodInfo): boolean => p.phase === 'Succeeded' || p.phase === 'Failed';

export interface SnapshotOptions {
  /** Epoch ms of the snapshot, for {@link SnapshotOptions.notReadyTimeoutMs}. */
  now?: number;
  /**
   * A node not Ready for longer than this (since its Ready condition's last transition, or its
   * creation) is broken, not starting: no pod counts on it (cordoned, not in flight). Absent:
   * every node not Ready is in flight.
   */
  notReadyTimeoutMs?: number;
}

function broken(n: NodeInfo, now: number | undefined, timeoutMs: number | undefined): boolean {
  if (now === undefined || timeoutMs === undefined) return false;
  return now - (n.conditions.Ready?.since || n.createdAt || now) > timeoutMs;
}

/** A node in flight for too long, as the simulation counts it: no capacity at all. */
const brokenNode = (node: SimNode): SimNode => ({ ...node, inFlight: false, unschedulable: true });

/**
 * The cluster the simulation starts from, of the watch caches' contents: the nodes not being
 * deleted, and the pods bound to them that hold their node (not finished, not terminating).
 * Pods not bound, or bound to a node left out, are not in it; nor are PodDisruptionBudgets
 * without a selector (they guard no pod).
 */
export function snapshotOf(
  nodeInfos: Iterable<NodeInfo>,
  podInfos: Iterable<PodInfo>,
  pdbs?: Iterable<PdbInfo>,
  options: SnapshotOptions = {},
): Snapshot {
  const simNodes: SimNode[] = [];
  const names = new Set<string>();
  const { now, notReadyTimeoutMs } = options;
  for (const n of nodeInfos) {
    if (n.deletedAt !== undefined) continue;
    const node = simNode(n);
    simNodes.push(node.inFlight && broken(n, now, notReadyTimeoutMs) ? brokenNode(node) : node);
    names.add(n.name);
  }
  const bound: BoundPod[] = [];
  for (const p of podInfos) {
    if (!p.nodeName || !names.has(p.nodeName) || p.deletedAt !== undefined || finished(p)) continue;
    bound.push(boundPod(p));
  }
  const snapshot: Snapshot = { nodes: simNodes, pods: bound };
  if (pdbs) {
    const budgets: SimPdb[] = [];
    for (const b of pdbs) if (b.selector) budgets.push(simPdb(b));
    return { ...snapshot, pdbs: budgets };
  }
  return snapshot;
}

/**
 * Why a pod of the simulation may not be evicted at all ({@link evictionBlocker}'s reason in
 * words), or undefined when it may; undefined too for a pod not made by {@link simPod}.
 * A `blocker` for the scheduling package's planRemoval.
 */
export function blockerOf(pod: BoundPod): string | undefined {
  const p = origins.get(pod);
  return p ? evictionBlocker(p)?.why : undefined;
}

/**
 * A `blocker` for planRemoval that finds each pod's projection by its key in `podsByKey`
 * (a Map of `namespace/name`, or the pod watch cache itself), for pods converted elsewhere.
 * A pod it cannot find is not blocked.
 */
export function simBlocker(podsByKey: {
  get(key: string): PodInfo | undefined;
}): (pod: BoundPod) => string | undefined {
  return (pod) => {
    const p = origins.get(pod) ?? podsByKey.get(pod.key);
    return p ? evictionBlocker(p)?.why : undefined;
  };
}

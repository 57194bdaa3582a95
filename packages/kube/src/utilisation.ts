/**
 * Requested utilisation of nodes and pending pods, from the watch cache's projections (or API
 * objects, projected on the way in), as the Cluster Autoscaler counts them where no metrics
 * server is used: the requests of the pods bound to a node over its allocatable. Pure: the
 * current time is an argument.
 */
import { asNodeInfo, asPodInfo, type NodeInfo, type PodInfo } from './projection.ts';
import type { Resources } from './resources.ts';
import type { V1Node, V1Pod } from './types.ts';

export interface NodeUtilisation {
  node: string;
  /** Sum of the requests of the pods that hold the node's resources. */
  requested: Resources;
  allocatable: Resources & { pods: number };
  /** Pods that hold the node's resources. */
  pods: number;
  /** requested / allocatable CPU (0 when the node offers none). */
  cpu: number;
  /** requested / allocatable memory (0 when the node offers none). */
  memory: number;
  /** The larger of cpu and memory: what a scale-down compares. */
  utilisation: number;
}

/** Whether a pod holds its node's resources: bound, and neither Succeeded nor Failed. */
export const holdsNode = (p: PodInfo): boolean =>
  p.nodeName !== undefined && p.phase !== 'Succeeded' && p.phase !== 'Failed';

/** The pods holding each node's resources, by node name, in one pass. */
export function podsByNode(pods: Iterable<PodInfo | V1Pod>): Map<string, PodInfo[]> {
  const out = new Map<string, PodInfo[]>();
  for (const raw of pods) {
    const p = asPodInfo(raw);
    if (!holdsNode(p)) continue;
    const list = out.get(p.nodeName as string);
    if (list) list.push(p);
    else out.set(p.nodeName as string, [p]);
  }
  return out;
}

const ratio = (used: number, total: number): number => (total > 0 ? used / total : 0);

/** One node's requested utilisation, given the pods holding it. */
export function nodeUtilisation(node: NodeInfo | V1Node, podsOnNode: readonly PodInfo[]): NodeUtilisation {
  const n = asNodeInfo(node);
  const requested = { cpuMillicores: 0, memoryBytes: 0 };
  for (const p of podsOnNode) {
    requested.cpuMillicores += p.requests.cpuMillicores;
    requested.memoryBytes += p.requests.memoryBytes;
  }
  const cpu = ratio(requested.cpuMillicores, n.allocatable.cpuMillicores);
  const memory = ratio(requested.memoryBytes, n.allocatable.memoryBytes);
  return {
    node: n.name,
    requested,
    allocatable: n.allocatable,
    pods: podsOnNode.length,
    cpu,
    memory,
    utilisation: Math.max(cpu, memory),
  };
}

/** The requested utilisation of each node, in the order given. O(nodes + pods). */
export function utilisationOf(
  nodes: Iterable<NodeInfo | V1Node>,
  pods: Iterable<PodInfo | V1Pod>,
): NodeUtilisation[] {
  const byNode = podsByNode(pods);
  const out: NodeUtilisation[] = [];
  for (const raw of nodes) {
    const n = asNodeInfo(raw);
    out.push(nodeUtilisation(n, byNode.get(n.name) ?? []));
  }
  return out;
}

/**
 * A set of nodes taken together: requested over allocatable summed over the nodes (not the
 * mean of the ratios, so a big node weighs more). Zero for no nodes.
 */
export function totalUtilisation(nodes: readonly NodeUtilisation[]): {
  cpu: number;
  memory: number;
  requested: Resources;
  allocatable: Resources;
} {
  const requested = { cpuMillicores: 0, memoryBytes: 0 };
  const allocatable = { cpuMillicores: 0, memoryBytes: 0 };
  for (const u of nodes) {
    requested.cpuMillicores += u.requested.cpuMillicores;
    requested.memoryBytes += u.requested.memoryBytes;
    allocatable.cpuMillicores += u.allocatable.cpuMillicores;
    allocatable.memoryBytes += u.allocatable.memoryBytes;
  }
  return {
    cpu: ratio(requested.cpuMillicores, allocatable.cpuMillicores),
    memory: ratio(requested.memoryBytes, allocatable.memoryBytes),
    requested,
    allocatable,
  };
}

/**
 * The workload behind a pod as `Kind/name`: its controller (the first owner when none is
 * marked controller), a ReplicaSet named `<deployment>-<pod-template-hash>` counted as its
 * Deployment. Undefined for a pod without owner.
 */
export function workloadOf(pod: PodInfo | V1Pod): string | undefined {
  const p = asPodInfo(pod);
  const ref = p.owners.find((r) => r.controller) ?? p.owners[0];
  if (!ref) return undefined;
  if (ref.kind === 'ReplicaSet') {
    const hash = p.labels['pod-template-hash'];
    if (hash && ref.name.endsWith(`-${hash}`)) return `Deployment/${ref.name.slice(0, -hash.length - 1)}`;
  }
  return `${ref.kind}/${ref.name}`;
}

export interface PendingPod {
  namespace: string;
  name: string;
  /** `Kind/name` of its workload ({@link workloadOf}). */
  workload?: string;
  requests: Resources;
  /** Epoch ms since which the scheduler has found no node for it. */
  since: number;
  /** now - since, never negative. */
  waitingMs: number;
}

/**
 * Pods the scheduler could not place (Pending, unbound, PodScheduled=False with reason
 * Unschedulable), longest waiting first. Terminating pods are left out: nothing will make
 * room for them.
 */
export function pendingUnschedulable(pods: Iterable<PodInfo | V1Pod>, now: number): PendingPod[] {
  const out: PendingPod[] = [];
  for (const raw of pods) {
    const p = asPodInfo(raw);
    if (p.unschedulableSince === undefined || p.deletedAt !== undefined) continue;
    const workload = workloadOf(p);
    out.push({
      namespace: p.namespace,
      name: p.name,
      ...(workload ? { workload } : {}),
      requests: p.requests,
      since: p.unschedulableSince,
      waitingMs: Math.max(0, now - p.unschedulableSince),
    });
  }
  return out.sort(
    (a, b) =>
      b.waitingMs - a.waitingMs || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  );
}

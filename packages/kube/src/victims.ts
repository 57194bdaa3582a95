/**
 * Which nodes a scale-down removes, pure: the least requested utilisation first, the newest
 * first among equals (as the Cluster Autoscaler prefers), never a node annotated
 * `scalewise.io/scale-down-disabled: "true"` (or the Cluster Autoscaler's own
 * `cluster-autoscaler.kubernetes.io/scale-down-disabled`), never one running a pod that may
 * not be moved (annotated `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`, with
 * local storage, or without a controller that would recreate it). Each refusal says why.
 */
import { SCALE_DOWN_DISABLED } from './nodes.ts';
import {
  asNodeInfo,
  MIRROR_ANNOTATION,
  type NodeInfo,
  type PodInfo,
  podKey,
  SAFE_TO_EVICT,
} from './projection.ts';
import type { V1Node, V1Pod } from './types.ts';
import { nodeUtilisation, podsByNode } from './utilisation.ts';

/** The Cluster Autoscaler's annotation with the same meaning as {@link SCALE_DOWN_DISABLED}. */
export const CA_SCALE_DOWN_DISABLED = 'cluster-autoscaler.kubernetes.io/scale-down-disabled';

export type RefusalReason =
  | 'SCALE_DOWN_DISABLED'
  | 'BEING_DELETED'
  | 'NOT_SAFE_TO_EVICT'
  | 'LOCAL_STORAGE'
  | 'UNMANAGED_POD';

export interface Refusal {
  node: string;
  reason: RefusalReason;
  /** `namespace/name` of the pod that keeps the node, for the pod reasons. */
  pod?: string;
  /** The reason in words, for events and logs. */
  why: string;
}

export interface VictimChoice {
  /** Node names, the first to remove first. */
  victims: string[];
  refused: Refusal[];
  /** Every node that could go, in the order of preference, with the numbers compared. */
  ranked: { node: string; utilisation: number; createdAt: number }[];
}

/** A pod that a drain would skip (it stays, or comes back, wherever the node goes). */
export const isMirrorPod = (p: PodInfo): boolean => p.annotations[MIRROR_ANNOTATION] !== undefined;
export const isDaemonSetPod = (p: PodInfo): boolean => p.owners.some((r) => r.kind === 'DaemonSet');

/**
 * Why a pod keeps its node from being removed, or undefined when it may be evicted.
 * DaemonSet and mirror pods never block; `safe-to-evict: "true"` overrides local storage and
 * a missing owner; terminating pods are already leaving.
 */
export function evictionBlocker(p: PodInfo): Omit<Refusal, 'node'> | undefined {
  if (isMirrorPod(p) || isDaemonSetPod(p) || p.deletedAt !== undefined) return undefined;
  const pod = podKey(p);
  const safe = p.annotations[SAFE_TO_EVICT];
  if (safe === 'false')
    return { reason: 'NOT_SAFE_TO_EVICT', pod, why: `pod ${pod} is annotated safe-to-evict: "false"` };
  if (safe === 'true') return undefined;
  if (p.localStorage.length > 0)
    return {
      reason: 'LOCAL_STORAGE',
      pod,
      why: `pod ${pod} has local storage (${p.localStorage.join(', ')})`,
    };
  if (p.owners.length === 0)
    return { reason: 'UNMANAGED_POD', pod, why: `pod ${pod} has no controller to recreate it` };
  return undefined;
}

/**
 * Chooses up to `count` nodes to remove among `nodes` (the pool's nodes), given every pod
 * (pods on other nodes are ignored). Accepts the watch cache's projections or API objects.
 */
export function chooseVictims(
  nodes: Iterable<NodeInfo | V1Node>,
  pods: Iterable<PodInfo | V1Pod>,
  count: number,
): VictimChoice {
  const byNode = podsByNode(pods);
  const refused: Refusal[] = [];
  const ranked: VictimChoice['ranked'] = [];
  for (const raw of nodes) {
    const n = asNodeInfo(raw);
    const disabled = [SCALE_DOWN_DISABLED, CA_SCALE_DOWN_DISABLED].find((k) => n.annotations[k] === 'true');
    if (disabled) {
      refused.push({ node: n.name, reason: 'SCALE_DOWN_DISABLED', why: `annotated ${disabled}` });
      continue;
    }
    if (n.deletedAt !== undefined) {
      refused.push({ node: n.name, reason: 'BEING_DELETED', why: 'already being deleted' });
      continue;
    }
    const on = byNode.get(n.name) ?? [];
    const blocker = on.map(evictionBlocker).find((b) => b !== undefined);
    if (blocker) {
      refused.push({ node: n.name, ...blocker });
      continue;
    }
    ranked.push({ node: n.name, utilisation: nodeUtilisation(n, on).utilisation, createdAt: n.createdAt });
  }
  ranked.sort(
    (a, b) => a.utilisation - b.utilisation || b.createdAt - a.createdAt || a.node.localeCompare(b.node),
  );
  return { victims: ranked.slice(0, Math.max(0, count)).map((c) => c.node), refused, ranked };
}

/**
 * Pure readings of what the cluster view's caches hold: pods grouped by pool, the sample a
 * waiting pod is reported as, the pools' templates, the nodes each recent action made. The
 * view (cluster-view.ts) feeds them its caches; they touch no I/O.
 */
import { type PoolConfig, poolTemplate } from '@scalewise/config';
import {
  ACTION_ANNOTATION,
  MANAGED_BY,
  type NodeInfo,
  POOL_LABEL,
  type PodInfo,
  type pendingUnschedulable,
  WORKER_KIND_LABEL,
} from '@scalewise/kube';
import type { Snapshot } from '@scalewise/scheduling';
import type { PendingPod, SensePolicy } from '../core/index.ts';

/** Appends `item` to the list of `key`. */
export function group<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}

export const pendingSample = (p: ReturnType<typeof pendingUnschedulable>[number]): PendingPod => ({
  namespace: p.namespace,
  name: p.name,
  cpuMillicores: p.requests.cpuMillicores,
  memoryBytes: p.requests.memoryBytes,
  pendingSince: p.since,
  ...(p.workload ? { owner: p.workload } : {}),
  reason: 'Unschedulable',
});

/** A pods pool's worker: node-manager's pods provider labels them; not finished or going. */
export const isWorkerPod = (p: PodInfo): boolean =>
  p.labels[WORKER_KIND_LABEL] === 'pod' &&
  p.labels[MANAGED_BY] === 'scalewise' &&
  p.deletedAt === undefined &&
  p.phase !== 'Succeeded' &&
  p.phase !== 'Failed';

/** A node pool's policy and its template, as its nodes are made (what it may add aside). */
export interface PoolTemplate {
  policy: SensePolicy;
  template: ReturnType<typeof poolTemplate>;
}

/**
 * Each node pool's template, as its nodes are made (the config does not change at run time).
 * Among pools the expander finds equal the order decides: `defaultPool` first.
 */
export function poolTemplatesOf(
  policies: readonly SensePolicy[],
  poolConfigs: ReadonlyMap<string, PoolConfig>,
  defaultPool: string | undefined,
): PoolTemplate[] {
  return policies
    .filter((p) => p.workerKind !== 'pod' && poolConfigs.has(p.pool))
    .map((p) => ({ policy: p, template: poolTemplate(poolConfigs.get(p.pool) as PoolConfig) }))
    .sort((a, b) => Number(b.policy.pool === defaultPool) - Number(a.policy.pool === defaultPool));
}

/** How many nodes of the snapshot each pool has. */
export function nodeCountsOf(snap: Snapshot): Map<string, number> {
  const nodeCounts = new Map<string, number>();
  for (const n of snap.nodes)
    if (n.pool !== undefined) nodeCounts.set(n.pool, (nodeCounts.get(n.pool) ?? 0) + 1);
  return nodeCounts;
}

/**
 * Of each pool's nodes, how many each recent action made (node-manager's action id on the
 * node, within the pool's action timeout): the decision-engine subtracts what its actions in
 * flight have already delivered, so the sizing does not hang on which topic it read first.
 */
export function nodesByAction(
  nodes: Iterable<NodeInfo>,
  poolConfigs: ReadonlyMap<string, PoolConfig>,
  at: number,
): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const n of nodes) {
    const pool = n.labels[POOL_LABEL];
    const action = n.annotations[ACTION_ANNOTATION];
    const cfg = pool === undefined ? undefined : poolConfigs.get(pool);
    if (!cfg || action === undefined || n.deletedAt !== undefined) continue;
    if (at - n.createdAt > cfg.action_timeout_seconds * 1000) continue;
    const counts = out.get(cfg.name) ?? {};
    counts[action] = (counts[action] ?? 0) + 1;
    out.set(cfg.name, counts);
  }
  return out;
}

/**
 * The nodes a scale-down removes, judged on the cluster as the API serves it now (not the
 * state the decision saw): the decision's nodes in its order (or, for a decision that names
 * none, the least used nodes of the pool), each kept only if the scheduling simulation still
 * places every one of its pods on the nodes that stay, within the PDBs and the pool's pressure
 * thresholds. A refused node is named with the pod and constraint that keeps it. Pure.
 */
import type { PoolConfig } from '@scalewise/config';
import {
  blockerOf,
  chooseVictims,
  type NodeInfo,
  type PdbInfo,
  POOL_LABEL,
  type PodInfo,
  snapshotOf,
} from '@scalewise/kube';
import { planRemoval } from '@scalewise/scheduling';

export interface VictimCheck {
  /** The nodes to remove, in order. */
  nodes: string[];
  /** Why none may go, when some were refused. */
  reason?: string;
  /** Each refused node and why. */
  refusals: string[];
}

export function recheckVictims(input: {
  pool: PoolConfig;
  nodes: readonly NodeInfo[];
  pods: readonly PodInfo[];
  pdbs: readonly PdbInfo[];
  /** The decision's nodes, if it named any. */
  named: readonly string[] | undefined;
  count: number;
}): VictimCheck {
  const { pool, nodes, pods } = input;
  const poolNodes = nodes.filter((n) => n.labels[POOL_LABEL] === pool.name);
  const ranked = chooseVictims(poolNodes, pods, poolNodes.length);
  const disabled = new Map(
    ranked.refused.filter((r) => r.reason === 'SCALE_DOWN_DISABLED').map((r) => [r.node, r.why]),
  );
  const known = new Set(poolNodes.map((n) => n.name));
  const refusals: string[] = [];
  const candidates: string[] = [];
  for (const n of input.named ?? ranked.ranked.map((r) => r.node)) {
    if (!known.has(n)) refusals.push(`${n}: no longer a node of the pool`);
    else if (disabled.has(n)) refusals.push(`${n}: ${disabled.get(n)}`);
    else candidates.push(n);
  }
  const plan = planRemoval({
    snapshot: snapshotOf(nodes, pods, input.pdbs),
    candidates,
    blocker: blockerOf,
    maxRemovals: input.count,
    headroom: {
      [pool.name]: {
        cpu: pool.thresholds.cpu_high_percent / 100,
        memory: pool.thresholds.memory_high_percent / 100,
      },
    },
  });
  for (const b of plan.blocked) refusals.push(`${b.node}: ${b.reason.message}`);
  return {
    nodes: plan.removable.map((r) => r.node),
    refusals,
    ...(refusals.length
      ? { reason: `re-checked on the cluster as it is now, no node may be removed: ${refusals.join('; ')}` }
      : {}),
  };
}

/**
 * The cluster as the API serves it now, for a scale-down's last look at its victims
 * (core/victims.ts judges; this lists the nodes, pods and PodDisruptionBudgets).
 */
import type { PoolConfig } from '@scalewise/config';
import { type Kube, projectNode, projectPdb, projectPod } from '@scalewise/kube';
import { recheckVictims } from '../core/victims.ts';
import type { Victims } from '../handlers/decisions.ts';

export function createVictimCheck(deps: {
  kube: Kube;
  log: { info(obj: object, msg: string): void };
}): (pool: PoolConfig, named: readonly string[] | undefined, count: number) => Promise<Victims> {
  return async (pool, named, count) => {
    const [nodeList, podList, pdbList] = await Promise.all([
      deps.kube.core.listNode({}),
      deps.kube.core.listPodForAllNamespaces({}),
      deps.kube.policy.listPodDisruptionBudgetForAllNamespaces({}),
    ]);
    const { refusals, ...victims } = recheckVictims({
      pool,
      nodes: nodeList.items.map(projectNode),
      pods: podList.items.map(projectPod),
      pdbs: pdbList.items.map(projectPdb),
      named,
      count,
    });
    if (refusals.length > 0)
      deps.log.info(
        { pool: pool.name, decided: named, removed: victims.nodes, refused: refusals },
        'scale-down re-checked on the cluster as it is now: some nodes stay',
      );
    return victims;
  };
}

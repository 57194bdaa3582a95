/**
 * A pool's sample as the sensing core reads it, shaped from a round's views of the caches:
 * its nodes (conditions, allocatable, requested, and usage when metrics.k8s.io serves it) or,
 * for a `pods` pool, its worker Pods; the pods waiting for it; its query's reading.
 */
import { type NodeInfo, nodeUtilisation, type PodInfo } from '@scalewise/kube';
import type { NodeSample, NodeUsage, PoolSample, QueryReading, SensePolicy } from '../core/index.ts';
import type { RoundViews } from './cluster-view.ts';

/** What a round reads outside the caches: node usage (one list for every pool) and each pool's query. */
export interface External {
  usage: Map<string, NodeUsage> | undefined;
  readings: Map<string, QueryReading>;
}

/** A worker Pod of a `pods` pool: counted, Running ones ready; the core measures no CPU or memory. */
const podWorker = (p: PodInfo): NodeSample => ({
  name: p.name,
  ready: p.phase === 'Running',
  pressure: [],
  cpuAllocatableMillicores: 0,
  memoryAllocatableBytes: 0,
  cpuRequestedMillicores: 0,
  memoryRequestedBytes: 0,
});

function nodeSample(n: NodeInfo, views: RoundViews, external: External): NodeSample {
  const u = nodeUtilisation(n, views.byNode.get(n.name) ?? []);
  const ready = n.conditions.Ready;
  const used = external.usage?.get(n.name);
  return {
    name: n.name,
    ready: ready?.status === 'True',
    ...(ready
      ? {
          readyCondition: {
            type: 'Ready',
            status: ready.status,
            ...(ready.reason ? { reason: ready.reason } : {}),
          },
        }
      : {}),
    pressure: (['MemoryPressure', 'DiskPressure', 'PIDPressure'] as const)
      .filter((c) => n.conditions[c]?.status === 'True')
      .map((c) => ({
        type: c,
        status: 'True',
        ...(n.conditions[c]?.reason ? { reason: n.conditions[c]?.reason } : {}),
      })),
    cpuAllocatableMillicores: n.allocatable.cpuMillicores,
    memoryAllocatableBytes: n.allocatable.memoryBytes,
    cpuRequestedMillicores: u.requested.cpuMillicores,
    memoryRequestedBytes: u.requested.memoryBytes,
    ...(used ? { cpuUsageMillicores: used.cpuMillicores, memoryUsageBytes: used.memoryBytes } : {}),
    createdAt: n.createdAt,
  };
}

/** The sample of `policy`'s pool at `at`. */
export function poolSample(
  policy: SensePolicy,
  at: number,
  views: RoundViews,
  external: External,
): PoolSample {
  const metric = external.readings.get(policy.pool);
  if (policy.workerKind === 'pod') {
    return {
      pool: policy.pool,
      at,
      nodes: (views.workerPodsByPool.get(policy.pool) ?? []).map(podWorker),
      pending: views.plan.podsPools.get(policy.pool) ?? [],
      ...(metric ? { metric } : {}),
    };
  }
  const simulated = views.plan.byPool.get(policy.pool);
  return {
    pool: policy.pool,
    at,
    nodes: (views.nodesByPool.get(policy.pool) ?? []).map((n) => nodeSample(n, views, external)),
    pending: simulated?.pending ?? [],
    ...(simulated ? { simulation: simulated.simulation } : {}),
    ...(metric ? { metric } : {}),
  };
}

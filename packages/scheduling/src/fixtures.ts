/** Builders for the package's tests: nodes, pods and templates with small defaults. */
import {
  type BoundPod,
  HOSTNAME_LABEL,
  type NodeTemplate,
  POOL_LABEL,
  type SimNode,
  type SimPod,
  ZONE_LABEL,
} from './types.ts';

export const GiB = 1024 ** 3;

export function node(name: string, over: Partial<SimNode> = {}): SimNode {
  const pool = over.pool ?? 'a';
  return {
    name,
    taints: [],
    allocatable: { cpu: 4000, memory: 16 * GiB, pods: 110 },
    pool,
    ...over,
    labels: { [HOSTNAME_LABEL]: name, [POOL_LABEL]: pool, ...over.labels },
  };
}

export function pod(name: string, over: Partial<SimPod> = {}): SimPod {
  const namespace = over.namespace ?? 'default';
  return {
    key: `${namespace}/${name}`,
    namespace,
    labels: {},
    requests: { cpu: 100, memory: GiB / 4 },
    ...over,
  };
}

export function bound(name: string, nodeName: string, over: Partial<SimPod> = {}): BoundPod {
  return { ...pod(name, over), nodeName };
}

export function template(pool: string, over: Partial<NodeTemplate> = {}): NodeTemplate {
  return {
    pool,
    labels: { [POOL_LABEL]: pool, ...over.labels },
    taints: [],
    allocatable: { cpu: 4000, memory: 16 * GiB, pods: 110 },
    zones: [],
    maxNew: 10,
    ...over,
  };
}

export const zoned = (zone: string) => ({ [ZONE_LABEL]: zone });

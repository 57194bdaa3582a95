/**
 * NodeResourcesFit: every resource the pod requests (cpu, memory, ephemeral-storage,
 * extended resources and one of the node's `pods`) must fit in what the node has left.
 */
import { type Failure, failure } from '../failure.ts';
import { formatQuantity } from '../quantity.ts';
import type { ResourceList } from '../types.ts';

/** A node or template that does not list `pods` allocatable holds the kubelet's default. */
export const DEFAULT_MAX_PODS = 110;

export function shortfall(resource: string, requested: number, used: number, allocatable: number): Failure {
  if (resource === 'pods') {
    return failure('resources', `too many pods: ${used} of ${allocatable} in use`, 'too many pods');
  }
  const q = (n: number) => formatQuantity(resource, n);
  const free = Math.max(0, allocatable - used);
  return failure(
    'resources',
    `insufficient ${resource}: requests ${q(requested)}, ${q(free)} free of ${q(allocatable)}`,
    `insufficient ${resource}: requests ${q(requested)}`,
  );
}

/**
 * Against a node's vectors: `req` holds pairs (resource index, quantity), `names` the
 * index's resource names, `alloc` and `used` quantities by index (absent: 0).
 */
export function checkResources(
  names: readonly string[],
  req: readonly number[],
  alloc: readonly number[],
  used: readonly number[],
): Failure | undefined {
  for (let i = 0; i < req.length; i += 2) {
    const r = req[i]!;
    const q = req[i + 1]!;
    const a = alloc[r] ?? 0;
    const u = used[r] ?? 0;
    if (u + q > a) return shortfall(names[r] ?? `#${r}`, q, u, a);
  }
  return undefined;
}

/** Against an empty node with `allocatable` (a template's new node). */
export function checkResourcesOnEmpty(
  requests: ResourceList,
  allocatable: ResourceList,
): Failure | undefined {
  const pods = requests.pods ?? 1;
  const maxPods = allocatable.pods ?? DEFAULT_MAX_PODS;
  if (pods > maxPods) return shortfall('pods', pods, 0, maxPods);
  for (const name in requests) {
    if (name === 'pods') continue;
    const q = requests[name] ?? 0;
    if (q <= 0) continue;
    const a = allocatable[name] ?? 0;
    if (q > a) return shortfall(name, q, 0, a);
  }
  return undefined;
}

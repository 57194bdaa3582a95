/**
 * What pods ask for and nodes offer, counted as the scheduler counts them. Pure.
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { cpuMillicores, memoryBytes } from './quantity.ts';

export interface Resources {
  cpuMillicores: number;
  memoryBytes: number;
}

/**
 * A pod's requests as the scheduler sees them: the larger of (the sum over its containers)
 * and (the largest init container), plus the pod overhead.
 */
export function podRequests(pod: V1Pod): Resources {
  const sum = { cpuMillicores: 0, memoryBytes: 0 };
  for (const c of pod.spec?.containers ?? []) {
    sum.cpuMillicores += cpuMillicores(c.resources?.requests?.cpu);
    sum.memoryBytes += memoryBytes(c.resources?.requests?.memory);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    // Sidecars (restartPolicy Always) run beside the app containers: they add up.
    if (c.restartPolicy === 'Always') {
      sum.cpuMillicores += cpuMillicores(c.resources?.requests?.cpu);
      sum.memoryBytes += memoryBytes(c.resources?.requests?.memory);
      continue;
    }
    sum.cpuMillicores = Math.max(sum.cpuMillicores, cpuMillicores(c.resources?.requests?.cpu));
    sum.memoryBytes = Math.max(sum.memoryBytes, memoryBytes(c.resources?.requests?.memory));
  }
  const o = pod.spec?.overhead;
  if (o) {
    sum.cpuMillicores += cpuMillicores(o.cpu);
    sum.memoryBytes += memoryBytes(o.memory);
  }
  return sum;
}

export function nodeAllocatable(node: V1Node): Resources {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  return { cpuMillicores: cpuMillicores(a.cpu), memoryBytes: memoryBytes(a.memory) };
}

export function isReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** A pod the scheduler could not place: phase Pending with PodScheduled=False, reason Unschedulable. */
export function isUnschedulable(pod: V1Pod): boolean {
  if (pod.status?.phase !== 'Pending' || pod.spec?.nodeName) return false;
  return (
    pod.status?.conditions?.some(
      (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
    ) ?? false
  );
}

/** Pods that hold a node's resources: bound to it and not finished. */
export function isActiveOn(pod: V1Pod, node: string): boolean {
  const phase = pod.status?.phase;
  return pod.spec?.nodeName === node && phase !== 'Succeeded' && phase !== 'Failed';
}

/** Kind/name of the controller behind a pod; a ReplicaSet named <deployment>-<hash> counts as its Deployment. */
export function ownerOf(pod: V1Pod): string | undefined {
  const ref = pod.metadata?.ownerReferences?.find((r) => r.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!ref) return undefined;
  if (ref.kind === 'ReplicaSet') {
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (hash && ref.name.endsWith(`-${hash}`)) return `Deployment/${ref.name.slice(0, -hash.length - 1)}`;
  }
  return `${ref.kind}/${ref.name}`;
}

/**
 * What pods ask for and nodes offer, counted as the scheduler counts them. Pure.
 */
import { cpuMillicores, memoryBytes } from './quantity.ts';
import type { V1Node, V1Pod } from './types.ts';

export interface Resources {
  cpuMillicores: number;
  memoryBytes: number;
}

type Requests = { [key: string]: string } | undefined;
const add = (a: Resources, r: Requests): Resources => ({
  cpuMillicores: a.cpuMillicores + cpuMillicores(r?.cpu),
  memoryBytes: a.memoryBytes + memoryBytes(r?.memory),
});
const max = (a: Resources, b: Resources): Resources => ({
  cpuMillicores: Math.max(a.cpuMillicores, b.cpuMillicores),
  memoryBytes: Math.max(a.memoryBytes, b.memoryBytes),
});
const zero = (): Resources => ({ cpuMillicores: 0, memoryBytes: 0 });

/**
 * A pod's requests as the scheduler counts them (k8s.io/component-helpers resource.PodRequests):
 * the sum over its containers plus its sidecars (init containers with restartPolicy Always),
 * or the largest init container plus the sidecars started before it, whichever is larger;
 * pod-level requests (`spec.resources`) replace the container sums where set; the pod
 * overhead is added on top.
 */
export function podRequests(pod: V1Pod): Resources {
  let containers = zero();
  for (const c of pod.spec?.containers ?? []) containers = add(containers, c.resources?.requests);
  let sidecars = zero();
  let init = zero();
  for (const c of pod.spec?.initContainers ?? []) {
    if (c.restartPolicy === 'Always') {
      sidecars = add(sidecars, c.resources?.requests);
      init = max(init, sidecars);
    } else {
      // A regular init container runs beside the sidecars started before it.
      init = max(init, add(sidecars, c.resources?.requests));
    }
  }
  let total = max(
    {
      cpuMillicores: containers.cpuMillicores + sidecars.cpuMillicores,
      memoryBytes: containers.memoryBytes + sidecars.memoryBytes,
    },
    init,
  );
  const podLevel = pod.spec?.resources?.requests;
  if (podLevel?.cpu !== undefined) total = { ...total, cpuMillicores: cpuMillicores(podLevel.cpu) };
  if (podLevel?.memory !== undefined) total = { ...total, memoryBytes: memoryBytes(podLevel.memory) };
  return add(total, pod.spec?.overhead);
}

/** Resources a pod's requests may name that {@link podExtraRequests} leaves out. */
const notExtra = (name: string): boolean =>
  name === 'cpu' || name === 'memory' || name === 'pods' || name.startsWith('hugepages-');

type Amounts = Map<string, number>;
function addAmounts(into: Amounts, r: Requests): Amounts {
  const out = new Map(into);
  if (r)
    for (const k of Object.keys(r)) {
      if (notExtra(k)) continue;
      out.set(k, (out.get(k) ?? 0) + memoryBytes(r[k]));
    }
  return out;
}
function maxAmounts(a: Amounts, b: Amounts): Amounts {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, Math.max(out.get(k) ?? 0, v));
  return out;
}

/**
 * A pod's requests beyond cpu and memory, as the scheduler counts them: `ephemeral-storage`
 * in bytes and extended resources (`nvidia.com/gpu`, ...) as counts, by the rules of
 * {@link podRequests} (containers plus sidecars, or the largest init container, plus the
 * overhead). `pods` and `hugepages-*` are left out (node projections do not keep hugepages
 * either). Undefined when the pod requests none of them, as most pods do.
 */
export function podExtraRequests(pod: V1Pod): Record<string, number> | undefined {
  const spec = pod.spec;
  if (!spec) return undefined;
  const empty: Amounts = new Map();
  let containers = empty;
  for (const c of spec.containers ?? []) containers = addAmounts(containers, c.resources?.requests);
  let sidecars = empty;
  let init = empty;
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === 'Always') {
      sidecars = addAmounts(sidecars, c.resources?.requests);
      init = maxAmounts(init, sidecars);
    } else {
      init = maxAmounts(init, addAmounts(sidecars, c.resources?.requests));
    }
  }
  const running = new Map(containers);
  for (const [k, v] of sidecars) running.set(k, (running.get(k) ?? 0) + v);
  let total = maxAmounts(running, init);
  // pod-level requests (spec.resources) name only cpu, memory and hugepages: nothing here.
  total = addAmounts(total, spec.overhead);
  let out: Record<string, number> | undefined;
  for (const [k, v] of total) {
    if (v <= 0) continue;
    out ??= {};
    out[k] = v;
  }
  return out;
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

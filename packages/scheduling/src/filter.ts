/**
 * The filter: every predicate family over one pod and one node, in kube-scheduler's order
 * (unschedulable, node selector and affinity, taints, host ports, resources, topology
 * spread, inter-pod affinity); the first that fails is the reason. A PodContext holds what
 * the pod's checks need from the whole cluster (PreFilter); it is valid at one
 * Cluster.version only.
 */
import type { Cluster, NodeState } from './cluster.ts';
import { type Failure, toReason } from './failure.ts';
import { checkHostPorts, type PortUse, podPorts } from './predicates/host-ports.ts';
import { checkInterPod, type InterPodCheck, prepareInterPod } from './predicates/inter-pod.ts';
import { checkNodeSelector } from './predicates/node-selector.ts';
import { checkUnschedulable } from './predicates/node-unschedulable.ts';
import { checkResources, checkResourcesOnEmpty } from './predicates/resources.ts';
import { checkTaints } from './predicates/taints.ts';
import { checkSpread, prepareSpread, type SpreadCheck } from './predicates/topology-spread.ts';
import { HOSTNAME_LABEL, type NodeTemplate, type Reason, type SimPod, ZONE_LABEL } from './types.ts';

export interface PodContext {
  readonly pod: SimPod;
  readonly version: number;
  readonly req: readonly number[];
  readonly ports: readonly PortUse[];
  readonly spread: readonly SpreadCheck[];
  readonly interPod: InterPodCheck | undefined;
}

export function prepare(cluster: Cluster, pod: SimPod): PodContext {
  return {
    pod,
    version: cluster.version,
    req: cluster.requests(pod),
    ports: podPorts(pod),
    spread: prepareSpread(cluster, pod),
    interPod: prepareInterPod(cluster, pod),
  };
}

/** The context again if the cluster changed since it was prepared. */
export function fresh(cluster: Cluster, ctx: PodContext): PodContext {
  return ctx.version === cluster.version ? ctx : prepare(cluster, ctx.pod);
}

/** Whether the pod's checks depend on other pods (a fresh node can still fail them). */
export function dependsOnPods(ctx: PodContext): boolean {
  return ctx.spread.length > 0 || ctx.interPod !== undefined;
}

export function filter(cluster: Cluster, ctx: PodContext, node: NodeState): Failure | undefined {
  const pod = ctx.pod;
  return (
    checkUnschedulable(node) ??
    checkNodeSelector(pod, node.labels, node.name) ??
    checkTaints(pod.tolerations, node.taints) ??
    checkHostPorts(ctx.ports, node.ports) ??
    checkResources(cluster.resources, ctx.req, node.alloc, node.used) ??
    (ctx.spread.length > 0 ? checkSpread(ctx.spread, node) : undefined) ??
    (ctx.interPod ? checkInterPod(ctx.interPod, node) : undefined)
  );
}

/**
 * Why `pod` cannot go to the live node `nodeName` of `cluster` as it is now, or undefined
 * when it can (all predicates, the pod's own placement ignored if it is bound).
 * @throws Error when the cluster has no such node.
 */
export function podFitsNode(cluster: Cluster, pod: SimPod, nodeName: string): Reason | undefined {
  const node = cluster.byName.get(nodeName);
  if (!node || node.removed) throw new Error(`podFitsNode: no node ${nodeName}`);
  const self = cluster.findPod(pod.key);
  if (self) cluster.unplace(self);
  try {
    const f = filter(cluster, prepare(cluster, pod), node);
    return f && toReason(f);
  } finally {
    if (self) cluster.place(self.pod, self.node);
  }
}

/** The labels of a template's new node named `name` in `zone`. */
export function templateLabels(
  template: NodeTemplate,
  name: string,
  zone: string | undefined,
): Record<string, string> {
  const labels: Record<string, string> = { ...template.labels, [HOSTNAME_LABEL]: name };
  if (zone !== undefined) labels[ZONE_LABEL] = zone;
  return labels;
}

/** podFitsTemplate with the summary kept (for aggregation inside the package). */
export function templateFailure(pod: SimPod, template: NodeTemplate): Failure | undefined {
  const name = `${template.pool}/new`;
  const zones = template.zones.length > 0 ? template.zones : [undefined];
  let selector: Failure | undefined;
  for (const zone of zones) {
    selector = checkNodeSelector(pod, templateLabels(template, name, zone), name);
    if (selector === undefined) break;
  }
  return (
    selector ??
    checkTaints(pod.tolerations, template.taints) ??
    checkResourcesOnEmpty(pod.requests, template.allocatable)
  );
}

/**
 * Why a new node of `template` could never host `pod`, or undefined when one could: the
 * static predicates only (node selector and required node affinity in any of the
 * template's zones, taints, resources against an empty node). Whether the pool's next node
 * can take it also depends on the zone it gets and the pods around it (planScaleUp).
 */
export function podFitsTemplate(pod: SimPod, template: NodeTemplate): Reason | undefined {
  const f = templateFailure(pod, template);
  return f && toReason(f);
}

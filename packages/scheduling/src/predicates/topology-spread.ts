/**
 * PodTopologySpread, whenUnsatisfiable DoNotSchedule only. For a node in domain d:
 * count(d) + (1 if the pod matches the selector) - min over eligible domains <= maxSkew.
 * Eligible nodes carry every constraint's key and, under nodeAffinityPolicy Honor (the
 * default), pass the pod's nodeSelector and required node affinity; under nodeTaintsPolicy
 * Honor, its tolerations. Counted: pods on eligible nodes, in the pod's namespace, matching
 * the selector. Fewer eligible domains than minDomains: the minimum is 0. A node without
 * the key cannot take the pod.
 */
import type { Cluster, NodeState, SpreadCounter } from '../cluster.ts';
import { type Failure, failure } from '../failure.ts';
import { matchesLabelSelector, selectorKey, showSelector } from '../selectors.ts';
import { HOSTNAME_LABEL, type SimPod, type TopologySpreadConstraint, ZONE_LABEL } from '../types.ts';
import { checkNodeSelector } from './node-selector.ts';
import { untolerated } from './taints.ts';

export interface SpreadCheck {
  constraint: TopologySpreadConstraint;
  counter: SpreadCounter;
  min: number;
  selfMatch: number;
  display: string;
}

const affinityKeys = new WeakMap<SimPod, string>();
function affinityKey(pod: SimPod): string {
  let k = affinityKeys.get(pod);
  if (k === undefined) {
    const sel = Object.entries(pod.nodeSelector ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    k = JSON.stringify([sel, pod.nodeAffinity ?? [], pod.tolerations ?? []]);
    affinityKeys.set(pod, k);
  }
  return k;
}

export function isHardSpread(c: TopologySpreadConstraint): boolean {
  return c.whenUnsatisfiable === 'DoNotSchedule';
}

export function prepareSpread(cluster: Cluster, pod: SimPod): SpreadCheck[] {
  const hard = (pod.topologySpread ?? []).filter(isHardSpread);
  if (hard.length === 0) return [];
  const keys = hard.map((c) => c.topologyKey);
  return hard.map((c) => {
    const honorAffinity = (c.nodeAffinityPolicy ?? 'Honor') === 'Honor';
    const honorTaints = (c.nodeTaintsPolicy ?? 'Ignore') === 'Honor';
    const key = [
      c.topologyKey,
      pod.namespace,
      selectorKey(c.labelSelector),
      keys.join(','),
      honorAffinity ? 'A' : '',
      honorTaints ? 'T' : '',
      honorAffinity || honorTaints ? affinityKey(pod) : '',
    ].join('\u0000');
    const ns = pod.namespace;
    const sel = c.labelSelector;
    const matches = (p: SimPod) => p.namespace === ns && matchesLabelSelector(sel, p.labels);
    const eligible = (n: NodeState) =>
      keys.every((k) => n.labels[k] !== undefined) &&
      (!honorAffinity || checkNodeSelector(pod, n.labels, n.name) === undefined) &&
      (!honorTaints || untolerated(pod.tolerations, n.taints) === undefined);
    const counter = cluster.spreadCounter(key, c.topologyKey, ns, matches, eligible);
    let min = 0;
    if (counter.domainNodes.size >= (c.minDomains ?? 1)) {
      min = Number.POSITIVE_INFINITY;
      for (const d of counter.domainNodes.keys()) min = Math.min(min, counter.counts.get(d) ?? 0);
      if (!Number.isFinite(min)) min = 0;
    }
    return { constraint: c, counter, min, selfMatch: matches(pod) ? 1 : 0, display: showSelector(sel) };
  });
}

function domain(key: string, value: string): string {
  if (key === ZONE_LABEL) return `zone ${value}`;
  if (key === HOSTNAME_LABEL) return `node ${value}`;
  return `${key}=${value}`;
}

export function checkSpread(checks: readonly SpreadCheck[], node: NodeState): Failure | undefined {
  for (const s of checks) {
    const key = s.constraint.topologyKey;
    const v = node.labels[key];
    if (v === undefined) {
      return failure('topology_spread', `topology spread: node lacks label ${key}`);
    }
    const skew = (s.counter.counts.get(v) ?? 0) + s.selfMatch - s.min;
    if (skew > s.constraint.maxSkew) {
      return failure(
        'topology_spread',
        `topology spread: ${domain(key, v)} would have skew ${skew} > maxSkew ${s.constraint.maxSkew} (${s.display})`,
        `topology spread (${s.display}, ${key}, maxSkew ${s.constraint.maxSkew})`,
      );
    }
  }
  return undefined;
}

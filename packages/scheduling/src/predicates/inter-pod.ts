/**
 * InterPodAffinity, required terms only, on any topology key:
 *
 * - affinity: the node must carry every term's topology key and its domain must hold a pod
 *   matching all of the pod's affinity terms; when no such pod exists anywhere, the pod may
 *   go to any node with the keys if it matches its own terms (the first pod of a group).
 * - anti-affinity: no pod matching a term in the node's domain for that term's key. A node
 *   without the key passes that term, as in kube-scheduler.
 * - the symmetric rule: a bound pod's required anti-affinity term that matches the incoming
 *   pod keeps it out of that bound pod's domain.
 */
import type { AntiGroup, Cluster, NodeState, TermCounter } from '../cluster.ts';
import { termKey, termMatcher, termNamespaces } from '../cluster.ts';
import { type Failure, failure } from '../failure.ts';
import { showSelector } from '../selectors.ts';
import type { SimPod } from '../types.ts';

interface TermCheck {
  topologyKey: string;
  counter: TermCounter;
  display: string;
}

export interface InterPodCheck {
  affinity: TermCheck[];
  /** Some pod matching all affinity terms exists (on a node with the term's key). */
  affinityExists: boolean;
  /** The pod matches all its own affinity terms. */
  selfMatch: boolean;
  anti: TermCheck[];
  /** Bound pods' anti-affinity groups that match this pod. */
  symmetric: AntiGroup[];
}

/** What the pod's inter-pod checks need from the cluster (kube-scheduler's PreFilter). */
export function prepareInterPod(cluster: Cluster, pod: SimPod): InterPodCheck | undefined {
  const symmetric: AntiGroup[] = [];
  for (const g of cluster.antiGroups.values()) if (g.domains.size > 0 && g.matches(pod)) symmetric.push(g);
  const affTerms = pod.podAffinity ?? [];
  const antiTerms = pod.podAntiAffinity ?? [];
  if (symmetric.length === 0 && affTerms.length === 0 && antiTerms.length === 0) return undefined;

  const affinity: TermCheck[] = [];
  let affinityExists = false;
  let selfMatch = true;
  if (affTerms.length > 0) {
    const matchers = affTerms.map((t) => termMatcher(pod.namespace, t));
    const all = (p: SimPod) => matchers.every((m) => m(p));
    // A pod matching all terms is in the namespaces of the first term.
    const namespaces = termNamespaces(pod.namespace, affTerms[0]!);
    const allKey = affTerms.map((t) => termKey(pod.namespace, t)).join('\u0001');
    selfMatch = all(pod);
    for (const t of affTerms) {
      const counter = cluster.termCounter(
        `aff\u0002${t.topologyKey}\u0002${allKey}`,
        t.topologyKey,
        namespaces,
        all,
      );
      if (counter.total > 0) affinityExists = true;
      affinity.push({ topologyKey: t.topologyKey, counter, display: showSelector(t.labelSelector) });
    }
  }
  const anti = antiTerms.map((t) => ({
    topologyKey: t.topologyKey,
    counter: cluster.termCounter(
      `anti\u0002${termKey(pod.namespace, t)}`,
      t.topologyKey,
      termNamespaces(pod.namespace, t),
      termMatcher(pod.namespace, t),
    ),
    display: showSelector(t.labelSelector),
  }));
  return { affinity, affinityExists, selfMatch, anti, symmetric };
}

function first<T>(set: Set<T> | undefined): T | undefined {
  if (set === undefined) return undefined;
  for (const x of set) return x;
  return undefined;
}

export function checkInterPod(check: InterPodCheck, node: NodeState): Failure | undefined {
  for (const t of check.affinity) {
    const v = node.labels[t.topologyKey];
    if (v === undefined) {
      return failure(
        'pod_affinity',
        `pod affinity (${t.display}): node lacks label ${t.topologyKey}`,
        `pod affinity (${t.display}): node lacks label ${t.topologyKey}`,
      );
    }
    if (check.affinityExists && (t.counter.domains.get(v)?.size ?? 0) === 0) {
      return failure(
        'pod_affinity',
        `pod affinity: no pod matching (${t.display}) in ${t.topologyKey}=${v}`,
        `pod affinity (${t.display}, ${t.topologyKey})`,
      );
    }
  }
  if (check.affinity.length > 0 && !check.affinityExists && !check.selfMatch) {
    const display = check.affinity.map((t) => t.display).join('; ');
    return failure('pod_affinity', `pod affinity: no pod matching (${display}) anywhere`);
  }
  for (const t of check.anti) {
    const v = node.labels[t.topologyKey];
    if (v === undefined) continue;
    const other = first(t.counter.domains.get(v));
    if (other) {
      return failure(
        'pod_anti_affinity',
        `anti-affinity with ${other.pod.key} (${t.display}) in ${t.topologyKey}=${v}`,
        `anti-affinity (${t.display}, ${t.topologyKey})`,
      );
    }
  }
  for (const g of check.symmetric) {
    const v = node.labels[g.topologyKey];
    if (v === undefined) continue;
    const other = first(g.domains.get(v));
    if (other) {
      return failure(
        'pod_anti_affinity',
        `anti-affinity of ${other.pod.key} (${g.display}) keeps it out of ${g.topologyKey}=${v}`,
        `anti-affinity of existing pods (${g.display}, ${g.topologyKey})`,
      );
    }
  }
  return undefined;
}

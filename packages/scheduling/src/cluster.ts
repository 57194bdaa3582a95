/**
 * The simulated cluster: a mutable state built from a Snapshot in O(pods), with per-node
 * used resources, pods and host ports, an index of pods carrying required anti-affinity
 * terms by topology domain, and match counts per topology domain built on first use for
 * each (selector, namespaces, topology key) and kept up to date by every place and unplace.
 * Planners try a change and undo it with the inverse operation (unplace, restoreNode,
 * dropNode). Pure: nothing here outlives the planner call that builds it.
 */
import { type PortInUse, podPorts } from './predicates/host-ports.ts';
import { DEFAULT_MAX_PODS } from './predicates/resources.ts';
import { matchesLabelSelector, selectorKey, showSelector } from './selectors.ts';
import {
  type LabelSelector,
  POOL_LABEL,
  type PodAffinityTerm,
  type ResourceList,
  type SimPod,
  type Snapshot,
  type Taint,
  ZONE_LABEL,
} from './types.ts';

export type Labels = Readonly<Record<string, string>>;

export interface NodeState {
  readonly name: string;
  readonly labels: Labels;
  readonly taints: readonly Taint[];
  /** Quantities by resource index (Cluster.resources). */
  readonly alloc: number[];
  readonly used: number[];
  readonly pods: Set<PlacedPod>;
  readonly ports: PortInUse[];
  readonly unschedulable: boolean;
  readonly inFlight: boolean;
  /** Opened by the scale-up plan. */
  readonly isNew: boolean;
  readonly pool: string | undefined;
  readonly zone: string | undefined;
  removed: boolean;
}

export interface PlacedPod {
  readonly pod: SimPod;
  readonly node: NodeState;
}

export interface NodeSpec {
  name: string;
  labels: Labels;
  taints: readonly Taint[];
  allocatable: ResourceList;
  unschedulable?: boolean;
  inFlight?: boolean;
  pool?: string;
}

/** Pods matching a selector, by the value of one topology key on their nodes. */
export interface TermCounter {
  readonly topologyKey: string;
  /** The namespaces the matched pods may be in; null: every namespace. */
  readonly namespaces: ReadonlySet<string> | null;
  readonly matches: (pod: SimPod) => boolean;
  readonly domains: Map<string, Set<PlacedPod>>;
  total: number;
}

/** Bound pods' required anti-affinity terms that are alike, by the domain of their pods. */
export interface AntiGroup {
  readonly topologyKey: string;
  /** Matches the pods the term keeps away (namespaces resolved against the term's owner). */
  readonly matches: (pod: SimPod) => boolean;
  readonly display: string;
  readonly domains: Map<string, Set<PlacedPod>>;
}

/** A spread constraint's eligible nodes, their domains and the matching pods on them. */
export interface SpreadCounter {
  readonly topologyKey: string;
  readonly namespace: string;
  readonly matches: (pod: SimPod) => boolean;
  readonly eligible: (node: NodeState) => boolean;
  readonly eligibleNodes: Set<NodeState>;
  /** Domain -> how many eligible nodes it has (only domains with at least one). */
  readonly domainNodes: Map<string, number>;
  readonly counts: Map<string, number>;
}

const CPU = 1;
const MEMORY = 2;

/**
 * The namespaces a pod affinity term selects from, resolved against its owner's namespace:
 * null for every namespace (namespaceSelector {}).
 */
export function termNamespaces(ownerNamespace: string, term: PodAffinityTerm): ReadonlySet<string> | null {
  const sel = term.namespaceSelector;
  if (sel !== undefined && selectorKey(sel) === EMPTY_SELECTOR_KEY) return null;
  const set = new Set(term.namespaces ?? []);
  // No namespace labels are simulated: a non-empty namespaceSelector selects the owner's own
  // namespace only, beside those listed.
  if (set.size === 0 || sel !== undefined) set.add(ownerNamespace);
  return set;
}

const EMPTY_SELECTOR_KEY = selectorKey({});

export function namespacesKey(ns: ReadonlySet<string> | null): string {
  return ns === null ? '*' : [...ns].sort().join(',');
}

/** Whether `pod` is one of the pods a term (owned by a pod of `ownerNamespace`) selects. */
export function termMatcher(ownerNamespace: string, term: PodAffinityTerm): (pod: SimPod) => boolean {
  const ns = termNamespaces(ownerNamespace, term);
  const sel: LabelSelector | undefined = term.labelSelector;
  return (pod) => (ns === null || ns.has(pod.namespace)) && matchesLabelSelector(sel, pod.labels);
}

export function termKey(ownerNamespace: string, term: PodAffinityTerm): string {
  return `${term.topologyKey}\u0000${namespacesKey(termNamespaces(ownerNamespace, term))}\u0000${selectorKey(term.labelSelector)}`;
}

function addTo(domains: Map<string, Set<PlacedPod>>, value: string, pp: PlacedPod): void {
  let set = domains.get(value);
  if (set === undefined) {
    set = new Set();
    domains.set(value, set);
  }
  set.add(pp);
}

function indexPod(index: Map<string, Set<PlacedPod>>, pp: PlacedPod): void {
  let set = index.get(pp.pod.namespace);
  if (!set) {
    set = new Set();
    index.set(pp.pod.namespace, set);
  }
  set.add(pp);
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class Cluster {
  /** Resource names by index: pods, cpu and memory first. */
  readonly resources: string[] = ['pods', 'cpu', 'memory'];
  private readonly resourceIndex = new Map<string, number>(this.resources.map((r, i) => [r, i]));
  readonly nodes: NodeState[] = [];
  readonly byName = new Map<string, NodeState>();
  readonly antiGroups = new Map<string, AntiGroup>();
  /**
   * Live pods by namespace, built with the first counter (counters look only at the
   * namespaces they count), kept up to date from then on.
   */
  private namespaceIndex: Map<string, Set<PlacedPod>> | undefined;
  private readonly termCounters = new Map<string, TermCounter>();
  /** The same counters by the namespace of the pods they count ('*': any namespace). */
  private readonly termCountersByNs = new Map<string, TermCounter[]>();
  private readonly spreadCounters = new Map<string, SpreadCounter>();
  private readonly spreadCountersByNs = new Map<string, SpreadCounter[]>();
  /** Pool -> [cpu used, cpu allocatable, memory used, memory allocatable] over its live, not in-flight nodes. */
  private readonly poolTotals = new Map<string, number[]>();
  /** Pool -> zone -> live nodes (in-flight and new included). */
  private readonly poolZones = new Map<string, Map<string, number>>();
  /** Bumped by every change: a PodContext prepared at another version is stale. */
  version = 0;

  constructor(snapshot: Snapshot) {
    for (const n of snapshot.nodes) this.addNode(n, false);
    for (const p of snapshot.pods) {
      const node = this.byName.get(p.nodeName);
      if (node) this.place(p, node);
    }
  }

  /** The live placement of the pod with this key (a scan: for helpers, not planners). */
  findPod(key: string): PlacedPod | undefined {
    for (const node of this.nodes) {
      if (node.removed) continue;
      for (const pp of node.pods) if (pp.pod.key === key) return pp;
    }
    return undefined;
  }

  resource(name: string): number {
    let i = this.resourceIndex.get(name);
    if (i === undefined) {
      i = this.resources.length;
      this.resources.push(name);
      this.resourceIndex.set(name, i);
    }
    return i;
  }

  /** Adds (sign 1) or takes back (-1) the pod's requests on the node. */
  private use(pod: SimPod, node: NodeState, sign: 1 | -1): void {
    const used = node.used;
    used[0] = (used[0] ?? 0) + sign * (pod.requests.pods ?? 1);
    for (const name in pod.requests) {
      if (name === 'pods') continue;
      const q = pod.requests[name] ?? 0;
      if (q <= 0) continue;
      const r = this.resource(name);
      used[r] = (used[r] ?? 0) + sign * q;
    }
  }

  /** The pod's requests as pairs (resource index, quantity), `pods` included. */
  requests(pod: SimPod): number[] {
    const req = [0, pod.requests.pods ?? 1];
    for (const name in pod.requests) {
      const q = pod.requests[name] ?? 0;
      if (name !== 'pods' && q > 0) req.push(this.resource(name), q);
    }
    return req;
  }

  addNode(spec: NodeSpec, isNew: boolean): NodeState {
    const alloc: number[] = [];
    for (const name in spec.allocatable) alloc[this.resource(name)] = spec.allocatable[name] ?? 0;
    alloc[0] = spec.allocatable.pods ?? DEFAULT_MAX_PODS;
    const node: NodeState = {
      name: spec.name,
      labels: spec.labels,
      taints: spec.taints,
      alloc,
      used: [],
      pods: new Set(),
      ports: [],
      unschedulable: spec.unschedulable ?? false,
      inFlight: spec.inFlight ?? false,
      isNew,
      pool: spec.pool ?? spec.labels[POOL_LABEL],
      zone: spec.labels[ZONE_LABEL],
      removed: true,
    };
    this.nodes.push(node);
    this.byName.set(node.name, node);
    this.restoreNode(node);
    return node;
  }

  /** Takes an empty node out of every index (its pods must have been unplaced). */
  removeNode(node: NodeState): void {
    if (node.removed) return;
    node.removed = true;
    this.nodeTotals(node, -1);
    for (const sc of this.spreadCounters.values()) {
      if (!sc.eligibleNodes.delete(node)) continue;
      const v = node.labels[sc.topologyKey]!;
      for (const pp of node.pods) if (sc.matches(pp.pod)) sc.counts.set(v, (sc.counts.get(v) ?? 1) - 1);
      const left = (sc.domainNodes.get(v) ?? 1) - 1;
      if (left > 0) sc.domainNodes.set(v, left);
      else sc.domainNodes.delete(v);
    }
    this.version++;
  }

  /** Undoes removeNode. */
  restoreNode(node: NodeState): void {
    if (!node.removed) return;
    node.removed = false;
    this.nodeTotals(node, 1);
    for (const sc of this.spreadCounters.values()) this.addEligible(sc, node);
    this.version++;
  }

  /** Removes a node that was added last, for good (a node a planner only tried). */
  dropNode(node: NodeState): void {
    this.removeNode(node);
    if (this.nodes.at(-1) === node) this.nodes.pop();
    else this.nodes.splice(this.nodes.indexOf(node), 1);
    this.byName.delete(node.name);
  }

  private nodeTotals(node: NodeState, sign: 1 | -1): void {
    if (node.pool === undefined) return;
    if (node.zone !== undefined) {
      let zones = this.poolZones.get(node.pool);
      if (!zones) {
        zones = new Map();
        this.poolZones.set(node.pool, zones);
      }
      zones.set(node.zone, (zones.get(node.zone) ?? 0) + sign);
    }
    if (node.inFlight) return;
    const t = this.totalsOf(node.pool);
    t[0]! += sign * (node.used[CPU] ?? 0);
    t[1]! += sign * (node.alloc[CPU] ?? 0);
    t[2]! += sign * (node.used[MEMORY] ?? 0);
    t[3]! += sign * (node.alloc[MEMORY] ?? 0);
  }

  private totalsOf(pool: string): number[] {
    let t = this.poolTotals.get(pool);
    if (!t) {
      t = [0, 0, 0, 0];
      this.poolTotals.set(pool, t);
    }
    return t;
  }

  /** Requested and allocatable cpu and memory over the pool's live nodes that are not in flight. */
  poolUsage(pool: string): { cpuUsed: number; cpuAlloc: number; memoryUsed: number; memoryAlloc: number } {
    const [cpuUsed = 0, cpuAlloc = 0, memoryUsed = 0, memoryAlloc = 0] = this.poolTotals.get(pool) ?? [];
    return { cpuUsed, cpuAlloc, memoryUsed, memoryAlloc };
  }

  /** How many live nodes of the pool are in the zone (new and in-flight ones included). */
  poolNodesInZone(pool: string, zone: string): number {
    return this.poolZones.get(pool)?.get(zone) ?? 0;
  }

  place(pod: SimPod, node: NodeState): PlacedPod {
    const pp: PlacedPod = { pod, node };
    this.use(pod, node, 1);
    node.pods.add(pp);
    if (pod.hostPorts) for (const p of podPorts(pod)) node.ports.push({ ...p, pod: pod.key });
    if (this.namespaceIndex) indexPod(this.namespaceIndex, pp);
    if (pod.podAntiAffinity) {
      for (const term of pod.podAntiAffinity) {
        const v = node.labels[term.topologyKey];
        if (v !== undefined) addTo(this.antiGroup(pod, term).domains, v, pp);
      }
    }
    this.countPlaced(this.termCountersByNs.get(pod.namespace), pp);
    this.countPlaced(this.termCountersByNs.get('*'), pp);
    for (const sc of this.spreadCountersByNs.get(pod.namespace) ?? []) {
      if (sc.eligibleNodes.has(node) && sc.matches(pod)) {
        const v = node.labels[sc.topologyKey]!;
        sc.counts.set(v, (sc.counts.get(v) ?? 0) + 1);
      }
    }
    this.podTotals(pod, node, 1);
    this.version++;
    return pp;
  }

  unplace(pp: PlacedPod): void {
    const { pod, node } = pp;
    if (!node.pods.delete(pp)) return;
    this.use(pod, node, -1);
    this.namespaceIndex?.get(pod.namespace)?.delete(pp);
    if (pod.hostPorts && node.ports.length > 0) {
      for (let i = node.ports.length - 1; i >= 0; i--)
        if (node.ports[i]!.pod === pod.key) node.ports.splice(i, 1);
    }
    if (pod.podAntiAffinity) {
      for (const term of pod.podAntiAffinity) {
        const v = node.labels[term.topologyKey];
        if (v !== undefined) this.antiGroup(pod, term).domains.get(v)?.delete(pp);
      }
    }
    this.countUnplaced(this.termCountersByNs.get(pod.namespace), pp);
    this.countUnplaced(this.termCountersByNs.get('*'), pp);
    for (const sc of this.spreadCountersByNs.get(pod.namespace) ?? []) {
      if (sc.eligibleNodes.has(node) && sc.matches(pod)) {
        const v = node.labels[sc.topologyKey]!;
        sc.counts.set(v, (sc.counts.get(v) ?? 1) - 1);
      }
    }
    this.podTotals(pod, node, -1);
    this.version++;
  }

  private podTotals(pod: SimPod, node: NodeState, sign: 1 | -1): void {
    if (node.pool === undefined || node.inFlight || node.removed) return;
    const t = this.totalsOf(node.pool);
    t[0]! += sign * (pod.requests.cpu ?? 0);
    t[2]! += sign * (pod.requests.memory ?? 0);
  }

  private antiGroup(owner: SimPod, term: PodAffinityTerm): AntiGroup {
    const key = termKey(owner.namespace, term);
    let g = this.antiGroups.get(key);
    if (!g) {
      g = {
        topologyKey: term.topologyKey,
        matches: termMatcher(owner.namespace, term),
        display: showSelector(term.labelSelector),
        domains: new Map(),
      };
      this.antiGroups.set(key, g);
    }
    return g;
  }

  private get byNamespace(): Map<string, Set<PlacedPod>> {
    if (this.namespaceIndex === undefined) {
      const index = new Map<string, Set<PlacedPod>>();
      for (const node of this.nodes) for (const pp of node.pods) indexPod(index, pp);
      this.namespaceIndex = index;
    }
    return this.namespaceIndex;
  }

  private podsIn(namespaces: ReadonlySet<string> | null): Iterable<PlacedPod>[] {
    const index = this.byNamespace;
    if (namespaces === null) return [...index.values()];
    return [...namespaces].map((ns) => index.get(ns) ?? []);
  }

  private countPlaced(counters: readonly TermCounter[] | undefined, pp: PlacedPod): void {
    if (counters === undefined) return;
    for (const c of counters) {
      const v = pp.node.labels[c.topologyKey];
      if (v !== undefined && c.matches(pp.pod)) {
        addTo(c.domains, v, pp);
        c.total++;
      }
    }
  }

  private countUnplaced(counters: readonly TermCounter[] | undefined, pp: PlacedPod): void {
    if (counters === undefined) return;
    for (const c of counters) {
      const v = pp.node.labels[c.topologyKey];
      if (v !== undefined && c.domains.get(v)?.delete(pp)) c.total--;
    }
  }

  /**
   * The counter for `key`, counting the live pods of `namespaces` (null: every namespace)
   * that `matches` accepts, built on first use.
   */
  termCounter(
    key: string,
    topologyKey: string,
    namespaces: ReadonlySet<string> | null,
    matches: (pod: SimPod) => boolean,
  ): TermCounter {
    const known = this.termCounters.get(key);
    if (known) return known;
    const c: TermCounter = { topologyKey, namespaces, matches, domains: new Map(), total: 0 };
    for (const pods of this.podsIn(namespaces)) {
      for (const pp of pods) {
        const v = pp.node.labels[topologyKey];
        if (v === undefined || !matches(pp.pod)) continue;
        addTo(c.domains, v, pp);
        c.total++;
      }
    }
    this.termCounters.set(key, c);
    for (const ns of namespaces ?? ['*']) pushTo(this.termCountersByNs, ns, c);
    return c;
  }

  /** The counter for a spread constraint of a pod of `namespace`, built on first use. */
  spreadCounter(
    key: string,
    topologyKey: string,
    namespace: string,
    matches: (pod: SimPod) => boolean,
    eligible: (node: NodeState) => boolean,
  ): SpreadCounter {
    const known = this.spreadCounters.get(key);
    if (known) return known;
    const sc: SpreadCounter = {
      topologyKey,
      namespace,
      matches,
      eligible,
      eligibleNodes: new Set(),
      domainNodes: new Map(),
      counts: new Map(),
    };
    for (const node of this.nodes) {
      const v = node.labels[topologyKey];
      if (node.removed || v === undefined || !eligible(node)) continue;
      sc.eligibleNodes.add(node);
      sc.domainNodes.set(v, (sc.domainNodes.get(v) ?? 0) + 1);
    }
    for (const pp of this.byNamespace.get(namespace) ?? []) {
      if (!sc.eligibleNodes.has(pp.node) || !matches(pp.pod)) continue;
      const v = pp.node.labels[topologyKey]!;
      sc.counts.set(v, (sc.counts.get(v) ?? 0) + 1);
    }
    this.spreadCounters.set(key, sc);
    pushTo(this.spreadCountersByNs, namespace, sc);
    return sc;
  }

  private addEligible(sc: SpreadCounter, node: NodeState): boolean {
    const v = node.labels[sc.topologyKey];
    if (v === undefined || !sc.eligible(node)) return false;
    sc.eligibleNodes.add(node);
    sc.domainNodes.set(v, (sc.domainNodes.get(v) ?? 0) + 1);
    // A node restored with its pods on it brings them back into the counts.
    for (const pp of node.pods) if (sc.matches(pp.pod)) sc.counts.set(v, (sc.counts.get(v) ?? 0) + 1);
    return true;
  }
}

/**
 * The scheduling simulation's data: nodes, pods, node templates and the reasons a predicate
 * fails, as plain values (no Kubernetes client types: packages/kube projects API objects into
 * these). Pure.
 *
 * Resource quantities are numbers in the scheduler's base units: `cpu` in millicores,
 * `memory` and `ephemeral-storage` in bytes, `pods` as a count, extended resources
 * (`nvidia.com/gpu`, ...) as counts. A resource a node does not list is 0 there.
 */

/** Resource name -> quantity (see the units above). */
export type ResourceList = Readonly<Record<string, number>>;

/** Well-known node labels the simulation reads and gives to template nodes. */
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
/** The label that names a node's pool (packages/kube's POOL_LABEL has the same value). */
export const POOL_LABEL = 'scalewise.io/pool';

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect | string;
}

export interface Toleration {
  /** Empty or absent with operator Exists: tolerates every taint. */
  key?: string;
  /** @default 'Equal' */
  operator?: 'Exists' | 'Equal' | string;
  value?: string;
  /** Empty or absent: every effect. */
  effect?: string;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt' | string;
  values?: readonly string[];
}

/** One term of requiredDuringSchedulingIgnoredDuringExecution: its requirements are ANDed. */
export interface NodeSelectorTerm {
  matchExpressions?: readonly NodeSelectorRequirement[];
  /** Only `metadata.name` is a field selectors may name. */
  matchFields?: readonly NodeSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | string;
  values?: readonly string[];
}

/** A metav1.LabelSelector. An empty selector matches every object; an absent one none. */
export interface LabelSelector {
  matchLabels?: Readonly<Record<string, string>>;
  matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  /** Absent or empty (and no namespaceSelector): the pod's own namespace. */
  namespaces?: readonly string[];
  /**
   * Namespaces by their labels. The simulation has no namespace labels: an empty selector
   * ({}) means every namespace; any other selector is not simulated and matches none of the
   * other namespaces (documented in the README of this package).
   */
  namespaceSelector?: LabelSelector;
  topologyKey: string;
}

export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  /** Only DoNotSchedule constrains placement; ScheduleAnyway is a preference and ignored. */
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway' | string;
  labelSelector?: LabelSelector;
  minDomains?: number;
  /** @default 'Honor' */
  nodeAffinityPolicy?: 'Honor' | 'Ignore' | string;
  /** @default 'Ignore' */
  nodeTaintsPolicy?: 'Honor' | 'Ignore' | string;
}

export interface HostPort {
  port: number;
  /** @default 'TCP' */
  protocol?: string;
  /** Absent or 0.0.0.0: every address of the node. */
  hostIP?: string;
}

/**
 * Where a pod may go, as its spec says it: what the simulation checks a node against, and what
 * packages/kube keeps of a pod for it.
 */
export interface PodPlacement {
  nodeSelector?: Readonly<Record<string, string>>;
  /** Required node affinity: its nodeSelectorTerms (ORed). */
  nodeAffinity?: readonly NodeSelectorTerm[];
  /** The pod's tolerations (tolerationSeconds left out: the scheduler does not read it). */
  tolerations?: readonly Toleration[];
  /** Required inter-pod affinity terms (ANDed). */
  podAffinity?: readonly PodAffinityTerm[];
  /** Required inter-pod anti-affinity terms (ANDed). */
  podAntiAffinity?: readonly PodAffinityTerm[];
  /** Topology spread constraints with whenUnsatisfiable DoNotSchedule (the others do not constrain). */
  topologySpread?: readonly TopologySpreadConstraint[];
  /** The containers' ports that have a hostPort. */
  hostPorts?: readonly HostPort[];
}

/** A pod as the simulation sees it. */
export interface SimPod extends PodPlacement {
  /** `namespace/name`: unique in a simulation. */
  key: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** Requests as the scheduler counts them; `pods: 1` is implied and need not be given. */
  requests: ResourceList;
  /** The controller behind the pod, `Kind/name`, for explanations. */
  owner?: string;
  /** A DaemonSet's or a mirror (static) pod: stays with its node, never moved by a removal. */
  daemon?: boolean;
}

/** A pod bound to a node. */
export interface BoundPod extends SimPod {
  nodeName: string;
}

export interface SimNode {
  name: string;
  labels: Readonly<Record<string, string>>;
  taints: readonly Taint[];
  allocatable: ResourceList;
  /** Cordoned: no new pod is placed here. */
  unschedulable?: boolean;
  /** The node's pool, when it belongs to one (its POOL_LABEL). */
  pool?: string;
  /** Created but not Ready yet (a node in flight): capacity the pending pods may count on. */
  inFlight?: boolean;
}

/**
 * What a new node of a pool will look like: the nodes the pool's provider creates carry
 * exactly these labels, taints and allocatable (node-manager makes them from the same config).
 */
export interface NodeTemplate {
  pool: string;
  /** Every label a new node gets except the hostname (unique per node) and the zone. */
  labels: Readonly<Record<string, string>>;
  taints: readonly Taint[];
  allocatable: ResourceList;
  /**
   * The zones new nodes may go to (ZONE_LABEL): the one with the fewest nodes of the pool first
   * (the first listed among equals), else the next where the pod fits; empty: no zone label.
   */
  zones: readonly string[];
  /** How many nodes the pool may still add (its max less its current and in-flight size). */
  maxNew: number;
  /** For the `priority` expander: the higher is chosen first. @default 0 */
  priority?: number;
}

/** A PodDisruptionBudget as the simulation counts it. */
export interface SimPdb {
  /** `namespace/name`. */
  key: string;
  namespace: string;
  selector: LabelSelector;
  /** status.disruptionsAllowed at the time of the snapshot. */
  disruptionsAllowed: number;
}

/** The predicate families, one file each. */
export type Predicate =
  | 'resources'
  | 'node_unschedulable'
  | 'node_selector'
  | 'node_affinity'
  | 'taints'
  | 'pod_affinity'
  | 'pod_anti_affinity'
  | 'topology_spread'
  | 'host_ports';

/**
 * What keeps a pod from a node or a node from going: a predicate, or one of the rules of
 * scale-up (`pool_max`: the pool that could host it is at its max) and removal (`pdb`: a
 * PodDisruptionBudget allows no more disruptions; `not_evictable`: the pod may not be evicted
 * at all, e.g. safe-to-evict "false", local storage, no controller; `headroom`: the pool would
 * be under pressure without the node).
 */
export type Constraint = Predicate | 'pool_max' | 'pdb' | 'not_evictable' | 'headroom';

/** Why a pod cannot go to a node (or to any node of a template), or why a node cannot go. */
export interface Reason {
  predicate: Constraint;
  /** A sentence a person reads, e.g. "node affinity: no node has disktype=ssd". */
  message: string;
}

export type Expander = 'least_waste' | 'priority';

/** The cluster the simulation starts from. */
export interface Snapshot {
  nodes: readonly SimNode[];
  /** Pods bound to the nodes (finished pods left out by the caller). */
  pods: readonly BoundPod[];
  pdbs?: readonly SimPdb[];
}

export interface ScaleUpInput {
  snapshot: Snapshot;
  /** Pods waiting for a node, in the order they should be considered (the plan sorts them itself). */
  pending: readonly SimPod[];
  templates: readonly NodeTemplate[];
  /** @default 'least_waste' */
  expander?: Expander;
}

/** A new node the plan buys. */
export interface NewNode {
  /** A placeholder hostname (`<pool>/new-<i>`): the real name is the provider's. */
  name: string;
  zone?: string;
  /** Keys of the pods placed on it. */
  pods: string[];
  /** What those pods request of it. */
  used: ResourceList;
}

export interface PoolPlan {
  pool: string;
  /** New nodes of the pool's template the pending pods need. */
  newNodes: NewNode[];
  /** Keys of the pods placed on the new nodes, in placement order. */
  pods: string[];
  /** Unrequested share of the new nodes' CPU and memory (0..1 each): the least_waste expander's score. */
  waste: { cpu: number; memory: number };
}

export interface Unplaceable {
  pod: string;
  owner?: string;
  /** Why no existing node took it: the most common reason over the nodes, with how many nodes it ruled out. */
  existing: { reason: Reason; nodes: number }[];
  /** Why each pool's template cannot take it (one reason per pool). */
  pools: { pool: string; reason: Reason }[];
}

export interface ScaleUpPlan {
  /** Pods that fit on an existing node or a node in flight: nothing is bought for them. */
  onExisting: { pod: string; node: string; inFlight: boolean }[];
  /** One entry per pool that needs new nodes (pools that need none are absent). */
  pools: PoolPlan[];
  /** Pods no existing node and no template can host: they grow nothing. */
  unplaceable: Unplaceable[];
}

export interface RemovalInput {
  snapshot: Snapshot;
  /** Nodes to try to remove, in order of preference; each removal counts for the next. */
  candidates: readonly string[];
  /** Why a pod may not be evicted at all (the caller's rules); undefined when it may. */
  blocker?: (pod: BoundPod) => string | undefined;
  /** Stop once this many nodes are found removable. @default Infinity */
  maxRemovals?: number;
  /** Per pool: at most this many of its nodes are found removable (its size less its min). */
  maxRemovalsByPool?: Readonly<Record<string, number>>;
  /**
   * Per pool: the requested share (0..1) of CPU and memory its remaining nodes may reach once
   * a node is gone (the pressure thresholds), so a removal never brings the pressure back that
   * a scale-up relieved.
   */
  headroom?: Readonly<Record<string, { cpu: number; memory: number }>>;
}

export interface RemovalPlan {
  /** Removable nodes in order, with where each of their pods goes. */
  removable: { node: string; moves: { pod: string; to: string }[] }[];
  /** Candidates that must stay, each with the first pod and constraint that keeps it. */
  blocked: { node: string; pod?: string; reason: Reason }[];
}

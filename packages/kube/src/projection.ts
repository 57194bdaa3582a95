/**
 * Compact projections of Nodes and Pods: only what the autoscaler reads, so that a watch cache
 * of a 5,000-node / 150,000-pod cluster holds a few hundred bytes per object instead of the
 * whole API object (managed fields, container specs, status histories). Pure.
 *
 * They take objects as the API server's JSON carries them (types.ts: timestamps as RFC 3339
 * strings); {@link toMillis} still reads a Date too, for objects of client-node's typed models.
 */
import type {
  HostPort,
  LabelSelector,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  PodAffinityTerm,
  PodPlacement,
  ResourceList,
  Toleration,
  TopologySpreadConstraint,
} from '@scalewise/scheduling';
import { cpuMillicores, memoryBytes } from './quantity.ts';
import { podExtraRequests, podRequests, type Resources } from './resources.ts';
import type {
  V1LabelSelector,
  V1Node,
  V1NodeSelectorTerm,
  V1Pod,
  V1PodAffinityTerm,
  V1PodDisruptionBudget,
  V1PodSpec,
} from './types.ts';

/** A condition of a node: its status and since when it has held. */
export interface ConditionInfo {
  status: 'True' | 'False' | 'Unknown';
  /** Epoch ms of lastTransitionTime (0 when the API did not say). */
  since: number;
  reason?: string;
}

/** The node conditions the autoscaler reads. */
export const NODE_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;
export type NodeConditionType = (typeof NODE_CONDITIONS)[number];

export interface TaintInfo {
  key: string;
  value?: string;
  effect: string;
}

export interface NodeInfo {
  name: string;
  uid: string;
  resourceVersion: string;
  labels: Readonly<Record<string, string>>;
  /** Only the annotations {@link keepAnnotation} keeps. */
  annotations: Readonly<Record<string, string>>;
  taints: readonly TaintInfo[];
  unschedulable: boolean;
  providerID?: string;
  allocatable: NodeAllocatable;
  conditions: Partial<Record<NodeConditionType, ConditionInfo>>;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms, while the node is being deleted. */
  deletedAt?: number;
}

/** What a node offers to pods. The optional parts are absent when the node has none. */
export interface NodeAllocatable extends Resources {
  pods: number;
  /** `ephemeral-storage`, in bytes. */
  ephemeralStorageBytes?: number;
  /**
   * Extended resources (`nvidia.com/gpu`, ...) as counts: every allocatable key but cpu,
   * memory, pods, ephemeral-storage and `hugepages-*`.
   */
  extended?: Readonly<Record<string, number>>;
}

export interface OwnerInfo {
  kind: string;
  name: string;
  controller: boolean;
}

/** A pod as the caches hold it; its nodeSelector also says which pool a pending pod waits for. */
export interface PodInfo extends PodPlacement {
  namespace: string;
  name: string;
  /**
   * `namespace/name` ({@link podKey}), made once: the watch cache's key and the simulation's
   * pod key are this one string (150,000 pods, one copy each).
   */
  key: string;
  resourceVersion: string;
  nodeName?: string;
  /** Pending, Running, Succeeded, Failed or Unknown. */
  phase: string;
  /** Epoch ms since which the scheduler has reported PodScheduled=False, reason Unschedulable. */
  unschedulableSince?: number;
  /** Requests as the scheduler counts them ({@link podRequests}). */
  requests: Resources;
  /**
   * Requests beyond cpu and memory as the scheduler counts them ({@link podExtraRequests}):
   * `ephemeral-storage` in bytes, extended resources as counts.
   */
  extraRequests?: ResourceList;
  owners: readonly OwnerInfo[];
  labels: Readonly<Record<string, string>>;
  /** Only the annotations {@link keepAnnotation} keeps. */
  annotations: Readonly<Record<string, string>>;
  /** Names of the pod's emptyDir and hostPath volumes: data that dies with the node. */
  localStorage: readonly string[];
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms, while the pod is terminating. */
  deletedAt?: number;
}

/** A PodDisruptionBudget: which pods it guards and how many of them may go now. */
export interface PdbInfo {
  namespace: string;
  name: string;
  resourceVersion: string;
  /** Absent: the budget selects no pod (policy/v1); empty ({}): every pod of its namespace. */
  selector?: LabelSelector;
  /** status.disruptionsAllowed (0 until the disruption controller has counted). */
  disruptionsAllowed: number;
}

/** The annotation of a static pod's mirror. */
export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
export const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';

const keptPrefixes = ['scalewise.io/', 'cluster-autoscaler.kubernetes.io/', 'kwok.x-k8s.io/'];

/**
 * Whether a projection keeps an annotation: ours (`scalewise.io/`), the Cluster Autoscaler's
 * (`cluster-autoscaler.kubernetes.io/`, e.g. safe-to-evict, scale-down-disabled), KWOK's, and
 * the mirror-pod marker. Everything else (kubectl's last-applied-configuration above all) is
 * dropped.
 */
export function keepAnnotation(key: string): boolean {
  return key === MIRROR_ANNOTATION || keptPrefixes.some((p) => key.startsWith(p));
}

/** Epoch ms of a timestamp as a Date or an RFC 3339 string; 0 when absent or unreadable. */
export function toMillis(t: Date | string | undefined | null): number {
  if (t === undefined || t === null) return 0;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(ms) ? ms : 0;
}

// Shared empty values: most pods have no kept annotation, no local storage.
const EMPTY_RECORD: Readonly<Record<string, string>> = Object.freeze({});
const EMPTY_LIST: readonly never[] = Object.freeze([]);

/**
 * The one copy of a string that many objects repeat (namespaces, node names, owners, label
 * keys and values): each parsed API object brings its own copies. Bounded: the table is
 * emptied when it grows past 50,000 entries, so churning values cannot grow it for ever.
 */
const interned = new Map<string, string>();
export function intern(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size >= 50_000) interned.clear();
  interned.set(s, s);
  return s;
}

/**
 * The one frozen copy of a value many objects repeat (the tolerations every pod gets from
 * admission, a workload's affinity and spread constraints, a pool's extended resources):
 * pods of one template share one copy instead of each holding its own. Values are compared
 * by their JSON, so they must be built with their keys in a fixed order. Bounded like
 * {@link intern}.
 */
const sharedValues = new Map<string, unknown>();
function share<T>(value: T): T {
  const json = JSON.stringify(value);
  const hit = sharedValues.get(json);
  if (hit !== undefined) return hit as T;
  if (sharedValues.size >= 10_000) sharedValues.clear();
  sharedValues.set(json, deepFreeze(value));
  return value;
}
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const strings = (values: string[] | undefined) => (values ? values.map(intern) : undefined);

function selectorOf(s: V1LabelSelector | undefined): LabelSelector | undefined {
  if (!s) return undefined;
  const out: { -readonly [K in keyof LabelSelector]: LabelSelector[K] } = {};
  if (s.matchLabels && Object.keys(s.matchLabels).length > 0) out.matchLabels = labelsOf(s.matchLabels);
  if (s.matchExpressions?.length)
    out.matchExpressions = s.matchExpressions.map((e) => ({
      key: intern(e.key),
      operator: intern(e.operator),
      ...(e.values ? { values: strings(e.values) } : {}),
    }));
  return out;
}

function requirementsOf(list: NodeSelectorRequirement[] | undefined) {
  return list?.length
    ? list.map((e) => ({
        key: intern(e.key),
        operator: intern(e.operator),
        ...(e.values ? { values: strings(e.values as string[]) } : {}),
      }))
    : undefined;
}

function nodeTermOf(t: V1NodeSelectorTerm): NodeSelectorTerm {
  const expressions = requirementsOf(t.matchExpressions);
  const fields = requirementsOf(t.matchFields);
  return {
    ...(expressions ? { matchExpressions: expressions } : {}),
    ...(fields ? { matchFields: fields } : {}),
  };
}

function podTermOf(t: V1PodAffinityTerm): PodAffinityTerm {
  const selector = selectorOf(t.labelSelector);
  const namespaceSelector = selectorOf(t.namespaceSelector);
  return {
    ...(selector ? { labelSelector: selector } : {}),
    ...(t.namespaces?.length ? { namespaces: strings(t.namespaces) } : {}),
    ...(namespaceSelector ? { namespaceSelector } : {}),
    topologyKey: intern(t.topologyKey),
  };
}

function podTermsOf(terms: V1PodAffinityTerm[] | undefined): readonly PodAffinityTerm[] | undefined {
  return terms?.length ? share(terms.map(podTermOf)) : undefined;
}

function tolerationsOf(spec: V1PodSpec): readonly Toleration[] | undefined {
  if (!spec.tolerations?.length) return undefined;
  return share(
    spec.tolerations.map((t) => ({
      ...(t.key !== undefined ? { key: intern(t.key) } : {}),
      ...(t.operator !== undefined ? { operator: intern(t.operator) } : {}),
      ...(t.value !== undefined ? { value: intern(t.value) } : {}),
      ...(t.effect !== undefined ? { effect: intern(t.effect) } : {}),
    })),
  );
}

function nodeAffinityOf(spec: V1PodSpec): readonly NodeSelectorTerm[] | undefined {
  const terms =
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return terms?.length ? share(terms.map(nodeTermOf)) : undefined;
}

function topologySpreadOf(spec: V1PodSpec): readonly TopologySpreadConstraint[] | undefined {
  const hard = spec.topologySpreadConstraints?.filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
  if (!hard?.length) return undefined;
  return share(
    hard.map((c) => {
      const selector = selectorOf(c.labelSelector);
      return {
        maxSkew: c.maxSkew,
        topologyKey: intern(c.topologyKey),
        whenUnsatisfiable: 'DoNotSchedule',
        ...(selector ? { labelSelector: selector } : {}),
        ...(c.minDomains !== undefined ? { minDomains: c.minDomains } : {}),
        ...(c.nodeAffinityPolicy ? { nodeAffinityPolicy: intern(c.nodeAffinityPolicy) } : {}),
        ...(c.nodeTaintsPolicy ? { nodeTaintsPolicy: intern(c.nodeTaintsPolicy) } : {}),
      };
    }),
  );
}

function hostPortsOf(spec: V1PodSpec): readonly HostPort[] | undefined {
  const ports = spec.containers?.flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => p.hostPort !== undefined && p.hostPort > 0)
      .map((p) => ({
        port: p.hostPort as number,
        ...(p.protocol ? { protocol: intern(p.protocol) } : {}),
        ...(p.hostIP ? { hostIP: intern(p.hostIP) } : {}),
      })),
  );
  return ports?.length ? share(ports) : undefined;
}

/** The scheduling constraints a pod has; absent fields for those it has not. */
function schedulingOf(spec: V1PodSpec | undefined): Partial<PodInfo> {
  if (!spec) return {};
  const out: Partial<PodInfo> = {};
  const tolerations = tolerationsOf(spec);
  if (tolerations) out.tolerations = tolerations;
  const nodeAffinity = nodeAffinityOf(spec);
  if (nodeAffinity) out.nodeAffinity = nodeAffinity;
  const podAffinity = podTermsOf(spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
  if (podAffinity) out.podAffinity = podAffinity;
  const podAntiAffinity = podTermsOf(
    spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
  );
  if (podAntiAffinity) out.podAntiAffinity = podAntiAffinity;
  const topologySpread = topologySpreadOf(spec);
  if (topologySpread) out.topologySpread = topologySpread;
  const hostPorts = hostPortsOf(spec);
  if (hostPorts) out.hostPorts = hostPorts;
  return out;
}

const notExtended = (k: string): boolean =>
  k === 'cpu' || k === 'memory' || k === 'pods' || k === 'ephemeral-storage' || k.startsWith('hugepages-');

function allocatableOf(a: Record<string, string>): NodeAllocatable {
  const out: NodeAllocatable = {
    cpuMillicores: cpuMillicores(a.cpu),
    memoryBytes: memoryBytes(a.memory),
    pods: memoryBytes(a.pods),
  };
  if (a['ephemeral-storage'] !== undefined) out.ephemeralStorageBytes = memoryBytes(a['ephemeral-storage']);
  let extended: Record<string, number> | undefined;
  for (const k of Object.keys(a).sort()) {
    if (notExtended(k)) continue;
    extended ??= {};
    extended[intern(k)] = memoryBytes(a[k]);
  }
  if (extended) out.extended = share(extended);
  return out;
}

function annotationsOf(a: Record<string, string> | undefined): Readonly<Record<string, string>> {
  let out: Record<string, string> | undefined;
  if (a)
    for (const k of Object.keys(a)) {
      if (!keepAnnotation(k)) continue;
      out ??= {};
      out[intern(k)] = intern(a[k] as string);
    }
  return out ?? EMPTY_RECORD;
}

function labelsOf(l: Record<string, string> | undefined): Readonly<Record<string, string>> {
  if (!l) return EMPTY_RECORD;
  const out: Record<string, string> = {};
  for (const k of Object.keys(l)) out[intern(k)] = intern(l[k] as string);
  return out;
}

const asStatus = (s: string | undefined): ConditionInfo['status'] =>
  s === 'True' || s === 'False' ? s : 'Unknown';

export function projectNode(node: V1Node): NodeInfo {
  const m = node.metadata ?? {};
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  const conditions: NodeInfo['conditions'] = {};
  for (const c of node.status?.conditions ?? []) {
    if ((NODE_CONDITIONS as readonly string[]).includes(c.type)) {
      conditions[c.type as NodeConditionType] = {
        status: asStatus(c.status),
        since: toMillis(c.lastTransitionTime),
        ...(c.reason ? { reason: c.reason } : {}),
      };
    }
  }
  const info: NodeInfo = {
    name: m.name ?? '',
    uid: m.uid ?? '',
    resourceVersion: m.resourceVersion ?? '',
    labels: labelsOf(m.labels),
    annotations: annotationsOf(m.annotations),
    taints: (node.spec?.taints ?? []).map((t) => ({
      key: t.key,
      ...(t.value !== undefined ? { value: t.value } : {}),
      effect: t.effect,
    })),
    unschedulable: node.spec?.unschedulable === true,
    allocatable: allocatableOf(a),
    conditions,
    createdAt: toMillis(m.creationTimestamp),
  };
  if (node.spec?.providerID) info.providerID = node.spec.providerID;
  if (m.deletionTimestamp) info.deletedAt = toMillis(m.deletionTimestamp);
  return info;
}

function localStorageOf(pod: V1Pod): readonly string[] {
  const local = pod.spec?.volumes?.filter((v) => v.emptyDir || v.hostPath);
  return local?.length ? local.map((v) => v.name) : EMPTY_LIST;
}

export function projectPod(pod: V1Pod): PodInfo {
  const m = pod.metadata ?? {};
  const namespace = intern(m.namespace ?? '');
  const name = m.name ?? '';
  const info: PodInfo = {
    namespace,
    name,
    key: `${namespace}/${name}`,
    resourceVersion: m.resourceVersion ?? '',
    phase: intern(pod.status?.phase ?? 'Unknown'),
    requests: podRequests(pod),
    owners: m.ownerReferences?.length
      ? m.ownerReferences.map((r) => ({
          kind: intern(r.kind),
          name: intern(r.name),
          controller: r.controller === true,
        }))
      : EMPTY_LIST,
    labels: labelsOf(m.labels),
    annotations: annotationsOf(m.annotations),
    localStorage: localStorageOf(pod),
    createdAt: toMillis(m.creationTimestamp),
    ...schedulingOf(pod.spec),
  };
  const extra = podExtraRequests(pod);
  if (extra) info.extraRequests = share(extra);
  if (pod.spec?.nodeName) info.nodeName = intern(pod.spec.nodeName);
  if (pod.spec?.nodeSelector && Object.keys(pod.spec.nodeSelector).length > 0)
    info.nodeSelector = labelsOf(pod.spec.nodeSelector);
  if (m.deletionTimestamp) info.deletedAt = toMillis(m.deletionTimestamp);
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (
    !pod.spec?.nodeName &&
    info.phase === 'Pending' &&
    scheduled?.status === 'False' &&
    scheduled.reason === 'Unschedulable'
  ) {
    info.unschedulableSince = toMillis(scheduled.lastTransitionTime) || info.createdAt;
  }
  return info;
}

/** The projection of a PodDisruptionBudget. Pure. */
export function projectPdb(pdb: V1PodDisruptionBudget): PdbInfo {
  const m = pdb.metadata ?? {};
  const selector = pdb.spec?.selector ? (selectorOf(pdb.spec.selector) ?? {}) : undefined;
  return {
    namespace: intern(m.namespace ?? ''),
    name: m.name ?? '',
    resourceVersion: m.resourceVersion ?? '',
    ...(selector ? { selector } : {}),
    disruptionsAllowed: Math.max(0, pdb.status?.disruptionsAllowed ?? 0),
  };
}

/** The cache key of a pod: `namespace/name`. */
export const podKey = (p: { namespace: string; name: string }): string => `${p.namespace}/${p.name}`;

/** A NodeInfo as it is, a V1Node projected. */
export const asNodeInfo = (n: NodeInfo | V1Node): NodeInfo =>
  'uid' in n && 'allocatable' in n ? n : projectNode(n as V1Node);
/** A PodInfo as it is, a V1Pod projected. */
export const asPodInfo = (p: PodInfo | V1Pod): PodInfo =>
  'key' in p && 'requests' in p ? p : projectPod(p as V1Pod);

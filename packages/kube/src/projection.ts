/**
 * Compact projections of Nodes and Pods: only what the autoscaler reads, so that a watch cache
 * of a 5,000-node / 150,000-pod cluster holds a few hundred bytes per object instead of the
 * whole API object (managed fields, container specs, status histories). Pure.
 *
 * They accept objects as the typed client returns them (timestamps as Date) and as a watch
 * stream carries them (timestamps as RFC 3339 strings).
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { cpuMillicores, memoryBytes } from './quantity.ts';
import { podRequests, type Resources } from './resources.ts';

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
  allocatable: Resources & { pods: number };
  conditions: Partial<Record<NodeConditionType, ConditionInfo>>;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms, while the node is being deleted. */
  deletedAt?: number;
}

export interface OwnerInfo {
  kind: string;
  name: string;
  controller: boolean;
}

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  nodeName?: string;
  /** Pending, Running, Succeeded, Failed or Unknown. */
  phase: string;
  /** Epoch ms since which the scheduler has reported PodScheduled=False, reason Unschedulable. */
  unschedulableSince?: number;
  /** Requests as the scheduler counts them ({@link podRequests}). */
  requests: Resources;
  owners: readonly OwnerInfo[];
  labels: Readonly<Record<string, string>>;
  /** Only the annotations {@link keepAnnotation} keeps. */
  annotations: Readonly<Record<string, string>>;
  /** The pod's nodeSelector, when it has one (which pool a pending pod waits for). */
  nodeSelector?: Readonly<Record<string, string>>;
  /** Names of the pod's emptyDir and hostPath volumes: data that dies with the node. */
  localStorage: readonly string[];
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms, while the pod is terminating. */
  deletedAt?: number;
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
function intern(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size >= 50_000) interned.clear();
  interned.set(s, s);
  return s;
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
        since: toMillis(c.lastTransitionTime as Date | string | undefined),
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
    allocatable: {
      cpuMillicores: cpuMillicores(a.cpu),
      memoryBytes: memoryBytes(a.memory),
      pods: memoryBytes(a.pods),
    },
    conditions,
    createdAt: toMillis(m.creationTimestamp as Date | string | undefined),
  };
  if (node.spec?.providerID) info.providerID = node.spec.providerID;
  if (m.deletionTimestamp) info.deletedAt = toMillis(m.deletionTimestamp as Date | string);
  return info;
}

function localStorageOf(pod: V1Pod): readonly string[] {
  const local = pod.spec?.volumes?.filter((v) => v.emptyDir || v.hostPath);
  return local?.length ? local.map((v) => v.name) : EMPTY_LIST;
}

export function projectPod(pod: V1Pod): PodInfo {
  const m = pod.metadata ?? {};
  const info: PodInfo = {
    namespace: intern(m.namespace ?? ''),
    name: m.name ?? '',
    uid: m.uid ?? '',
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
    createdAt: toMillis(m.creationTimestamp as Date | string | undefined),
  };
  if (pod.spec?.nodeName) info.nodeName = intern(pod.spec.nodeName);
  if (pod.spec?.nodeSelector && Object.keys(pod.spec.nodeSelector).length > 0)
    info.nodeSelector = labelsOf(pod.spec.nodeSelector);
  if (m.deletionTimestamp) info.deletedAt = toMillis(m.deletionTimestamp as Date | string);
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (
    !pod.spec?.nodeName &&
    info.phase === 'Pending' &&
    scheduled?.status === 'False' &&
    scheduled.reason === 'Unschedulable'
  ) {
    info.unschedulableSince =
      toMillis(scheduled.lastTransitionTime as Date | string | undefined) || info.createdAt;
  }
  return info;
}

/** The cache key of a pod: `namespace/name`. */
export const podKey = (p: { namespace: string; name: string }): string => `${p.namespace}/${p.name}`;

/** A NodeInfo as it is, a V1Node projected. */
export const asNodeInfo = (n: NodeInfo | V1Node): NodeInfo =>
  'uid' in n && 'allocatable' in n ? n : projectNode(n as V1Node);
/** A PodInfo as it is, a V1Pod projected. */
export const asPodInfo = (p: PodInfo | V1Pod): PodInfo =>
  'uid' in p && 'requests' in p ? p : projectPod(p as V1Pod);

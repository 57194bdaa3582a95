/**
 * The Kubernetes view of a `pods` pool, pure: its workers are Pods (node-manager's pods
 * provider labels them `scalewise.io/worker-kind=pod` and `scalewise.io/pool=<pool>`), not
 * Nodes. Mapping onto the three views and the seed's fields:
 * - Kubernetes (`k8s_nodes`): the pool's worker pods that are neither finished (Succeeded,
 *   Failed) nor terminating; Ready = Running with condition Ready=True, NotReady since the
 *   Ready condition's last transition (or the pod's creation while it starts);
 * - provider (`docker_containers`, the seed's provider instances): the pods provider's
 *   `list()` of the pool, its live instances (the same definition, read from the API);
 * - store (`db_workers`): the workers the store held.
 *
 * A worker pod that finished its task is not lost: node-manager reports it (NodeRemoved,
 * reason completed, with the scale-up that made it) and deletes it. It is "completed" when it
 * was seen finished before any deletion; a pod deleted while it ran is lost, even if it turns
 * Failed while terminating.
 */
import type { KubeNode } from './reconcile.ts';

/** What state-sync keeps of a worker pod. */
export interface WorkerPodView {
  namespace: string;
  name: string;
  /** The watch cache needs it. */
  resourceVersion: string;
  pool: string;
  /** The scale-up that made it (node-manager's action-id annotation), when it says. */
  actionId?: string;
  /** Pending, Running, Succeeded, Failed or Unknown. */
  phase: string;
  /** Running with condition Ready=True. */
  ready: boolean;
  /** Epoch ms of the Ready condition's last transition (0 when it has none). */
  readySince: number;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms, while terminating. */
  deletedAt?: number;
}

/** The fields of a Pod the projection reads (as the typed client or a watch gives them). */
export interface RawPod {
  metadata?: {
    namespace?: string;
    name?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: Date | string;
    deletionTimestamp?: Date | string;
  };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: Date | string }[];
  };
}

const millis = (t: Date | string | undefined | null): number => {
  if (t === undefined || t === null) return 0;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(ms) ? ms : 0;
};

/**
 * The compact view of a worker pod. Pure.
 * @param actionAnnotation the annotation naming the scale-up that made the pod
 */
export function projectWorkerPodView(
  pod: RawPod,
  poolLabel: string,
  actionAnnotation: string,
): WorkerPodView {
  const m = pod.metadata ?? {};
  const phase = pod.status?.phase ?? 'Unknown';
  const readyCondition = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready');
  const w: WorkerPodView = {
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    resourceVersion: m.resourceVersion ?? '',
    pool: m.labels?.[poolLabel] ?? '',
    phase,
    ready: phase === 'Running' && readyCondition?.status === 'True',
    readySince: millis(readyCondition?.lastTransitionTime),
    createdAt: millis(m.creationTimestamp),
  };
  const actionId = m.annotations?.[actionAnnotation];
  if (actionId) w.actionId = actionId;
  if (m.deletionTimestamp) w.deletedAt = millis(m.deletionTimestamp);
  return w;
}

export const isFinishedPod = (w: Pick<WorkerPodView, 'phase'>): boolean =>
  w.phase === 'Succeeded' || w.phase === 'Failed';

/** Finished while nobody was deleting it: the worker completed its task. */
export const completedPod = (w: WorkerPodView): boolean => isFinishedPod(w) && w.deletedAt === undefined;

/** The pool's workers as the Kubernetes view: live worker pods only. Pure. */
export function workerNodes(pods: Iterable<WorkerPodView>, pool: string): KubeNode[] {
  const out: KubeNode[] = [];
  for (const w of pods) {
    if (w.pool !== pool || w.deletedAt !== undefined || isFinishedPod(w)) continue;
    out.push({
      name: w.name,
      ready: w.ready,
      since: w.readySince || w.createdAt,
      createdAt: w.createdAt,
      ...(w.actionId !== undefined ? { action: w.actionId } : {}),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

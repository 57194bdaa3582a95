/**
 * The pure part of the `pods` provider (seed 004, Ottoscaler): the worker Pod's manifest, the
 * compact view node-manager keeps of a worker pod, and which workers a scale-down may delete.
 *
 * A worker pod is labelled `app.kubernetes.io/managed-by=scalewise` and `managed-by=scalewise`
 * (the seed's `kubectl get pods -l managed-by=...`), `scalewise.io/pool=<pool>`,
 * `scalewise.io/worker-kind=pod`, `scalewise.io/action=<tag of the decision id>` and, for a
 * task, `scalewise.io/task-id=<task id>`; the full decision id and task id are annotations
 * (label values are limited to 63 characters of a small alphabet), and the task id is the
 * container's `TASK_ID`.
 *
 * Idle, the scale-down rule: a worker pod may be deleted by a scale-down only when it is not
 * terminating, has not finished (finished pods are cleaned up on their own), carries no task
 * (a task worker is busy until it finishes), is not annotated `scalewise.io/busy: "true"` (a
 * long-running agent marks itself while it works) and is not annotated
 * `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`. Among the idle ones a pod that
 * has not started (Pending, or Running but not Ready) goes first, then the newest.
 */
import type { PodsOptions } from '@scalewise/config';
import {
  MANAGED_BY as MANAGED_BY_LABEL,
  POOL_LABEL,
  SAFE_TO_EVICT,
  toMillis,
  type V1Pod,
  type V1Toleration,
  WORKER_KIND_LABEL,
} from '@scalewise/kube';
import { tagOf } from './names.ts';

/** The seed's own label (`managed-by: ottoscaler` there), beside `app.kubernetes.io/managed-by`. */
export const SEED_MANAGED_BY_LABEL = 'managed-by';
export { WORKER_KIND_LABEL };
export const ACTION_LABEL = 'scalewise.io/action';
export const TASK_LABEL = 'scalewise.io/task-id';
export const ACTION_ID_ANNOTATION = 'scalewise.io/action-id';
export const TASK_ID_ANNOTATION = 'scalewise.io/task-id';
/** A worker that works marks itself so; a scale-down never deletes it. */
export const BUSY_ANNOTATION = 'scalewise.io/busy';

/** The label selector of every worker pod Scalewise manages. */
export const WORKER_POD_SELECTOR = `${MANAGED_BY_LABEL}=scalewise,${WORKER_KIND_LABEL}=pod`;

const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * A label value standing for `value`: itself when it is a valid label value, otherwise
 * `h-<hash>` (the annotation keeps the whole value).
 */
export function labelValueOf(value: string): string {
  return LABEL_VALUE.test(value) ? value : `h-${tagOf(value)}`;
}

export interface WorkerPodSpec {
  name: string;
  pool: string;
  actionId: string;
  taskId?: string | undefined;
  options: PodsOptions;
}

/**
 * The Pod of one worker. Options cannot override what node-manager sets (its labels, the
 * TASK_ID and SCALEWISE_* env; the schema refuses them too). Pure.
 */
export function workerPodManifest(spec: WorkerPodSpec): V1Pod {
  const o = spec.options;
  const env: { name: string; value: string }[] = Object.entries(o.env).map(([name, value]) => ({
    name,
    value,
  }));
  env.push(
    { name: 'SCALEWISE_POOL', value: spec.pool },
    { name: 'SCALEWISE_ACTION_ID', value: spec.actionId },
    { name: 'SCALEWISE_WORKER_NAME', value: spec.name },
  );
  if (spec.taskId !== undefined) env.push({ name: 'TASK_ID', value: spec.taskId });
  const resources = {
    ...(Object.keys(o.resources.requests).length > 0 ? { requests: { ...o.resources.requests } } : {}),
    ...(Object.keys(o.resources.limits).length > 0 ? { limits: { ...o.resources.limits } } : {}),
  };
  const tolerations: V1Toleration[] = o.tolerations.map((t) => ({
    ...(t.key !== undefined ? { key: t.key } : {}),
    ...(t.operator !== undefined ? { operator: t.operator } : {}),
    ...(t.value !== undefined ? { value: t.value } : {}),
    ...(t.effect !== undefined ? { effect: t.effect } : {}),
    ...(t.toleration_seconds !== undefined ? { tolerationSeconds: t.toleration_seconds } : {}),
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      namespace: o.namespace,
      labels: {
        ...o.labels,
        [MANAGED_BY_LABEL]: 'scalewise',
        [SEED_MANAGED_BY_LABEL]: 'scalewise',
        [POOL_LABEL]: spec.pool,
        [WORKER_KIND_LABEL]: 'pod',
        [ACTION_LABEL]: tagOf(spec.actionId),
        ...(spec.taskId !== undefined ? { [TASK_LABEL]: labelValueOf(spec.taskId) } : {}),
      },
      annotations: {
        ...o.annotations,
        [ACTION_ID_ANNOTATION]: spec.actionId,
        ...(spec.taskId !== undefined ? { [TASK_ID_ANNOTATION]: spec.taskId } : {}),
      },
    },
    spec: {
      restartPolicy: o.restart_policy,
      ...(o.service_account !== undefined ? { serviceAccountName: o.service_account } : {}),
      ...(Object.keys(o.node_selector).length > 0 ? { nodeSelector: { ...o.node_selector } } : {}),
      ...(tolerations.length > 0 ? { tolerations } : {}),
      ...(o.priority_class_name !== undefined ? { priorityClassName: o.priority_class_name } : {}),
      ...(o.active_deadline_seconds !== undefined
        ? { activeDeadlineSeconds: o.active_deadline_seconds }
        : {}),
      ...(o.termination_grace_period_seconds !== undefined
        ? { terminationGracePeriodSeconds: o.termination_grace_period_seconds }
        : {}),
      containers: [
        {
          name: o.container_name,
          image: o.image,
          ...(o.image_pull_policy !== undefined ? { imagePullPolicy: o.image_pull_policy } : {}),
          ...(o.command !== undefined ? { command: [...o.command] } : {}),
          ...(o.args !== undefined ? { args: [...o.args] } : {}),
          env,
          ...(Object.keys(resources).length > 0 ? { resources } : {}),
        },
      ],
    },
  };
}

/** What node-manager keeps of a worker pod (its watch cache holds these). */
export interface WorkerPod {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  pool: string;
  /** Pending, Running, Succeeded, Failed or Unknown. */
  phase: string;
  /** Running with condition Ready=True. */
  ready: boolean;
  /** The decision that created it (annotation), when known. */
  actionId?: string;
  taskId?: string;
  /** Annotated `scalewise.io/busy: "true"`. */
  markedBusy: boolean;
  /** Annotated `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`. */
  notEvictable: boolean;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms the last container finished (0 when not known). */
  finishedAt: number;
  /** Epoch ms, while terminating. */
  deletedAt?: number;
}

/** The compact view of a pod as the API sends it (timestamps as RFC 3339 strings). Pure. */
export function projectWorkerPod(pod: V1Pod): WorkerPod {
  const m = pod.metadata ?? {};
  const labels = m.labels ?? {};
  const annotations = m.annotations ?? {};
  const phase = pod.status?.phase ?? 'Unknown';
  const ready =
    phase === 'Running' &&
    (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  let finishedAt = 0;
  for (const s of pod.status?.containerStatuses ?? []) {
    finishedAt = Math.max(finishedAt, toMillis(s.state?.terminated?.finishedAt));
  }
  const taskId = annotations[TASK_ID_ANNOTATION] ?? labels[TASK_LABEL];
  const actionId = annotations[ACTION_ID_ANNOTATION];
  const w: WorkerPod = {
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    uid: m.uid ?? '',
    resourceVersion: m.resourceVersion ?? '',
    pool: labels[POOL_LABEL] ?? '',
    phase,
    ready,
    markedBusy: annotations[BUSY_ANNOTATION] === 'true',
    notEvictable: annotations[SAFE_TO_EVICT] === 'false',
    createdAt: toMillis(m.creationTimestamp),
    finishedAt,
  };
  if (taskId !== undefined) w.taskId = taskId;
  if (actionId !== undefined) w.actionId = actionId;
  if (m.deletionTimestamp) w.deletedAt = toMillis(m.deletionTimestamp);
  return w;
}

export const isFinished = (w: WorkerPod): boolean => w.phase === 'Succeeded' || w.phase === 'Failed';

/** Why a scale-down may not delete this worker, or undefined when it is idle. Pure. */
export function busyReason(w: WorkerPod): string | undefined {
  if (w.deletedAt !== undefined) return 'already terminating';
  if (isFinished(w)) return `already finished (${w.phase}); cleaned up on its own`;
  if (w.taskId !== undefined) return `runs task ${w.taskId}`;
  if (w.markedBusy) return `annotated ${BUSY_ANNOTATION}: "true"`;
  if (w.notEvictable) return `annotated ${SAFE_TO_EVICT}: "false"`;
  return undefined;
}

export interface IdleChoice {
  /** Worker names, in the order they go. */
  victims: string[];
  /** The workers not taken, and why. */
  refused: { worker: string; why: string }[];
}

/**
 * Up to `count` idle workers of a pool to delete: not started ones first (they do nothing
 * yet), then the newest (the longest-running keep their warm state); never a busy one. Pure.
 */
export function chooseIdleWorkers(workers: readonly WorkerPod[], count: number): IdleChoice {
  const refused: IdleChoice['refused'] = [];
  const idle: WorkerPod[] = [];
  for (const w of workers) {
    const why = busyReason(w);
    if (why) refused.push({ worker: w.name, why });
    else idle.push(w);
  }
  idle.sort(
    (a, b) => Number(a.ready) - Number(b.ready) || b.createdAt - a.createdAt || a.name.localeCompare(b.name),
  );
  return { victims: idle.slice(0, Math.max(0, count)).map((w) => w.name), refused };
}

/**
 * When a finished worker pod is to be deleted (epoch ms), per the pool's cleanup policy;
 * undefined while it has not finished. Pure.
 */
export function cleanupAt(w: WorkerPod, cleanup: PodsOptions['cleanup']): number | undefined {
  if (!isFinished(w)) return undefined;
  const after = w.phase === 'Succeeded' ? cleanup.succeeded_after_seconds : cleanup.failed_after_seconds;
  // A pod whose containers never reported a finish time (evicted, deadline exceeded) counts from its creation.
  return (w.finishedAt || w.createdAt) + after * 1000;
}

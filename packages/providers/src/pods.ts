/**
 * The `pods` provider (seed 004, Ottoscaler): each worker of a pool is a Pod, created on
 * demand, watched to completion with a Kubernetes watch (packages/kube's watch cache: list,
 * then watch from its resourceVersion, resumed and relisted by itself) and deleted once
 * finished, per the pool's cleanup policy.
 *
 * - create: one Pod per worker name (core/pods.ts builds it), idempotent by name: a pod that
 *   already exists is left alone, so a redelivered decision or a restart creates nothing twice.
 * - Ready: the pod Running with condition Ready=True ({@link WorkerWatch.isReady}).
 * - Finished (Succeeded or Failed): after `cleanup.succeeded_after_seconds` (or
 *   `failed_after_seconds`) the listeners hear `finished` (node-manager publishes NodeRemoved,
 *   reason completed), then the pod is deleted (precondition: its uid) and the deletion logged.
 *   A node-manager restarted before that finds the pod in its first list and does it then.
 * - remove (scale-down): only an idle pod (core/pods.ts `busyReason`), read again from the API
 *   and deleted with its resourceVersion as precondition, so a pod that marked itself busy in
 *   between is not deleted (409) but read and judged again. A busy one fails the removal with
 *   code WORKER_BUSY (not retriable).
 *
 * Worker names are unique in the cluster (`<pool>-<hash of the decision id>-<i>`), so the
 * watch cache keys workers by name.
 */
import { type PodsOptions, type PoolConfig, podsOptionsSchema } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import {
  apiListerWatcher,
  isStatus,
  type Kube,
  kubeCall,
  POOL_LABEL,
  type V1Pod,
  WatchCache,
} from '@scalewise/kube';
import type { Instance, Provider, WorkerChange, WorkerWatch } from './provider.ts';
import {
  busyReason,
  chooseIdleWorkers,
  cleanupAt,
  isFinished,
  projectWorkerPod,
  WORKER_POD_SELECTOR,
  type WorkerPod,
  workerPodManifest,
} from './worker-pods.ts';

/** The logger the provider reports cleanups and failures to (pino's shape). */
export interface PodsLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PodsProviderDeps {
  kube: Kube;
  /** The pools of provider `pods` (their cleanup policies). */
  pools: readonly PoolConfig[];
  log: PodsLog;
  now?: () => number;
}

export type PodsProvider = Provider & { readonly workers: WorkerWatch; readonly name: 'pods' };

/**
 * A pool's typed options (validated when the configuration was loaded).
 * @throws ScalewiseError INVALID_CONFIG naming the key, for a pool that did not go through loadConfig.
 */
export function podsOptionsOf(pool: PoolConfig): PodsOptions {
  const parsed = podsOptionsSchema.safeParse(pool.provider_options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ScalewiseError(
    'INVALID_CONFIG',
    `pool '${pool.name}': provider_options.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    { details: { key: `provider_options.${issue?.path.join('.') ?? ''}`, pool: pool.name } },
  );
}

export function podsProvider(deps: PodsProviderDeps): PodsProvider {
  const { kube, log } = deps;
  const now = deps.now ?? Date.now;
  /** Each pool's cleanup policy, parsed once. */
  const cleanupOf = new Map(deps.pools.map((p) => [p.name, podsOptionsOf(p).cleanup]));
  const cache = new WatchCache<WorkerPod>(
    apiListerWatcher(kube, 'pods', { labelSelector: WORKER_POD_SELECTOR }),
    { what: 'worker pods', project: (raw) => projectWorkerPod(raw as V1Pod), key: (w) => w.name },
  );
  const listeners = new Set<(change: WorkerChange) => Promise<void> | void>();
  /** Worker -> its cleanup timer. */
  const timers = new Map<string, NodeJS.Timeout>();
  /** Workers being cleaned up now (a watch update must not start a second cleanup). */
  const reaping = new Set<string>();
  /** Failed cleanups in a row per worker: the next try waits 5 s doubling up to 5 min. */
  const failures = new Map<string, number>();
  let stopped = false;

  const tell = async (change: WorkerChange): Promise<void> => {
    await Promise.all(
      [...listeners].map(async (l) => {
        try {
          await l(change);
        } catch (err) {
          log.error({ err, worker: change.worker, change: change.kind }, 'a worker listener failed');
          throw err;
        }
      }),
    );
  };

  const unschedule = (name: string) => {
    const t = timers.get(name);
    if (t) clearTimeout(t);
    timers.delete(name);
  };

  function schedule(w: WorkerPod): void {
    if (stopped || w.deletedAt !== undefined || reaping.has(w.name) || timers.has(w.name)) return;
    const cleanup = cleanupOf.get(w.pool);
    if (!cleanup) return;
    const at = cleanupAt(w, cleanup);
    if (at === undefined) return;
    const t = setTimeout(
      () => {
        timers.delete(w.name);
        void reap(w.name);
      },
      Math.max(0, at - now()),
    );
    t.unref?.();
    timers.set(w.name, t);
  }

  /** Tells the listeners a finished worker ends, then deletes it; retried on the next update or list. */
  async function reap(name: string): Promise<void> {
    const w = cache.get(name);
    if (!w || !isFinished(w) || w.deletedAt !== undefined || reaping.has(name) || stopped) return;
    reaping.add(name);
    try {
      await tell({
        kind: 'finished',
        pool: w.pool,
        worker: w.name,
        phase: w.phase as 'Succeeded' | 'Failed',
        ...(w.actionId !== undefined ? { actionId: w.actionId } : {}),
        ...(w.taskId !== undefined ? { taskId: w.taskId } : {}),
      });
      await deletePod(w.namespace, w.name, { uid: w.uid });
      log.info(
        {
          pool: w.pool,
          worker: w.name,
          namespace: w.namespace,
          phase: w.phase,
          task_id: w.taskId,
          ran_seconds: w.finishedAt ? Math.round((w.finishedAt - w.createdAt) / 100) / 10 : undefined,
        },
        'finished worker pod cleaned up',
      );
      failures.delete(name);
    } catch (err) {
      const n = (failures.get(name) ?? 0) + 1;
      failures.set(name, n);
      const waitMs = Math.min(5000 * 2 ** (n - 1), 300_000);
      log.warn(
        { err, worker: name, attempt: n, retry_in_ms: waitMs },
        'cleaning up a finished worker pod failed; retried',
      );
      const t = setTimeout(() => {
        timers.delete(name);
        void reap(name);
      }, waitMs);
      t.unref?.();
      timers.set(name, t);
    } finally {
      reaping.delete(name);
    }
  }

  cache.on((e) => {
    const w = e.object;
    if (e.type === 'delete') {
      unschedule(w.name);
      failures.delete(w.name);
      return;
    }
    if (w.ready && (e.type === 'add' || !e.old.ready)) {
      void tell({ kind: 'ready', pool: w.pool, worker: w.name }).catch(() => undefined);
    }
    if (isFinished(w)) schedule(w);
  });
  cache.onError((err) => log.warn({ err }, 'worker pod watch failed; it retries by itself'));

  /** Deletes a pod; one already gone is fine. A failed precondition (409) is returned, not thrown. */
  async function deletePod(
    namespace: string,
    name: string,
    preconditions: { uid?: string; resourceVersion?: string },
  ): Promise<'deleted' | 'gone' | 'changed'> {
    try {
      await kubeCall(`deleting worker pod ${namespace}/${name}`, () =>
        kube.core.deleteNamespacedPod({ name, namespace, body: { preconditions } }),
      );
      return 'deleted';
    } catch (err) {
      if (isStatus(err, 404)) return 'gone';
      if (isStatus(err, 409)) return 'changed';
      throw err;
    }
  }

  const workers: WorkerWatch = {
    async start() {
      stopped = false;
      cache.start();
      await cache.synced;
    },
    async stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      await cache.stop();
    },
    isReady: (worker) => cache.get(worker)?.ready === true,
    idle(pool, count) {
      return chooseIdleWorkers(
        cache.list().filter((w) => w.pool === pool.name),
        count,
      );
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };

  return {
    name: 'pods',
    workers,
    async create(pool, names, actionId, options = {}) {
      const o = podsOptionsOf(pool);
      const out: { node: string; providerId: string }[] = [];
      for (const name of names) {
        const body = workerPodManifest({
          name,
          pool: pool.name,
          actionId,
          taskId: options.taskId,
          options: o,
        });
        try {
          await kubeCall(`creating worker pod ${o.namespace}/${name}`, () =>
            kube.core.createNamespacedPod({ namespace: o.namespace, body }),
          );
        } catch (err) {
          // Idempotent by name: it exists (a redelivered decision, a restart mid-action).
          if (!isStatus(err, 409)) throw err;
        }
        out.push({ node: name, providerId: `pod://${o.namespace}/${name}` });
      }
      return out;
    },
    async remove(pool, name) {
      const { namespace } = podsOptionsOf(pool);
      for (let attempt = 1; ; attempt++) {
        let pod: V1Pod;
        try {
          pod = await kubeCall(`reading worker pod ${namespace}/${name}`, () =>
            kube.core.readNamespacedPod({ name, namespace }),
          );
        } catch (err) {
          if (isStatus(err, 404)) return { existed: false };
          throw err;
        }
        const w = projectWorkerPod(pod);
        // Being deleted already (by whoever): not ours to report.
        if (w.deletedAt !== undefined) return { existed: false };
        const why = busyReason(w);
        if (why) {
          throw new ScalewiseError('CONFLICT', `worker pod ${namespace}/${name} is busy: ${why}`, {
            retriable: false,
            details: { reason: 'WORKER_BUSY', worker: name, pool: pool.name },
          });
        }
        const r = await deletePod(namespace, name, { uid: w.uid, resourceVersion: w.resourceVersion });
        if (r !== 'changed') return { existed: r === 'deleted' };
        // It changed since it was read (it may have taken a task): judge it again.
        if (attempt >= 5) {
          throw new ScalewiseError('CONFLICT', `worker pod ${namespace}/${name} keeps changing`, {
            retriable: true,
            details: { reason: 'WORKER_CHANGING', worker: name, pool: pool.name },
          });
        }
      }
    },
    async list(pool): Promise<Instance[]> {
      const { namespace } = podsOptionsOf(pool);
      const pods = await kubeCall(`listing worker pods of ${pool.name}`, () =>
        kube.core.listNamespacedPod({
          namespace,
          labelSelector: `${WORKER_POD_SELECTOR},${POOL_LABEL}=${pool.name}`,
        }),
      );
      return pods.items.map((p) => {
        const w = projectWorkerPod(p);
        return {
          id: `pod://${w.namespace}/${w.name}`,
          node: w.name,
          alive: w.deletedAt === undefined && !isFinished(w),
          createdAt: w.createdAt,
        };
      });
    },
  };
}

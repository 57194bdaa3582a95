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
  type CacheEvent,
  isStatus,
  type Kube,
  kubeCall,
  POOL_LABEL,
  type V1Pod,
  WatchCache,
} from '@scalewise/kube';
import type { CreateOptions, Instance, Provider, WorkerChange, WorkerWatch } from './provider.ts';
import {
  busyReason,
  chooseIdleWorkers,
  cleanupAt,
  type IdleChoice,
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
  return new WorkerPodsProvider(deps);
}

type WorkerListener = (change: WorkerChange) => Promise<void> | void;

/** How long the next cleanup of a worker waits after `failures` failed in a row: 5 s doubling up to 5 min. */
const cleanupRetryMs = (failures: number): number => Math.min(5000 * 2 ** (failures - 1), 300_000);

/** What the listeners hear when a finished worker's cleanup time has come. */
function finishedChange(w: WorkerPod): WorkerChange {
  return {
    kind: 'finished',
    pool: w.pool,
    worker: w.name,
    phase: w.phase as 'Succeeded' | 'Failed',
    ...(w.actionId !== undefined ? { actionId: w.actionId } : {}),
    ...(w.taskId !== undefined ? { taskId: w.taskId } : {}),
  };
}

/** Deletes a pod; one already gone is fine. A failed precondition (409) is returned, not thrown. */
async function deletePod(
  kube: Kube,
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

/**
 * The watch of the worker pods: tells the listeners when a worker becomes Ready and, once a
 * finished worker's cleanup time has come, that it finished; then deletes its pod.
 */
class WorkerPodWatch implements WorkerWatch {
  private readonly kube: Kube;
  private readonly log: PodsLog;
  private readonly now: () => number;
  /** Each pool's cleanup policy, parsed once. */
  private readonly cleanupOf: Map<string, PodsOptions['cleanup']>;
  private readonly cache: WatchCache<WorkerPod>;
  private readonly listeners = new Set<WorkerListener>();
  /** Worker -> its cleanup timer. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Workers being cleaned up now (a watch update must not start a second cleanup). */
  private readonly reaping = new Set<string>();
  /** Failed cleanups in a row per worker: the next try waits 5 s doubling up to 5 min. */
  private readonly failures = new Map<string, number>();
  private stopped = false;

  constructor(deps: PodsProviderDeps) {
    this.kube = deps.kube;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    this.cleanupOf = new Map(deps.pools.map((p) => [p.name, podsOptionsOf(p).cleanup]));
    this.cache = new WatchCache<WorkerPod>(
      apiListerWatcher(deps.kube, 'pods', { labelSelector: WORKER_POD_SELECTOR }),
      { what: 'worker pods', project: (raw) => projectWorkerPod(raw as V1Pod), key: (w) => w.name },
    );
    this.cache.on((e) => this.onWatchEvent(e));
    this.cache.onError((err) => this.log.warn({ err }, 'worker pod watch failed; it retries by itself'));
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.cache.start();
    await this.cache.synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.cache.stop();
  }

  isReady(worker: string): boolean {
    return this.cache.get(worker)?.ready === true;
  }

  idle(pool: PoolConfig, count: number): IdleChoice {
    return chooseIdleWorkers(
      this.cache.list().filter((w) => w.pool === pool.name),
      count,
    );
  }

  on(listener: WorkerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private onWatchEvent(e: CacheEvent<WorkerPod>): void {
    const w = e.object;
    if (e.type === 'delete') {
      this.unschedule(w.name);
      this.failures.delete(w.name);
      return;
    }
    if (w.ready && (e.type === 'add' || !e.old.ready)) {
      void this.tell({ kind: 'ready', pool: w.pool, worker: w.name }).catch(() => undefined);
    }
    if (isFinished(w)) this.schedule(w);
  }

  private async tell(change: WorkerChange): Promise<void> {
    await Promise.all(
      [...this.listeners].map(async (l) => {
        try {
          await l(change);
        } catch (err) {
          this.log.error({ err, worker: change.worker, change: change.kind }, 'a worker listener failed');
          throw err;
        }
      }),
    );
  }

  private unschedule(name: string): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  private schedule(w: WorkerPod): void {
    if (this.stopped || w.deletedAt !== undefined || this.reaping.has(w.name) || this.timers.has(w.name))
      return;
    const cleanup = this.cleanupOf.get(w.pool);
    if (!cleanup) return;
    const at = cleanupAt(w, cleanup);
    if (at === undefined) return;
    this.reapIn(w.name, Math.max(0, at - this.now()));
  }

  /** Sets the worker's cleanup timer. */
  private reapIn(name: string, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(name);
      void this.reap(name);
    }, ms);
    t.unref?.();
    this.timers.set(name, t);
  }

  /** Tells the listeners a finished worker ends, then deletes it; retried on the next update or list. */
  private async reap(name: string): Promise<void> {
    const w = this.cache.get(name);
    if (!w || !isFinished(w) || w.deletedAt !== undefined || this.reaping.has(name) || this.stopped) return;
    this.reaping.add(name);
    try {
      await this.cleanUp(w);
      this.failures.delete(name);
    } catch (err) {
      const n = (this.failures.get(name) ?? 0) + 1;
      this.failures.set(name, n);
      const waitMs = cleanupRetryMs(n);
      this.log.warn(
        { err, worker: name, attempt: n, retry_in_ms: waitMs },
        'cleaning up a finished worker pod failed; retried',
      );
      this.reapIn(name, waitMs);
    } finally {
      this.reaping.delete(name);
    }
  }

  private async cleanUp(w: WorkerPod): Promise<void> {
    await this.tell(finishedChange(w));
    await deletePod(this.kube, w.namespace, w.name, { uid: w.uid });
    this.log.info(
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
  }
}

/** The provider: creates, removes and lists the worker pods; {@link WorkerPodWatch} watches them. */
class WorkerPodsProvider implements PodsProvider {
  readonly name = 'pods';
  readonly workers: WorkerPodWatch;
  private readonly kube: Kube;

  constructor(deps: PodsProviderDeps) {
    this.kube = deps.kube;
    this.workers = new WorkerPodWatch(deps);
  }

  async create(pool: PoolConfig, names: readonly string[], actionId: string, options: CreateOptions = {}) {
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
          this.kube.core.createNamespacedPod({ namespace: o.namespace, body }),
        );
      } catch (err) {
        // Idempotent by name: it exists (a redelivered decision, a restart mid-action).
        if (!isStatus(err, 409)) throw err;
      }
      out.push({ node: name, providerId: `pod://${o.namespace}/${name}` });
    }
    return out;
  }

  async remove(pool: PoolConfig, name: string): Promise<{ existed: boolean }> {
    const { namespace } = podsOptionsOf(pool);
    for (let attempt = 1; ; attempt++) {
      const w = await this.read(namespace, name);
      // Gone, or being deleted already (by whoever): not ours to report.
      if (w === undefined || w.deletedAt !== undefined) return { existed: false };
      const why = busyReason(w);
      if (why) {
        throw new ScalewiseError('CONFLICT', `worker pod ${namespace}/${name} is busy: ${why}`, {
          retriable: false,
          details: { reason: 'WORKER_BUSY', worker: name, pool: pool.name },
        });
      }
      const r = await deletePod(this.kube, namespace, name, {
        uid: w.uid,
        resourceVersion: w.resourceVersion,
      });
      if (r !== 'changed') return { existed: r === 'deleted' };
      // It changed since it was read (it may have taken a task): judge it again.
      if (attempt >= 5) {
        throw new ScalewiseError('CONFLICT', `worker pod ${namespace}/${name} keeps changing`, {
          retriable: true,
          details: { reason: 'WORKER_CHANGING', worker: name, pool: pool.name },
        });
      }
    }
  }

  async list(pool: PoolConfig): Promise<Instance[]> {
    const { namespace } = podsOptionsOf(pool);
    const pods = await kubeCall(`listing worker pods of ${pool.name}`, () =>
      this.kube.core.listNamespacedPod({
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
  }

  /** The worker pod as the API has it now; undefined when there is none. */
  private async read(namespace: string, name: string): Promise<WorkerPod | undefined> {
    let pod: V1Pod;
    try {
      pod = await kubeCall(`reading worker pod ${namespace}/${name}`, () =>
        this.kube.core.readNamespacedPod({ name, namespace }),
      );
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
    return projectWorkerPod(pod);
  }
}

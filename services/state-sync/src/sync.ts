/**
 * state-sync's shell. A sync lists each pool's workers into the pool ledger (packages/pool)
 * and reconciles the pool's three views in the same compare-and-set (core/reconcile.ts): the
 * Kubernetes view (a watch cache of Nodes; for a `pods` pool, of its worker Pods:
 * core/workers.ts), the provider's instances (listed through node-manager's providers, behind a
 * breaker and retries: adapters/providers.ts), and the ledger's members before the listing.
 * The events it returns are published.
 *
 * A sync runs as soon as the watch caches are listed (so the ledger knows each pool's size
 * from the start), every `sensing.sync_interval_seconds`, and when a node (or worker pod) is
 * added or deleted: coalesced, at most one waiting behind the running one (loops/rounds.ts).
 *
 * What state-sync knows beside the ledger (the nodes' NotReady clocks, the losses said, the
 * Kubernetes/provider differences awaiting a second look, the provider's last count and
 * error) is its part of the pool record, `scalewise:<cluster_id>:pool:{<pool>}` field
 * `state-sync.s`, written with the ledger. Its copy is the read model the API and CLI read:
 * one Redis hash per pool, `scalewise:<cluster_id>:state-sync:state:<pool>`, field `s` the JSON
 * of {@link PoolStore} and `v` its version.
 *
 * state-sync consumes no events: the scale-downs' victims, the nodes removed (worker pods
 * cleaned up as completed among them) and the actions' ends are node-manager's facts, in the
 * ledger before their events are published.
 */
import type { PoolConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, createEvent, eventIdOf } from '@scalewise/events';
import {
  ACTION_ANNOTATION,
  apiListerWatcher,
  type Kube,
  type NodeInfo,
  nodeCache,
  POOL_LABEL,
  WatchCache,
} from '@scalewise/kube';
import { createPoolStore, type PoolStore as PoolRecordStore } from '@scalewise/pool';
import { type DockerEnv, openProviders, type Provider, WORKER_POD_SELECTOR } from '@scalewise/providers';
import { breakerOptionsOf, retryPolicyOf, type ServiceContext } from '@scalewise/service';
import { createStateStore, type StateStore } from '@scalewise/state';
import { createInstanceSource, type InstanceSource } from './adapters/instances.ts';
import {
  type CompletedWorker,
  completedPod,
  type KubeNode,
  type PoolStore,
  type ProviderView,
  projectWorkerPodView,
  type RawPod,
  reconcile,
  type SyncIntent,
  type WorkerPodView,
  workerNodes,
} from './core/index.ts';
import { createRounds } from './loops/rounds.ts';

export const serviceName = 'state-sync';

export interface StateSync {
  /** The pool records: the ledger and state-sync's part. */
  records: PoolRecordStore<PoolStore, AnyScalewiseEvent>;
  /** The read model (a copy of state-sync's part). */
  store: StateStore<PoolStore, never>;
  nodes: WatchCache<NodeInfo>;
  /** The worker pods of `pods` pools (started only when one is configured). */
  workerPods: WatchCache<WorkerPodView>;
  instances: InstanceSource;
  /** Reconciles every pool now; returns what was published. */
  sync(): Promise<AnyScalewiseEvent[]>;
  /** Asks for a sync: at once, or once after the running one. */
  request(): void;
  /** Resolves when no sync runs or waits. */
  idle(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface StateSyncDeps {
  kube: Kube;
  now?: () => number;
  /** DOCKER_HOST / DOCKER_API_VERSION for docker pools (main.ts: process.env). */
  env?: DockerEnv;
  /** Provider name -> implementation. @default node-manager's, for the configured pools */
  providers?: Readonly<Record<string, Provider>>;
}

interface PoolView {
  pool: PoolConfig;
  completed: CompletedWorker[];
  kube: KubeNode[];
}

export function createStateSync(ctx: ServiceContext, deps: StateSyncDeps): StateSync {
  const { config, bus, telemetry } = ctx;
  const log = telemetry.logger;
  const now = deps.now ?? Date.now;
  const source = `/scalewise/${config.cluster_id}/${serviceName}`;
  const pools = config.autoscaler.pools;
  const call = <T>(fn: () => Promise<T>) => bus.breakers.redis.call(fn);
  const records = createPoolStore<PoolStore, AnyScalewiseEvent>({
    redis: bus.redis,
    clusterId: config.cluster_id,
    service: serviceName,
    // A sync's outputs are replayed only for its own input id, which no other sync reuses.
    outboxTtlSeconds: 600,
    call,
  });
  const store = createStateStore<PoolStore, never>({
    redis: bus.redis,
    namespace: `scalewise:${config.cluster_id}:${serviceName}`,
    // A copy is never redelivered: its outbox entries need not outlive the write.
    outboxTtlSeconds: 60,
    call,
  });
  const nodes = nodeCache(deps.kube);
  nodes.onError((err) => log.warn({ err }, 'node watch failed; it retries by itself'));
  const policyOf = (pool: PoolConfig) => ({
    notReadyTimeoutSeconds: config.autoscaler.sensing.not_ready_timeout_seconds,
    registrationGraceSeconds: 120,
    actionTimeoutMs: pool.action_timeout_seconds * 1000,
  });

  const isPodsPool = (pool: PoolConfig) => pool.provider === 'pods';
  const hasPodsPool = pools.some(isPodsPool);
  // Worker pods: their own watch (the pods provider's labels), kept small by its projection.
  const workerPods = new WatchCache<WorkerPodView>(
    apiListerWatcher(deps.kube, 'pods', { labelSelector: WORKER_POD_SELECTOR }),
    {
      what: 'worker pods',
      project: (raw) => projectWorkerPodView(raw as RawPod, POOL_LABEL, ACTION_ANNOTATION),
      key: (w) => `${w.namespace}/${w.name}`,
    },
  );
  workerPods.onError((err) => log.warn({ err }, 'worker pod watch failed; it retries by itself'));
  /** Pool -> worker pods seen finished (before any deletion) since the last reconciliation. */
  const completedSeen = new Map<string, Map<string, CompletedWorker>>();
  const completion = (w: WorkerPodView): CompletedWorker => ({
    name: w.name,
    actionId: w.actionId ?? w.name,
  });
  const noteCompleted = (w: WorkerPodView) => {
    if (!completedPod(w) || !w.pool) return;
    const seen = completedSeen.get(w.pool) ?? new Map<string, CompletedWorker>();
    seen.set(w.name, completion(w));
    completedSeen.set(w.pool, seen);
  };

  const breaker = breakerOptionsOf(config);
  const retry = retryPolicyOf(config);
  const opened = deps.providers
    ? undefined
    : openProviders({ kube: deps.kube, pools, use: 'list', env: deps.env ?? {}, log, retry, breaker });
  const instances = createInstanceSource({
    providers: deps.providers ?? opened?.providers ?? {},
    breaker,
    retry,
    metrics: telemetry.metrics.bus,
    // Reported as the kit reports its own breakers (a log line and CircuitBreakerStateChanged).
    onBreakerState: ctx.onBreakerState,
  });
  /** Pools whose provider could not be listed at the last try (said once per outage). */
  const failing = new Set<string>();
  /** Pool -> events recorded but not yet published (their publication failed): sent first next time. */
  const unpublished = new Map<string, AnyScalewiseEvent[]>();

  /** Each pool's Kubernetes view, and the worker pods seen completed, read at one moment. */
  function views(): PoolView[] {
    const byPool = new Map<string, NodeInfo[]>();
    for (const n of nodes.values()) {
      const pool = n.labels[POOL_LABEL];
      if (pool === undefined || n.deletedAt !== undefined) continue;
      const list = byPool.get(pool);
      if (list) list.push(n);
      else byPool.set(pool, [n]);
    }
    return pools.map((pool) => {
      if (!isPodsPool(pool)) {
        const kube = (byPool.get(pool.name) ?? []).map((n) => ({
          name: n.name,
          ready: n.conditions.Ready?.status === 'True',
          since: n.conditions.Ready?.since || n.createdAt,
          createdAt: n.createdAt,
          ...(n.annotations[ACTION_ANNOTATION] ? { action: n.annotations[ACTION_ANNOTATION] } : {}),
        }));
        return { pool, completed: [], kube };
      }
      const completed = new Map(completedSeen.get(pool.name) ?? []);
      for (const w of workerPods.values()) {
        if (w.pool === pool.name && completedPod(w)) completed.set(w.name, completion(w));
      }
      return { pool, completed: [...completed.values()], kube: workerNodes(workerPods.values(), pool.name) };
    });
  }

  async function providerView(pool: PoolConfig): Promise<ProviderView> {
    const view = await instances.list(pool);
    if (!Array.isArray(view)) {
      const v = view as Exclude<ProviderView, readonly unknown[]>;
      if (!failing.has(pool.name)) {
        failing.add(pool.name);
        log.warn(
          { pool: pool.name, provider: pool.provider, code: v.code, err: v.message },
          "the provider's instances could not be listed: the pool is judged from Kubernetes alone until it answers",
        );
      }
      return view;
    }
    if (failing.delete(pool.name)) {
      log.info({ pool: pool.name, provider: pool.provider }, "the provider's instances are listed again");
    }
    // A worker pod's end (finished, or deleted) is judged from the watch, which saw whether it
    // finished before anyone deleted it; the provider's not-alive pods cannot tell the two apart.
    return isPodsPool(pool) ? view.filter((i) => i.alive) : view;
  }

  const toEvent = (pool: string, e: SyncIntent, t: number): AnyScalewiseEvent =>
    createEvent(e.type, e.data, {
      source,
      clusterid: config.cluster_id,
      id: eventIdOf(e.type, { pool, node: 'node_name' in e.data ? e.data.node_name : undefined, at: t }),
    }) as AnyScalewiseEvent;

  async function publish(pool: string, events: AnyScalewiseEvent[]): Promise<void> {
    const due = [...(unpublished.get(pool) ?? []), ...events];
    if (due.length === 0) return;
    try {
      await bus.publisher.publish(...due);
      unpublished.delete(pool);
    } catch (err) {
      // Recorded in the ledger already: the next sync will not say them again, so keep them.
      unpublished.set(pool, due);
      throw err;
    }
  }

  /** The listing into the ledger and the reconciliation, one compare-and-set; then its events. */
  async function syncPool(view: PoolView, provider: ProviderView, t: number): Promise<AnyScalewiseEvent[]> {
    const { pool, completed, kube } = view;
    let part: PoolStore | undefined;
    const applied = await records.apply(pool.name, `sync/${t}`, (ledger, stored) => {
      const r = reconcile({
        pool: pool.name,
        ledger,
        stored,
        nodes: kube,
        provider,
        completed,
        now: t,
        policy: policyOf(pool),
      });
      part = r.store;
      return { ledger: r.ledger, part: r.store, outputs: r.events.map((e) => toEvent(pool.name, e, t)) };
    });
    const seen = completedSeen.get(pool.name);
    if (seen) for (const c of completed) seen.delete(c.name);
    await publish(pool.name, applied.outputs);
    if (part) {
      const copy = part;
      // The copy for the API and CLI; never older than the one there (replicas race).
      await store
        .apply(pool.name, `sync/${t}`, (cur) => ({
          state: cur && (cur.lastSync ?? 0) > (copy.lastSync ?? 0) ? cur : copy,
          outputs: [],
        }))
        .catch((err) =>
          log.warn({ err, pool: pool.name }, 'the read model was not written; the next sync writes it'),
        );
    }
    return applied.outputs;
  }

  async function sync(): Promise<AnyScalewiseEvent[]> {
    const t = now();
    // Kubernetes first, then the provider: a worker created between the two reads is within
    // the registration grace, one gone between them is only a suspect (core/reconcile.ts).
    const pending = views();
    // All pools' providers at once: one slow or failing provider delays the round by its own
    // retries, not by theirs times the number of pools.
    const providers = await Promise.all(pools.map((pool) => providerView(pool)));
    const out: AnyScalewiseEvent[] = [];
    for (const [i, view] of pending.entries()) {
      out.push(...(await syncPool(view, providers[i] as ProviderView, t)));
    }
    return out;
  }

  const rounds = createRounds(sync, (err) =>
    log.error({ err }, 'state sync failed; the next round tries again'),
  );
  let timer: NodeJS.Timeout | undefined;
  return {
    records,
    store,
    nodes,
    workerPods,
    instances,
    sync,
    request: () => rounds.request(),
    idle: () => rounds.idle(),
    async start() {
      nodes.start();
      if (hasPodsPool) {
        workerPods.on((e) => {
          if (e.type !== 'delete') noteCompleted(e.object);
        });
        workerPods.start();
        await workerPods.synced;
      }
      await nodes.synced;
      // Only now: a sync from a cache still being listed would take the unlisted for gone.
      // A worker added or deleted is news: a sync at once (coalesced) rather than at the next tick.
      nodes.on((e) => {
        if (e.type !== 'update') rounds.request();
      });
      if (hasPodsPool) {
        workerPods.on((e) => {
          if (e.type !== 'update') rounds.request();
        });
      }
      rounds.request();
      timer = setInterval(() => rounds.request(), config.autoscaler.sensing.sync_interval_seconds * 1000);
    },
    async stop() {
      if (timer) clearInterval(timer);
      await rounds.stop();
      await nodes.stop();
      if (hasPodsPool) await workerPods.stop();
      instances.shutdown();
      opened?.shutdown();
    },
  };
}

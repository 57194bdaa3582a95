/**
 * state-sync's wiring. A sync lists each pool's workers into the pool ledger (packages/pool)
 * and reconciles the pool's three views in the same compare-and-set (core/reconcile.ts,
 * loops/sync-round.ts): the Kubernetes view (a watch cache of Nodes; for a `pods` pool, of
 * its worker Pods: adapters/kube-views.ts), the provider's instances (listed through the
 * shared providers, behind a breaker and retries: adapters/instances.ts), and the ledger's
 * members before the listing.
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
import type { AnyScalewiseEvent } from '@scalewise/events';
import type { Kube, NodeInfo, WatchCache } from '@scalewise/kube';
import { createPoolStore, type PoolStore as PoolRecordStore } from '@scalewise/pool';
import { type DockerEnv, openProviders, type Provider } from '@scalewise/providers';
import { breakerOptionsOf, retryPolicyOf, type ServiceContext } from '@scalewise/service';
import { createStateStore, type StateStore } from '@scalewise/state';
import { createInstanceSource, type InstanceSource } from './adapters/instances.ts';
import { createKubeViews } from './adapters/kube-views.ts';
import type { PoolStore, SyncPolicy, WorkerPodView } from './core/index.ts';
import { createRounds } from './loops/rounds.ts';
import { createSyncRound } from './loops/sync-round.ts';

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
  /** Provider name -> implementation. @default the registry's, for the configured pools */
  providers?: Readonly<Record<string, Provider>>;
}

/** The pool records (the ledger and state-sync's part) and the read model, behind the Redis breaker. */
function storesOf(ctx: ServiceContext): Pick<StateSync, 'records' | 'store'> {
  const { config, bus } = ctx;
  const call = <T>(fn: () => Promise<T>) => bus.breakers.redis.call(fn);
  return {
    records: createPoolStore<PoolStore, AnyScalewiseEvent>({
      redis: bus.redis,
      clusterId: config.cluster_id,
      service: serviceName,
      // A sync's outputs are replayed only for its own input id, which no other sync reuses.
      outboxTtlSeconds: 600,
      call,
    }),
    store: createStateStore<PoolStore, never>({
      redis: bus.redis,
      namespace: `scalewise:${config.cluster_id}:${serviceName}`,
      // A copy is never redelivered: its outbox entries need not outlive the write.
      outboxTtlSeconds: 60,
      call,
    }),
  };
}

/** Each pool's instances: the given providers or the registry's, behind the shared decorator. */
function instancesOf(ctx: ServiceContext, deps: StateSyncDeps) {
  const { config, telemetry } = ctx;
  const breaker = breakerOptionsOf(config);
  const retry = retryPolicyOf(config);
  const pools = config.autoscaler.pools;
  const opened = deps.providers
    ? undefined
    : openProviders({
        kube: deps.kube,
        pools,
        use: 'list',
        env: deps.env ?? {},
        log: telemetry.logger,
        retry,
        breaker,
      });
  const instances = createInstanceSource({
    providers: deps.providers ?? opened?.providers ?? {},
    breaker,
    retry,
    metrics: telemetry.metrics.bus,
    // Reported as the kit reports its own breakers (a log line and CircuitBreakerStateChanged).
    onBreakerState: ctx.onBreakerState,
  });
  return {
    instances,
    shutdown() {
      instances.shutdown();
      opened?.shutdown();
    },
  };
}

export function createStateSync(ctx: ServiceContext, deps: StateSyncDeps): StateSync {
  const { config, bus, telemetry } = ctx;
  const log = telemetry.logger;
  const pools = config.autoscaler.pools;
  const { records, store } = storesOf(ctx);
  const { instances, shutdown } = instancesOf(ctx, deps);
  const views = createKubeViews({ kube: deps.kube, pools, log });
  const policyOf = (pool: PoolConfig): SyncPolicy => ({
    notReadyTimeoutSeconds: config.autoscaler.sensing.not_ready_timeout_seconds,
    registrationGraceSeconds: 120,
    actionTimeoutMs: pool.action_timeout_seconds * 1000,
  });
  const sync = createSyncRound({
    pools,
    views,
    instances,
    records,
    store,
    publisher: bus.publisher,
    policyOf,
    source: `/scalewise/${config.cluster_id}/${serviceName}`,
    clusterId: config.cluster_id,
    now: deps.now ?? Date.now,
    log,
  });
  const rounds = createRounds(sync, (err) =>
    log.error({ err }, 'state sync failed; the next round tries again'),
  );
  let timer: NodeJS.Timeout | undefined;
  return {
    records,
    store,
    nodes: views.nodes,
    workerPods: views.workerPods,
    instances,
    sync,
    request: () => rounds.request(),
    idle: () => rounds.idle(),
    async start() {
      await views.start();
      // Only now: a sync from a cache still being listed would take the unlisted for gone.
      // A worker added or deleted is news: a sync at once (coalesced) rather than at the next tick.
      views.onMembership(() => rounds.request());
      rounds.request();
      timer = setInterval(() => rounds.request(), config.autoscaler.sensing.sync_interval_seconds * 1000);
    },
    async stop() {
      if (timer) clearInterval(timer);
      await rounds.stop();
      await views.stop();
      shutdown();
    },
  };
}

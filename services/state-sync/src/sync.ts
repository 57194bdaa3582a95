/**
 * state-sync's shell: every `sensing.sync_interval_seconds` (and at once when a node or a
 * worker pod is deleted) each pool's three views are reconciled by the pure core: the
 * Kubernetes view (a watch cache of Nodes; for a `pods` pool, of its worker Pods:
 * core/workers.ts), the provider's instances (listed through node-manager's providers, behind a
 * breaker and retries: adapters/providers.ts), and the state store. The events it returns are
 * published; the repaired store is written with a compare-and-set (packages/state), as are
 * the scale-downs in flight learned from ScaleDownStarted / ScalingActionCompleted / Failed
 * and the worker pods node-manager cleaned up as completed (NodeRemoved, reason completed).
 *
 * The store is the read model the API and CLI read: one Redis hash per pool,
 * `scalewise:<cluster_id>:state-sync:state:<pool>`, field `s` the JSON of {@link PoolStore}
 * (workers, readyWorkers, nodes {name: {status, lastSeen, notReadySince}}, removing
 * {node: action id or `completed`}, lastSync, instances (the provider's last count),
 * providerError ({code, message, since} while the provider cannot be listed, else null),
 * suspects (Kubernetes/provider differences awaiting a second look)) and `v` its version.
 * For a `pods` pool the "nodes" are its worker pods.
 */
import type { HandlerRegistry } from '@scalewise/bus';
import type { PoolConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, createEvent, type EventData, type ScalewiseEvent } from '@scalewise/events';
import {
  apiListerWatcher,
  type Kube,
  type NodeInfo,
  nodeCache,
  POOL_LABEL,
  WatchCache,
} from '@scalewise/kube';
import { WORKER_POD_SELECTOR } from '@scalewise/node-manager/core';
import type { DockerEnv, Provider } from '@scalewise/node-manager/providers';
import { breakerOptionsOf, retryPolicyOf, type ServiceContext } from '@scalewise/service';
import { createStateStore, type StateStore } from '@scalewise/state';
import { createInstanceSource, type InstanceSource, openProviders } from './adapters/providers.ts';
import {
  actionEnded,
  completedPod,
  emptyStore,
  type KubeNode,
  type PoolStore,
  type ProviderView,
  projectWorkerPodView,
  type RawPod,
  reconcile,
  removingNodes,
  type WorkerPodView,
  workerNodes,
  workersCompleted,
} from './core/index.ts';

export const serviceName = 'state-sync';
export const handledTypes = [
  'io.scalewise.NodeRemoved',
  'io.scalewise.ScaleDownStarted',
  'io.scalewise.ScalingActionCompleted',
  'io.scalewise.ScalingActionFailed',
] as const;
type Handled = (typeof handledTypes)[number];

export interface StateSync {
  handlers: HandlerRegistry<Handled>;
  store: StateStore<PoolStore, AnyScalewiseEvent>;
  nodes: WatchCache<NodeInfo>;
  /** The worker pods of `pods` pools (started only when one is configured). */
  workerPods: WatchCache<WorkerPodView>;
  instances: InstanceSource;
  /** Reconciles every pool now; returns what was published. */
  sync(): Promise<AnyScalewiseEvent[]>;
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

export function createStateSync(ctx: ServiceContext, deps: StateSyncDeps): StateSync {
  const { config, bus, telemetry } = ctx;
  const log = telemetry.logger;
  const now = deps.now ?? Date.now;
  const source = `/scalewise/${config.cluster_id}/${serviceName}`;
  const pools = config.autoscaler.pools;
  const store = createStateStore<PoolStore, AnyScalewiseEvent>({
    redis: bus.redis,
    namespace: `scalewise:${config.cluster_id}:${serviceName}`,
    call: (fn) => bus.breakers.redis.call(fn),
  });
  const nodes = nodeCache(deps.kube);
  nodes.onError((err) => log.warn({ err }, 'node watch failed; it retries by itself'));
  const policy = {
    notReadyTimeoutSeconds: config.autoscaler.sensing.not_ready_timeout_seconds,
    registrationGraceSeconds: 120,
  };

  const isPodsPool = (pool: PoolConfig) => pool.provider === 'pods';
  const hasPodsPool = pools.some(isPodsPool);
  // Worker pods: their own watch (the pods provider's labels), kept small by its projection.
  const workerPods = new WatchCache<WorkerPodView>(
    apiListerWatcher(deps.kube, 'pods', { labelSelector: WORKER_POD_SELECTOR }),
    {
      what: 'worker pods',
      project: (raw) => projectWorkerPodView(raw as RawPod, POOL_LABEL),
      key: (w) => `${w.namespace}/${w.name}`,
    },
  );
  workerPods.onError((err) => log.warn({ err }, 'worker pod watch failed; it retries by itself'));
  /** Pool -> worker pods seen finished (before any deletion) since the last reconciliation. */
  const completedSeen = new Map<string, Set<string>>();
  const noteCompleted = (w: WorkerPodView) => {
    if (!completedPod(w) || !w.pool) return;
    const set = completedSeen.get(w.pool) ?? new Set<string>();
    set.add(w.name);
    completedSeen.set(w.pool, set);
  };

  const instances = createInstanceSource({
    providers:
      deps.providers ?? openProviders({ kube: deps.kube, pools, env: deps.env ?? {}, log: telemetry.logger }),
    breaker: breakerOptionsOf(config),
    retry: retryPolicyOf(config),
    metrics: telemetry.metrics.bus,
    // Reported as the kit reports its own breakers (a log line and CircuitBreakerStateChanged).
    onBreakerState: ctx.onBreakerState,
  });
  /** Pools whose provider could not be listed at the last try (said once per outage). */
  const failing = new Set<string>();

  /** The Kubernetes view of a pool: its Nodes, or for a `pods` pool its live worker pods. */
  function kubeView(pool: PoolConfig, byPool: Map<string, NodeInfo[]>): KubeNode[] {
    if (isPodsPool(pool)) return workerNodes(workerPods.values(), pool.name);
    return (byPool.get(pool.name) ?? []).map((n) => ({
      name: n.name,
      ready: n.conditions.Ready?.status === 'True',
      since: n.conditions.Ready?.since || n.createdAt,
      createdAt: n.createdAt,
    }));
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

  async function sync(): Promise<AnyScalewiseEvent[]> {
    const t = now();
    const out: AnyScalewiseEvent[] = [];
    const byPool = new Map<string, NodeInfo[]>();
    for (const n of nodes.values()) {
      const pool = n.labels[POOL_LABEL];
      if (pool === undefined || n.deletedAt !== undefined) continue;
      const list = byPool.get(pool);
      if (list) list.push(n);
      else byPool.set(pool, [n]);
    }
    // Kubernetes first, then the provider: a worker created between the two reads is within
    // the registration grace, one gone between them is only a suspect (core/reconcile.ts).
    const views = pools.map((pool) => {
      const completed = isPodsPool(pool) ? [...(completedSeen.get(pool.name) ?? [])] : [];
      if (isPodsPool(pool)) {
        for (const w of workerPods.values())
          if (w.pool === pool.name && completedPod(w)) completed.push(w.name);
      }
      return { pool, completed, kube: kubeView(pool, byPool) };
    });
    // All pools' providers at once: one slow or failing provider delays the round by its own
    // retries, not by theirs times the number of pools.
    const providers = await Promise.all(pools.map((pool) => providerView(pool)));
    for (const [i, { pool, completed, kube }] of views.entries()) {
      const provider = providers[i] as ProviderView;
      const applied = await store.apply(pool.name, `sync/${t}`, (stored) => {
        const base = stored && completed.length > 0 ? workersCompleted(stored, completed) : stored;
        const r = reconcile(pool.name, base, kube, provider, t, policy);
        return {
          state: r.store,
          outputs: r.events.map(
            (e) =>
              createEvent(e.type, e.data, {
                source,
                clusterid: config.cluster_id,
                id: `${pool.name}/${e.type.slice('io.scalewise.'.length)}/${'node_name' in e.data ? `${e.data.node_name}/` : ''}${t}`,
              }) as AnyScalewiseEvent,
          ),
        };
      });
      out.push(...applied.outputs);
      const seen = completedSeen.get(pool.name);
      if (seen) for (const n of completed) seen.delete(n);
    }
    if (out.length > 0) await bus.publisher.publish(...out);
    return out;
  }

  async function onAction(event: ScalewiseEvent<Handled>): Promise<AnyScalewiseEvent[]> {
    const d = event.data as { pool: string; action_id: string; nodes?: string[] };
    if (!pools.some((p) => p.name === d.pool)) return [];
    if (event.type === 'io.scalewise.NodeRemoved') {
      // Only a worker pod node-manager cleaned up after its task is news here; a scale-down's
      // removals were announced by its ScaleDownStarted.
      const r = event.data as EventData<'io.scalewise.NodeRemoved'>;
      if (r.reason !== 'completed') return [];
      await store.apply(d.pool, event.id, (stored) => ({
        state: workersCompleted(stored ?? emptyStore(d.pool), [r.node_name]),
        outputs: [],
      }));
      return [];
    }
    await store.apply(d.pool, event.id, (stored) => {
      const base = stored ?? emptyStore(d.pool);
      const next =
        event.type === 'io.scalewise.ScaleDownStarted'
          ? removingNodes(base, d.action_id, d.nodes ?? [])
          : actionEnded(base, d.action_id);
      return { state: next, outputs: [] };
    });
    return [];
  }

  let timer: NodeJS.Timeout | undefined;
  let round: Promise<unknown> = Promise.resolve();
  const schedule = () => {
    round = round
      .then(sync, sync)
      .catch((err) => log.error({ err }, 'state sync failed; the next round tries again'));
  };
  return {
    handlers: Object.fromEntries(
      handledTypes.map((t) => [t, onAction]),
    ) as unknown as HandlerRegistry<Handled>,
    store,
    nodes,
    workerPods,
    instances,
    sync,
    async start() {
      nodes.start();
      if (hasPodsPool) {
        workerPods.on((e) => {
          if (e.type !== 'delete') noteCompleted(e.object);
          else schedule();
        });
        workerPods.start();
        await workerPods.synced;
      }
      await nodes.synced;
      // A deleted node is news: reconcile at once rather than at the next tick.
      nodes.on((e) => {
        if (e.type === 'delete') schedule();
      });
      timer = setInterval(schedule, config.autoscaler.sensing.sync_interval_seconds * 1000);
    },
    async stop() {
      if (timer) clearInterval(timer);
      await round.catch(() => undefined);
      await nodes.stop();
      if (hasPodsPool) await workerPods.stop();
      instances.shutdown();
    },
  };
}

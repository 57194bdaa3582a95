/**
 * state-sync's shell: every `sensing.sync_interval_seconds` (and at once when a node is
 * deleted) each pool's three views are reconciled by the pure core: the Kubernetes Nodes
 * (a watch cache), the provider's instances, and the state store. The events it returns are
 * published; the repaired store is written with a compare-and-set (packages/state), as are
 * the scale-downs in flight learned from ScaleDownStarted / ScalingActionCompleted / Failed.
 *
 * The store is the read model the API and CLI read: one Redis hash per pool,
 * `scalewise:<cluster_id>:state-sync:state:<pool>`, field `s` the JSON of {@link PoolStore}
 * (workers, readyWorkers, nodes {name: {status, lastSeen, notReadySince}}, removing
 * {node: action id}, lastSync) and `v` its version.
 */
import type { HandlerRegistry } from '@scalewise/bus';
import { type AnyScalewiseEvent, createEvent, type ScalewiseEvent } from '@scalewise/events';
import { type Kube, type NodeInfo, nodeCache, POOL_LABEL, type WatchCache } from '@scalewise/kube';
import type { ServiceContext } from '@scalewise/service';
import { createStateStore, type StateStore } from '@scalewise/state';
import {
  actionEnded,
  type Instance,
  type KubeNode,
  type PoolStore,
  reconcile,
  removingNodes,
} from './core/index.ts';

export const serviceName = 'state-sync';
export const handledTypes = [
  'io.scalewise.ScaleDownStarted',
  'io.scalewise.ScalingActionCompleted',
  'io.scalewise.ScalingActionFailed',
] as const;
type Handled = (typeof handledTypes)[number];

export interface StateSync {
  handlers: HandlerRegistry<Handled>;
  store: StateStore<PoolStore, AnyScalewiseEvent>;
  nodes: WatchCache<NodeInfo>;
  /** Reconciles every pool now; returns what was published. */
  sync(): Promise<AnyScalewiseEvent[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createStateSync(ctx: ServiceContext, deps: { kube: Kube; now?: () => number }): StateSync {
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

  /** The provider's view. KWOK workers are their own instances; other providers list theirs through node-manager's provider interface (not wired here yet). */
  const instancesOf = (members: NodeInfo[]): Instance[] =>
    members.map((n) => ({
      id: n.providerID ?? `kwok://${n.name}`,
      node: n.name,
      alive: true,
      createdAt: n.createdAt,
    }));

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
    for (const pool of pools) {
      const members = byPool.get(pool.name) ?? [];
      const kube: KubeNode[] = members.map((n) => ({
        name: n.name,
        ready: n.conditions.Ready?.status === 'True',
        since: n.conditions.Ready?.since || n.createdAt,
      }));
      const applied = await store.apply(pool.name, `sync/${t}`, (stored) => {
        const r = reconcile(
          pool.name,
          stored,
          kube,
          pool.provider === 'kwok' ? instancesOf(members) : [],
          t,
          policy,
        );
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
    }
    if (out.length > 0) await bus.publisher.publish(...out);
    return out;
  }

  async function onAction(event: ScalewiseEvent<Handled>): Promise<AnyScalewiseEvent[]> {
    const d = event.data as { pool: string; action_id: string; nodes?: string[] };
    if (!pools.some((p) => p.name === d.pool)) return [];
    await store.apply(d.pool, event.id, (stored) => {
      const base = stored ?? {
        pool: d.pool,
        workers: 0,
        readyWorkers: 0,
        nodes: {},
        removing: {},
        lastSync: null,
      };
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
    sync,
    async start() {
      nodes.start();
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
    },
  };
}

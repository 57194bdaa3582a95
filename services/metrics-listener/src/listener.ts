/**
 * metrics-listener's shell: watch caches of Nodes and Pods (list, then watch from the
 * resourceVersion; never polling lists), a sample of each pool every
 * `sample_interval_seconds` run through the pure sensing core, and its events published; a pod
 * the watch shows turning unschedulable is reported between rounds (`react_to_pending_pods`).
 * A pool's nodes carry `scalewise.io/pool=<pool>`; a pending pod belongs to the pool its
 * nodeSelector names, else to `sensing.default_pool` (the first pool). Utilisation is node
 * usage from metrics.k8s.io when the API server serves it (adapters/metrics-api.ts, one list
 * per round), else requested / allocatable, as the Cluster Autoscaler counts it. A pool with
 * `metrics.prometheus` also has its query run each round (adapters/prometheus.ts). The seed 004
 * Redis Streams trigger bridge runs here too when enabled.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '@scalewise/config';
import { type AnyScalewiseEvent, createEvent } from '@scalewise/events';
import {
  type Kube,
  type LeaderElector,
  leaderElector,
  MANAGED_BY,
  type NodeInfo,
  nodeCache,
  nodeUtilisation,
  POOL_LABEL,
  type PodInfo,
  pendingUnschedulable,
  podCache,
  podKey,
  podsByNode,
  type WatchCache,
  WORKER_KIND_LABEL,
} from '@scalewise/kube';
import { breakerOptionsOf, type ReadinessCheck, type ServiceContext } from '@scalewise/service';
import { Redis } from 'ioredis';
import { createTriggerBridge, type TriggerBridge } from './adapters/bridge.ts';
import { createMetricsApi, type MetricsApi } from './adapters/metrics-api.ts';
import { createPoolQueries, prometheusSpec } from './adapters/prometheus.ts';
import {
  initialSenseState,
  type NodeSample,
  type NodeUsage,
  type PendingPod,
  type PoolSample,
  pendingPodsEvent,
  type QueryReading,
  type SenseIntent,
  type SensePolicy,
  type SensePoolState,
  sense,
} from './core/index.ts';

export const serviceName = 'metrics-listener';

export interface MetricsListener {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One sampling round now (the timer calls this); returns what was published (nothing unless leader). */
  sample(): Promise<AnyScalewiseEvent[]>;
  /** Whether this replica samples: the elected one, or the only one when election is off. */
  isLeader(): boolean;
  checks(): ReadinessCheck[];
  readonly nodes: WatchCache<NodeInfo>;
  readonly pods: WatchCache<PodInfo>;
  readonly metricsApi: MetricsApi;
}

export function sensePolicies(config: Config): SensePolicy[] {
  const s = config.autoscaler.sensing;
  return config.autoscaler.pools.map((p) => ({
    pool: p.name,
    min: p.min,
    max: p.max,
    cpuHighPercent: p.thresholds.cpu_high_percent,
    memoryHighPercent: p.thresholds.memory_high_percent,
    cpuLowPercent: p.thresholds.cpu_low_percent,
    memoryLowPercent: p.thresholds.memory_low_percent,
    underutilizedPeriods: s.underutilized_periods,
    healthRepeatSeconds: s.health_repeat_seconds,
    ...(p.metrics.prometheus ? { prometheus: prometheusSpec(p.metrics.prometheus) } : {}),
    ...(p.provider === 'pods' ? { workerKind: 'pod' as const } : {}),
  }));
}

/** How long after a node of a pool turned Ready a report of its pending pods from the watch waits. */
const NEW_NODE_GRACE_MS = 2000;

/** Appends `item` to the list of `key`. */
function group<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}

/** The Lease metrics-listener's replicas of a cluster elect their sampler on: a DNS subdomain. */
export function leaseName(clusterId: string): string {
  const safe = clusterId
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `scalewise-${safe || 'cluster'}`.slice(0, 230).replace(/[^a-z0-9]+$/, '') + '-metrics-listener';
}

export function createMetricsListener(
  ctx: ServiceContext,
  deps: { kube: Kube; now?: () => number; identity?: string },
): MetricsListener {
  const { config, bus, telemetry } = ctx;
  const log = telemetry.logger;
  const now = deps.now ?? Date.now;
  const source = `/scalewise/${config.cluster_id}/${serviceName}`;
  const policies = sensePolicies(config);
  const defaultPool = config.autoscaler.sensing.default_pool ?? policies[0]?.pool;
  const hasPodsPool = policies.some((p) => p.workerKind === 'pod');
  const nodes = nodeCache(deps.kube);
  const pods = podCache(deps.kube);
  for (const c of [nodes, pods]) c.onError((err) => log.warn({ err }, 'watch failed; it retries by itself'));
  const states = new Map<string, SensePoolState>(policies.map((p) => [p.pool, initialSenseState()]));
  const sensing = config.autoscaler.sensing;
  const election = sensing.leader_election;
  const elector: LeaderElector | undefined = election.enabled
    ? leaderElector(deps.kube, {
        name: leaseName(config.cluster_id),
        namespace: election.namespace,
        identity: deps.identity ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        leaseSeconds: election.lease_seconds,
        renewSeconds: election.renew_seconds,
        onError: (err) => {
          log.warn(
            { err, lease: `${election.namespace}/${leaseName(config.cluster_id)}` },
            'leader election: the Lease could not be read or written (metrics-listener needs get, create and update on coordination.k8s.io leases in that namespace)',
          );
        },
      })
    : undefined;
  const leading = () => elector?.isLeader() ?? true;
  const metricsApi = createMetricsApi({
    kube: deps.kube,
    log,
    mode: sensing.utilization_source,
    recheckSeconds: sensing.metrics_api_recheck_seconds,
  });
  const queries = createPoolQueries(config.autoscaler.pools, {
    breaker: breakerOptionsOf(config),
    metrics: telemetry.metrics.bus,
    log,
  });

  /** The round's I/O, all at once: node usage (one list for every pool) and each pool's query. */
  async function readExternal(at: number) {
    const [usage, readings] = await Promise.all([metricsApi.nodeUsage(at), queries.readAll(at)]);
    return { usage, readings };
  }

  /** The pool a pod waits for: the one its nodeSelector names, else the default pool. */
  const poolOfPod = (p: PodInfo): string => p.nodeSelector?.[POOL_LABEL] ?? defaultPool ?? '';

  const pendingSamples = (list: ReturnType<typeof pendingUnschedulable>): PendingPod[] =>
    list.map((p) => ({
      namespace: p.namespace,
      name: p.name,
      cpuMillicores: p.requests.cpuMillicores,
      memoryBytes: p.requests.memoryBytes,
      pendingSince: p.since,
      ...(p.workload ? { owner: p.workload } : {}),
      reason: 'Unschedulable',
    }));

  /** The pods waiting for a node at `at`, by the pool they wait for. */
  function pendingByPoolAt(at: number): Map<string, PendingPod[]> {
    const byPool = new Map<string, ReturnType<typeof pendingUnschedulable>>();
    for (const p of pendingUnschedulable(pods.values(), at)) {
      const info = pods.get(podKey(p));
      group(byPool, info ? poolOfPod(info) : (defaultPool ?? ''), p);
    }
    return new Map([...byPool].map(([pool, list]) => [pool, pendingSamples(list)]));
  }

  /** A sensed event as published: one id per pool, type (and node) and sample time, so a retried publish is the same event. */
  const toEvent = (pool: string, e: SenseIntent, at: number): AnyScalewiseEvent =>
    createEvent(e.type, e.data, {
      source,
      clusterid: config.cluster_id,
      id: `${pool}/${e.type.slice('io.scalewise.'.length)}/${'node_name' in e.data ? `${e.data.node_name}/` : ''}${at}`,
    }) as AnyScalewiseEvent;

  /** What one round reads once for all pools: nodes by pool, pods by node, waiting pods by pool. */
  function roundViews(at: number) {
    const nodesByPool = new Map<string, NodeInfo[]>();
    for (const n of nodes.values()) {
      const pool = n.labels[POOL_LABEL];
      if (pool !== undefined && n.deletedAt === undefined) group(nodesByPool, pool, n);
    }
    // A pods pool's workers: its worker Pods (node-manager's pods provider labels them), not
    // finished and not being deleted.
    const workerPodsByPool = new Map<string, PodInfo[]>();
    if (hasPodsPool) {
      for (const p of pods.values()) {
        const pool = p.labels[POOL_LABEL];
        if (
          pool !== undefined &&
          p.labels[WORKER_KIND_LABEL] === 'pod' &&
          p.labels[MANAGED_BY] === 'scalewise' &&
          p.deletedAt === undefined &&
          p.phase !== 'Succeeded' &&
          p.phase !== 'Failed'
        ) {
          group(workerPodsByPool, pool, p);
        }
      }
    }
    return {
      nodesByPool,
      workerPodsByPool,
      byNode: podsByNode(pods.values()),
      pendingByPool: pendingByPoolAt(at),
    };
  }

  function sampleOf(
    policy: SensePolicy,
    at: number,
    views: ReturnType<typeof roundViews>,
    external: { usage: Map<string, NodeUsage> | undefined; readings: Map<string, QueryReading> },
  ): PoolSample {
    const { byNode } = views;
    if (policy.workerKind === 'pod') {
      // Counted, Running ones ready; the core measures no CPU or memory for them.
      const workers = (views.workerPodsByPool.get(policy.pool) ?? []).map((p) => ({
        name: p.name,
        ready: p.phase === 'Running',
        pressure: [],
        cpuAllocatableMillicores: 0,
        memoryAllocatableBytes: 0,
        cpuRequestedMillicores: 0,
        memoryRequestedBytes: 0,
      }));
      const metric = external.readings.get(policy.pool);
      return {
        pool: policy.pool,
        at,
        nodes: workers,
        pending: views.pendingByPool.get(policy.pool) ?? [],
        ...(metric ? { metric } : {}),
      };
    }
    const members = views.nodesByPool.get(policy.pool) ?? [];
    const samples: NodeSample[] = members.map((n) => {
      const u = nodeUtilisation(n, byNode.get(n.name) ?? []);
      const ready = n.conditions.Ready?.status === 'True';
      const used = external.usage?.get(n.name);
      return {
        name: n.name,
        ready,
        ...(n.conditions.Ready
          ? {
              readyCondition: {
                type: 'Ready',
                status: n.conditions.Ready.status,
                ...(n.conditions.Ready.reason ? { reason: n.conditions.Ready.reason } : {}),
              },
            }
          : {}),
        pressure: (['MemoryPressure', 'DiskPressure', 'PIDPressure'] as const)
          .filter((c) => n.conditions[c]?.status === 'True')
          .map((c) => ({
            type: c,
            status: 'True',
            ...(n.conditions[c]?.reason ? { reason: n.conditions[c]?.reason } : {}),
          })),
        cpuAllocatableMillicores: n.allocatable.cpuMillicores,
        memoryAllocatableBytes: n.allocatable.memoryBytes,
        cpuRequestedMillicores: u.requested.cpuMillicores,
        memoryRequestedBytes: u.requested.memoryBytes,
        ...(used ? { cpuUsageMillicores: used.cpuMillicores, memoryUsageBytes: used.memoryBytes } : {}),
      };
    });
    const pending = views.pendingByPool.get(policy.pool) ?? [];
    const metric = external.readings.get(policy.pool);
    return { pool: policy.pool, at, nodes: samples, pending, ...(metric ? { metric } : {}) };
  }

  async function sample(): Promise<AnyScalewiseEvent[]> {
    if (!leading()) return [];
    const at = now();
    const external = await readExternal(at);
    const t0 = performance.now();
    const out: AnyScalewiseEvent[] = [];
    const views = roundViews(at);
    for (const policy of policies) {
      const sampled = sampleOf(policy, at, views, external);
      const r = sense(states.get(policy.pool) ?? initialSenseState(), sampled, policy);
      states.set(policy.pool, r.state);
      for (const e of r.events) out.push(toEvent(policy.pool, e, at));
      const workers = r.events.find((e) => e.type === 'io.scalewise.PoolMetricsObserved');
      if (workers?.type === 'io.scalewise.PoolMetricsObserved') {
        telemetry.metrics.pools.workers(policy.pool, {
          ready: workers.data.ready_workers,
          not_ready: workers.data.workers - workers.data.ready_workers,
        });
      }
    }
    const ms = performance.now() - t0;
    roundSeconds.record(ms / 1000);
    log.debug(
      { ms: Math.round(ms * 100) / 100, nodes: nodes.size, pods: pods.size, events: out.length },
      'sampled',
    );
    if (out.length > 0) await bus.publisher.publish(...out);
    return out;
  }

  /**
   * PendingPodsDetected for pools whose pods the watch showed turning unschedulable since the
   * last report: every pod of the pool waiting now, as a round would report them. Runs in the
   * rounds' chain, so its events never interleave with a round's.
   */
  async function reportPending(poolNames: readonly string[]): Promise<AnyScalewiseEvent[]> {
    if (!leading()) return [];
    const at = now();
    const byPool = pendingByPoolAt(at);
    const out: AnyScalewiseEvent[] = [];
    for (const pool of poolNames) {
      const wait = (readyAt.get(pool) ?? Number.NEGATIVE_INFINITY) + NEW_NODE_GRACE_MS - at;
      if (wait > 0) {
        log.debug(
          { pool, wait_ms: wait },
          'pending pods reported once the node that just turned Ready had its chance',
        );
        const t = setTimeout(() => {
          graceTimers.delete(t);
          kick(pool, 0);
        }, wait);
        graceTimers.add(t);
        continue;
      }
      const e = pendingPodsEvent(pool, byPool.get(pool) ?? [], at);
      if (e) out.push(toEvent(pool, e, at));
    }
    log.debug({ pools: poolNames, events: out.length }, 'pending pods reported from the watch');
    if (out.length > 0) await bus.publisher.publish(...out);
    return out;
  }

  // When a node of a pool turned Ready a moment ago, the scheduler has not yet placed the waiting
  // pods on it (a scale-up just completed): a report from the watch then would ask for workers
  // that the new node is about to serve. It is made once the grace is over, of what still waits.
  const readyAt = new Map<string, number>();
  const graceTimers = new Set<NodeJS.Timeout>();
  nodes.on((e) => {
    // The first list is the cluster as it was: nothing has just turned Ready.
    if (!watching || e.type === 'delete') return;
    const pool = e.object.labels[POOL_LABEL];
    const ready = e.object.conditions.Ready?.status === 'True';
    const wasReady = e.type === 'update' && e.old.conditions.Ready?.status === 'True';
    if (pool !== undefined && ready && !wasReady) readyAt.set(pool, now());
  });

  // Pods the watch has shown unschedulable (keys), and the pools with newly unschedulable ones.
  const unschedulable = new Set<string>();
  const dirtyPools = new Set<string>();
  let pendingTimer: NodeJS.Timeout | undefined;
  let watching = false;
  const known = new Set(policies.map((p) => p.pool));
  pods.on((e) => {
    const key = podKey(e.object);
    const waits =
      e.type !== 'delete' && e.object.unschedulableSince !== undefined && e.object.deletedAt === undefined;
    if (!waits) {
      unschedulable.delete(key);
      return;
    }
    if (unschedulable.has(key)) return;
    unschedulable.add(key);
    const pool = poolOfPod(e.object);
    if (!watching || !sensing.react_to_pending_pods || !known.has(pool)) return;
    kick(pool, sensing.pending_pods_debounce_ms);
  });

  /** Reports the pool's pending pods after `delayMs`, together with the other pools kicked by then. */
  function kick(pool: string, delayMs: number): void {
    if (!watching) return;
    dirtyPools.add(pool);
    pendingTimer ??= setTimeout(() => {
      pendingTimer = undefined;
      const poolNames = [...dirtyPools];
      dirtyPools.clear();
      round = round
        .then(() => reportPending(poolNames))
        .catch((err) => log.error({ err }, 'reporting pending pods failed; the next round reports them'));
    }, delayMs);
  }

  const roundSeconds = telemetry.metrics.meter.createHistogram('scalewise_metrics_listener_round_seconds', {
    description: 'One sampling round over every pool, from the watch caches to the events (publish excluded)',
    unit: 's',
    advice: {
      explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    },
  });

  let timer: NodeJS.Timeout | undefined;
  let bridge: TriggerBridge | undefined;
  let bridgeRedis: Redis | undefined;
  let round: Promise<unknown> = Promise.resolve();
  return {
    nodes,
    pods,
    metricsApi,
    sample,
    isLeader: leading,
    checks: () => [
      ...(elector
        ? [
            {
              name: 'leader-election',
              // Leader or follower is fine; a Lease that cannot be read or written is not.
              check: async () => {
                const err = elector.lastError();
                if (err !== undefined && !elector.isLeader()) throw err;
              },
            },
          ]
        : []),
      {
        name: 'kubernetes',
        check: async () => {
          await deps.kube.core.getAPIResources();
        },
      },
    ],
    async start() {
      nodes.start();
      pods.start();
      await Promise.all([nodes.synced, pods.synced]);
      log.info({ nodes: nodes.size, pods: pods.size }, 'watch caches synced');
      // New unschedulable pods are reported as they come; those already waiting (a restart
      // mid-burst) by a first round now, not one interval later.
      watching = true;
      const nextRound = () => {
        round = round
          .then(sample, sample)
          .catch((err) => log.error({ err }, 'sampling failed; the next round tries again'));
      };
      if (elector) {
        elector.onChange((leader) => {
          log.info(
            { identity: elector.identity, leader },
            leader ? 'elected to sample' : 'no longer samples',
          );
          if (!leader) return;
          // What a previous stretch as leader counted is stale: start the periods afresh.
          for (const p of policies) states.set(p.pool, initialSenseState());
          nextRound();
        });
        await elector.start();
      } else {
        nextRound();
      }
      timer = setInterval(nextRound, config.autoscaler.sensing.sample_interval_seconds * 1000);
      const tb = config.trigger_bridge;
      if (tb.enabled) {
        bridgeRedis = new Redis(config.redis.url);
        bridge = createTriggerBridge({
          redis: bridgeRedis,
          publisher: bus.publisher,
          dlq: bus.dlq,
          stream: tb.stream,
          group: tb.group,
          ...(tb.default_pool ? { defaultPool: tb.default_pool } : {}),
          blockMs: tb.block_ms,
          service: serviceName,
          clusterid: config.cluster_id,
          logger: log,
        });
        await bridge.start();
      }
    },
    async stop() {
      watching = false;
      if (timer) clearInterval(timer);
      if (pendingTimer) clearTimeout(pendingTimer);
      for (const t of graceTimers) clearTimeout(t);
      await elector?.stop();
      await round.catch(() => undefined);
      await bridge?.stop();
      await bridgeRedis?.quit().catch(() => undefined);
      queries.shutdown();
      await Promise.all([nodes.stop(), pods.stop()]);
    },
  };
}

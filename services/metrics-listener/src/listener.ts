/**
 * metrics-listener's shell: watch caches of Nodes and Pods (list, then watch from the
 * resourceVersion; never polling lists), a sample of each pool every
 * `sample_interval_seconds` run through the pure sensing core, and its events published; a pod
 * the watch shows turning unschedulable is reported between rounds (`react_to_pending_pods`).
 * A pool's nodes carry `scalewise.io/pool=<pool>`. Waiting pods go through the scheduling
 * simulation (packages/scheduling, core/simulate.ts) over the caches of Nodes, Pods and
 * PodDisruptionBudgets: a pod belongs to the pool whose node (existing, in flight, or new from
 * the pool's template, chosen by the expander) it was placed on; pods no pool can host are
 * NotTriggerScaleUp; the under-used nodes of a pool go through its removal pass. A pod whose
 * nodeSelector names a `pods` pool (worker pods, no nodes) is that pool's. Utilisation is node
 * usage from metrics.k8s.io when the API server serves it (adapters/metrics-api.ts, one list
 * per round), else requested / allocatable, as the Cluster Autoscaler counts it. A pool with
 * `metrics.prometheus` also has its query run each round (adapters/prometheus.ts). The seed 004
 * Redis Streams trigger bridge runs here too when enabled.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Config, type PoolConfig, poolTemplate, redisClientConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, createEvent, eventIdOf, UNPLACEABLE_KEY } from '@scalewise/events';
import {
  ACTION_ANNOTATION,
  CA_SCALE_DOWN_DISABLED,
  evictionBlocker,
  type Kube,
  type LeaderElector,
  leaderElector,
  MANAGED_BY,
  type NodeInfo,
  nodeCache,
  nodeUtilisation,
  POOL_LABEL,
  type PodInfo,
  pdbCache,
  pendingUnschedulable,
  podCache,
  podKey,
  podsByNode,
  SCALE_DOWN_DISABLED,
  simPod,
  snapshotOf,
  type WatchCache,
  WORKER_KIND_LABEL,
} from '@scalewise/kube';
import type { BoundPod, NodeTemplate, Snapshot } from '@scalewise/scheduling';
import { breakerOptionsOf, type ReadinessCheck, type ServiceContext } from '@scalewise/service';
import { Redis } from 'ioredis';
import { createTriggerBridge, type TriggerBridge } from './adapters/bridge.ts';
import { createMetricsApi, type MetricsApi } from './adapters/metrics-api.ts';
import { createPoolQueries, prometheusSpec } from './adapters/prometheus.ts';
import {
  initialSenseState,
  type NodeSample,
  type NodeUsage,
  type PendingPlan,
  type PendingPod,
  type PoolRemoval,
  type PoolSample,
  pendingPodsEvent,
  planHeadroom,
  planPending,
  planRemovals,
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
  const pdbs = pdbCache(deps.kube);
  for (const c of [nodes, pods, pdbs])
    c.onError((err) => log.warn({ err }, 'watch failed; it retries by itself'));
  const poolConfigs = new Map(config.autoscaler.pools.map((p) => [p.name, p]));
  const podsPools = new Set(policies.filter((p) => p.workerKind === 'pod').map((p) => p.pool));
  const expander = config.autoscaler.scheduling.expander;
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

  const pendingSample = (p: ReturnType<typeof pendingUnschedulable>[number]): PendingPod => ({
    namespace: p.namespace,
    name: p.name,
    cpuMillicores: p.requests.cpuMillicores,
    memoryBytes: p.requests.memoryBytes,
    pendingSince: p.since,
    ...(p.workload ? { owner: p.workload } : {}),
    reason: 'Unschedulable',
  });

  /**
   * The cluster as the caches hold it now, for the simulation. A node NotReady longer than
   * `not_ready_timeout_seconds` is broken, not starting: no pod counts on it.
   */
  const snapshot = (): Snapshot =>
    snapshotOf(nodes.values(), pods.values(), pdbs.values(), {
      now: now(),
      notReadyTimeoutMs: sensing.not_ready_timeout_seconds * 1000,
    });

  // Each node pool's template, as its nodes are made (the config does not change at run time).
  // Among pools the expander finds equal the order decides: sensing.default_pool first.
  const poolTemplates = policies
    .filter((p) => p.workerKind !== 'pod' && poolConfigs.has(p.pool))
    .map((p) => ({ policy: p, template: poolTemplate(poolConfigs.get(p.pool) as PoolConfig) }))
    .sort((a, b) => Number(b.policy.pool === defaultPool) - Number(a.policy.pool === defaultPool));
  const templateOf = new Map(poolTemplates.map((t) => [t.policy.pool, t.template]));

  /** Each node pool's template with the nodes it may still add (its max less the nodes it has). */
  const templates = (nodeCounts: ReadonlyMap<string, number>): NodeTemplate[] =>
    poolTemplates.map(({ policy, template }) => ({
      ...template,
      maxNew: Math.max(0, policy.max - (nodeCounts.get(policy.pool) ?? 0)),
    }));

  /**
   * The pods waiting for a node at `at` through the simulation: by pool, and those no pool can
   * host. A pod whose nodeSelector names a `pods` pool is that pool's, as it is (no nodes).
   */
  function simulatePending(
    at: number,
    snap = snapshot(),
  ): PendingPlan & { podsPools: Map<string, PendingPod[]> } {
    const podsPoolPending = new Map<string, PendingPod[]>();
    const waiting: { pod: ReturnType<typeof simPod>; sample: PendingPod }[] = [];
    for (const p of pendingUnschedulable(pods.values(), at)) {
      const info = pods.get(podKey(p));
      const named = info?.nodeSelector?.[POOL_LABEL];
      if (named !== undefined && podsPools.has(named)) {
        group(podsPoolPending, named, pendingSample(p));
        continue;
      }
      // A pod that names a pool this configuration does not have waits for someone else's
      // nodes (another autoscaler's, or a pool left out on purpose): not ours to report.
      if (named !== undefined && !poolConfigs.has(named)) continue;
      if (info) waiting.push({ pod: simPod(info), sample: pendingSample(p) });
    }
    const nodeCounts = new Map<string, number>();
    for (const n of snap.nodes)
      if (n.pool !== undefined) nodeCounts.set(n.pool, (nodeCounts.get(n.pool) ?? 0) + 1);
    const plan =
      waiting.length > 0
        ? planPending({
            snapshot: snap,
            waiting,
            templates: templates(nodeCounts),
            expander,
            now: at,
            namedPool: (pod) => pod.nodeSelector?.[POOL_LABEL],
          })
        : { byPool: new Map(), unplaceable: null, elsewhere: 0 };
    if (plan.byPool.size > 0) {
      const made = actionNodes(at);
      for (const [pool, e] of plan.byPool) {
        const counts = made.get(pool);
        if (counts) e.simulation.action_nodes = counts;
      }
    }
    return { ...plan, podsPools: podsPoolPending };
  }

  /**
   * Of each pool's nodes, how many each recent action made (node-manager's action id on the
   * node, within the pool's action timeout): the decision-engine subtracts what its actions in
   * flight have already delivered, so the sizing does not hang on which topic it read first.
   */
  function actionNodes(at: number): Map<string, Record<string, number>> {
    const out = new Map<string, Record<string, number>>();
    for (const n of nodes.values()) {
      const pool = n.labels[POOL_LABEL];
      const action = n.annotations[ACTION_ANNOTATION];
      const cfg = pool === undefined ? undefined : poolConfigs.get(pool);
      if (!cfg || action === undefined || n.deletedAt !== undefined) continue;
      if (at - n.createdAt > cfg.action_timeout_seconds * 1000) continue;
      const counts = out.get(cfg.name) ?? {};
      counts[action] = (counts[action] ?? 0) + 1;
      out.set(cfg.name, counts);
    }
    return out;
  }

  /** Why a pod may not be evicted at all (safe-to-evict "false", local storage, no controller). */
  const blocker = (bp: BoundPod): string | undefined => {
    const info = pods.get(bp.key);
    return info ? evictionBlocker(info)?.why : undefined;
  };

  /** Nodes an operator keeps out of scale-down (scalewise.io/ or the Cluster Autoscaler's annotation). */
  const scaleDownDisabled = (name: string): boolean => {
    const a = nodes.get(name)?.annotations;
    return a?.[SCALE_DOWN_DISABLED] === 'true' || a?.[CA_SCALE_DOWN_DISABLED] === 'true';
  };

  /** A sensed event as published: one id per pool, type (and node) and sample time, so a retried publish is the same event. */
  const toEvent = (pool: string, e: SenseIntent, at: number): AnyScalewiseEvent =>
    createEvent(e.type, e.data, {
      source,
      clusterid: config.cluster_id,
      id: eventIdOf(e.type, { pool, node: 'node_name' in e.data ? e.data.node_name : undefined, at }),
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
    const snap = snapshot();
    return {
      nodesByPool,
      workerPodsByPool,
      byNode: podsByNode(pods.values()),
      snapshot: snap,
      plan: simulatePending(at, snap),
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
        pending: views.plan.podsPools.get(policy.pool) ?? [],
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
        createdAt: n.createdAt,
      };
    });
    const simulated = views.plan.byPool.get(policy.pool);
    const metric = external.readings.get(policy.pool);
    return {
      pool: policy.pool,
      at,
      nodes: samples,
      pending: simulated?.pending ?? [],
      ...(simulated ? { simulation: simulated.simulation } : {}),
      ...(metric ? { metric } : {}),
    };
  }

  async function sample(): Promise<AnyScalewiseEvent[]> {
    if (!leading()) return [];
    const at = now();
    const external = await readExternal(at);
    const t0 = performance.now();
    const out: AnyScalewiseEvent[] = [];
    const views = roundViews(at);
    const removals: {
      warning: Extract<SenseIntent, { type: 'io.scalewise.UnderutilizationWarning' }>;
      removal: PoolRemoval;
    }[] = [];
    for (const policy of policies) {
      const sampled = sampleOf(policy, at, views, external);
      const r = sense(states.get(policy.pool) ?? initialSenseState(), sampled, policy);
      states.set(policy.pool, r.state);
      const candidates = r.candidates.filter((c) => !scaleDownDisabled(c.node));
      for (const e of r.events) {
        if (e.type === 'io.scalewise.ResourcePressureAlert' && e.data.resource !== 'metric') {
          // Headroom sized by the simulation: room for one node's worth of the typical pod.
          const template = templateOf.get(policy.pool);
          const headroom = template
            ? planHeadroom({
                snapshot: views.snapshot,
                pool: policy.pool,
                template: { ...template, maxNew: Math.max(0, policy.max - e.data.workers) },
                poolLabel: { key: POOL_LABEL, value: policy.pool },
              })
            : undefined;
          if (headroom) e.data.headroom = headroom;
        }
        if (e.type === 'io.scalewise.UnderutilizationWarning') {
          // The removal pass, once for every pool after the loop: which candidates can go.
          if (candidates.length === 0) continue;
          removals.push({
            warning: e,
            removal: {
              pool: policy.pool,
              candidates,
              maxRemovals: e.data.workers - policy.min,
              cpuHighPercent: policy.cpuHighPercent,
              memoryHighPercent: policy.memoryHighPercent,
            },
          });
          continue;
        }
        out.push(toEvent(policy.pool, e, at));
      }
      const workers = r.events.find((e) => e.type === 'io.scalewise.PoolMetricsObserved');
      if (workers?.type === 'io.scalewise.PoolMetricsObserved') {
        telemetry.metrics.pools.workers(policy.pool, {
          ready: workers.data.ready_workers,
          not_ready: workers.data.workers - workers.data.ready_workers,
        });
      }
    }
    if (removals.length > 0) {
      const sims = planRemovals({ snapshot: views.snapshot, pools: removals.map((r) => r.removal), blocker });
      for (const { warning, removal } of removals) {
        const sim = sims.get(removal.pool);
        if (sim) warning.data.simulation = sim;
        out.push(toEvent(removal.pool, warning, at));
      }
    }
    const unplaceable = unplaceableEvent(views.plan, at);
    if (unplaceable) out.push(unplaceable);
    const ms = performance.now() - t0;
    roundSeconds.record(ms / 1000);
    log.debug(
      { ms: Math.round(ms * 100) / 100, nodes: nodes.size, pods: pods.size, events: out.length },
      'sampled',
    );
    if (out.length > 0) await bus.publisher.publish(...out);
    return out;
  }

  /** NotTriggerScaleUp for the pods no pool can host, keyed apart from every pool. */
  function unplaceableEvent(plan: PendingPlan, at: number): AnyScalewiseEvent | null {
    if (!plan.unplaceable) return null;
    return createEvent('io.scalewise.NotTriggerScaleUp', plan.unplaceable, {
      source,
      clusterid: config.cluster_id,
      partitionkey: UNPLACEABLE_KEY,
      id: `${UNPLACEABLE_KEY}/NotTriggerScaleUp/${at}`,
    }) as AnyScalewiseEvent;
  }

  /**
   * PendingPodsDetected, from the simulation over the caches as they are now, for every pool
   * with waiting pods, once the watch showed pods turning unschedulable since the last report;
   * NotTriggerScaleUp for those no pool can host. Pods that fit a node there or in flight are
   * counted as such (`fit_existing`), so a report right after a scale-up buys nothing for them:
   * no grace period. Runs in the rounds' chain, so its events never interleave with a round's.
   */
  async function reportPending(): Promise<AnyScalewiseEvent[]> {
    if (!leading()) return [];
    const at = now();
    const plan = simulatePending(at);
    const out: AnyScalewiseEvent[] = [];
    for (const [pool, e] of plan.byPool) {
      if (!known.has(pool)) continue;
      const ev = pendingPodsEvent(pool, e.pending, at, e.simulation);
      if (ev) out.push(toEvent(pool, ev, at));
    }
    for (const [pool, list] of plan.podsPools) {
      const ev = pendingPodsEvent(pool, list, at);
      if (ev) out.push(toEvent(pool, ev, at));
    }
    const unplaceable = unplaceableEvent(plan, at);
    if (unplaceable) out.push(unplaceable);
    log.debug({ events: out.length, elsewhere: plan.elsewhere }, 'pending pods reported from the watch');
    if (out.length > 0) await bus.publisher.publish(...out);
    return out;
  }

  // Pods the watch has shown unschedulable (keys).
  const unschedulable = new Set<string>();
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
    if (!watching || !sensing.react_to_pending_pods) return;
    kick(sensing.pending_pods_debounce_ms);
  });

  /** Reports the pending pods after `delayMs`, with every pod turned unschedulable by then. */
  function kick(delayMs: number): void {
    if (!watching) return;
    pendingTimer ??= setTimeout(() => {
      pendingTimer = undefined;
      round = round
        .then(() => reportPending())
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
      pdbs.start();
      await Promise.all([nodes.synced, pods.synced, pdbs.synced]);
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
        // Its own connection (blocking reads), with the same TLS and AUTH as the bus's.
        const { url, ...redisOptions } = redisClientConfig(ctx.loaded);
        bridgeRedis = new Redis(url, redisOptions);
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
      await elector?.stop();
      await round.catch(() => undefined);
      await bridge?.stop();
      await bridgeRedis?.quit().catch(() => undefined);
      queries.shutdown();
      await Promise.all([nodes.stop(), pods.stop(), pdbs.stop()]);
    },
  };
}

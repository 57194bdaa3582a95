/**
 * metrics-listener's wiring: it sees the cluster and says what it sees. The watch caches and
 * their views (adapters/cluster-view.ts); on the elected replica (loops/leader-election.ts) a
 * sampling round every `sample_interval_seconds` (loops/sampling-round.ts) and reports of pods
 * turning unschedulable between rounds (loops/pending-pods.ts), one after the other in one
 * chain; the seed 004 Redis Streams trigger bridge when enabled (loops/trigger-bridge.ts).
 */
import type { AnyScalewiseEvent } from '@scalewise/events';
import type { Kube, NodeInfo, PodInfo, WatchCache } from '@scalewise/kube';
import type { ReadinessCheck, ServiceContext } from '@scalewise/service';
import { createClusterView } from './adapters/cluster-view.ts';
import { createExternalReads } from './adapters/external-reads.ts';
import type { MetricsApi } from './adapters/metrics-api.ts';
import { createSensedEvents } from './adapters/sensed-events.ts';
import { createElection } from './loops/leader-election.ts';
import { createPendingPods } from './loops/pending-pods.ts';
import { createSamplingRound } from './loops/sampling-round.ts';
import { startTriggerBridge } from './loops/trigger-bridge.ts';
import { sensePolicies } from './policies.ts';

export { leaseName } from './loops/leader-election.ts';
export { sensePolicies } from './policies.ts';

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

export interface MetricsListenerDeps {
  kube: Kube;
  /** @default Date.now */
  now?: () => number;
  /** This replica's name on the Lease. */
  identity?: string;
}

export function createMetricsListener(ctx: ServiceContext, deps: MetricsListenerDeps): MetricsListener {
  const { config, bus, telemetry } = ctx;
  const log = telemetry.logger;
  const now = deps.now ?? Date.now;
  const sensing = config.autoscaler.sensing;
  const policies = sensePolicies(config);
  const publish = (...events: AnyScalewiseEvent[]) => bus.publisher.publish(...events);
  const view = createClusterView({ kube: deps.kube, config, policies, now, log });
  const election = createElection({ kube: deps.kube, config, identity: deps.identity, log });
  const events = createSensedEvents({
    source: `/scalewise/${config.cluster_id}/${serviceName}`,
    clusterId: config.cluster_id,
  });
  const external = createExternalReads({ kube: deps.kube, config, telemetry });
  const round = createSamplingRound({
    view,
    policies,
    events,
    readExternal: external.read,
    publish,
    telemetry,
    now,
  });
  const sample = async () => (election.leading() ? round.run() : []);

  // Rounds and pending-pod reports run one after the other, never beside each other.
  let chain: Promise<unknown> = Promise.resolve();
  const enqueue = (fn: () => Promise<unknown>, failure: string) => {
    chain = chain.then(fn, fn).catch((err) => log.error({ err }, failure));
  };
  const nextRound = () => enqueue(sample, 'sampling failed; the next round tries again');
  const pending = createPendingPods({
    view,
    pools: new Set(policies.map((p) => p.pool)),
    events,
    publish,
    leading: election.leading,
    enqueue,
    react: sensing.react_to_pending_pods,
    debounceMs: sensing.pending_pods_debounce_ms,
    now,
    log,
  });

  let timer: NodeJS.Timeout | undefined;
  let stopBridge: () => Promise<void> = async () => undefined;
  return {
    nodes: view.nodes,
    pods: view.pods,
    metricsApi: external.metricsApi,
    sample,
    isLeader: election.leading,
    checks: () => [
      ...election.checks(),
      {
        name: 'kubernetes',
        check: async () => {
          await deps.kube.core.getAPIResources();
        },
      },
    ],
    async start() {
      await view.start();
      log.info({ nodes: view.nodes.size, pods: view.pods.size }, 'watch caches synced');
      // New unschedulable pods are reported as they come; those already waiting (a restart
      // mid-burst) by a first round now, not one interval later.
      pending.start();
      await election.start((elected) => {
        // Newly elected: what a previous stretch as leader counted is stale.
        if (elected) round.reset();
        nextRound();
      });
      timer = setInterval(nextRound, sensing.sample_interval_seconds * 1000);
      stopBridge = await startTriggerBridge(ctx, serviceName);
    },
    async stop() {
      pending.stop();
      if (timer) clearInterval(timer);
      await election.stop();
      await chain.catch(() => undefined);
      await stopBridge();
      external.shutdown();
      await view.stop();
    },
  };
}

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
import { type ClusterView, createClusterView } from './adapters/cluster-view.ts';
import { createExternalReads } from './adapters/external-reads.ts';
import type { MetricsApi } from './adapters/metrics-api.ts';
import { createSensedEvents } from './adapters/sensed-events.ts';
import { createElection, type Election } from './loops/leader-election.ts';
import { createPendingPods, type PendingPods } from './loops/pending-pods.ts';
import { createSamplingRound, type SamplingRound } from './loops/sampling-round.ts';
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

class Listener implements MetricsListener {
  readonly nodes: WatchCache<NodeInfo>;
  readonly pods: WatchCache<PodInfo>;
  readonly metricsApi: MetricsApi;
  private readonly ctx: ServiceContext;
  private readonly kube: Kube;
  private readonly log: ServiceContext['telemetry']['logger'];
  private readonly view: ClusterView;
  private readonly election: Election;
  private readonly external: ReturnType<typeof createExternalReads>;
  private readonly round: SamplingRound;
  private readonly pending: PendingPods;
  /** Rounds and pending-pod reports run one after the other, never beside each other. */
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopBridge: () => Promise<void> = async () => undefined;

  constructor(ctx: ServiceContext, deps: MetricsListenerDeps) {
    const { config, bus, telemetry } = ctx;
    const log = telemetry.logger;
    const now = deps.now ?? Date.now;
    const policies = sensePolicies(config);
    const publish = (...events: AnyScalewiseEvent[]) => bus.publisher.publish(...events);
    this.ctx = ctx;
    this.kube = deps.kube;
    this.log = log;
    this.view = createClusterView({ kube: deps.kube, config, policies, now, log });
    this.election = createElection({ kube: deps.kube, config, identity: deps.identity, log });
    const events = createSensedEvents({
      source: `/scalewise/${config.cluster_id}/${serviceName}`,
      clusterId: config.cluster_id,
    });
    this.external = createExternalReads({ kube: deps.kube, config, telemetry });
    this.round = createSamplingRound({
      view: this.view,
      policies,
      events,
      readExternal: this.external.read,
      publish,
      telemetry,
      now,
    });
    this.pending = createPendingPods({
      view: this.view,
      pools: new Set(policies.map((p) => p.pool)),
      events,
      publish,
      leading: this.election.leading,
      enqueue: (fn, failure) => this.enqueue(fn, failure),
      react: config.autoscaler.sensing.react_to_pending_pods,
      debounceMs: config.autoscaler.sensing.pending_pods_debounce_ms,
      now,
      log,
    });
    this.nodes = this.view.nodes;
    this.pods = this.view.pods;
    this.metricsApi = this.external.metricsApi;
  }

  async sample(): Promise<AnyScalewiseEvent[]> {
    return this.election.leading() ? this.round.run() : [];
  }

  isLeader(): boolean {
    return this.election.leading();
  }

  checks(): ReadinessCheck[] {
    return [
      ...this.election.checks(),
      {
        name: 'kubernetes',
        check: async () => {
          await this.kube.core.getAPIResources();
        },
      },
    ];
  }

  async start(): Promise<void> {
    await this.view.start();
    this.log.info({ nodes: this.view.nodes.size, pods: this.view.pods.size }, 'watch caches synced');
    // New unschedulable pods are reported as they come; those already waiting (a restart
    // mid-burst) by a first round now, not one interval later.
    this.pending.start();
    await this.election.start((elected) => {
      // Newly elected: what a previous stretch as leader counted is stale.
      if (elected) this.round.reset();
      this.nextRound();
    });
    const intervalMs = this.ctx.config.autoscaler.sensing.sample_interval_seconds * 1000;
    this.timer = setInterval(() => this.nextRound(), intervalMs);
    this.stopBridge = await startTriggerBridge(this.ctx, serviceName);
  }

  async stop(): Promise<void> {
    this.pending.stop();
    if (this.timer) clearInterval(this.timer);
    await this.election.stop();
    await this.chain.catch(() => undefined);
    await this.stopBridge();
    this.external.shutdown();
    await this.view.stop();
  }

  /** Runs `fn` after what the chain holds; its failure is logged, the chain goes on. */
  private enqueue(fn: () => Promise<unknown>, failure: string): void {
    this.chain = this.chain.then(fn, fn).catch((err) => this.log.error({ err }, failure));
  }

  private nextRound(): void {
    this.enqueue(() => this.sample(), 'sampling failed; the next round tries again');
  }
}

export function createMetricsListener(ctx: ServiceContext, deps: MetricsListenerDeps): MetricsListener {
  return new Listener(ctx, deps);
}

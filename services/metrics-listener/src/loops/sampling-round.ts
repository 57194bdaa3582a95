/**
 * The sampling round, every `sample_interval_seconds` on the leader: each pool's sample through
 * the pure sensing core, pressure given the simulation's headroom, underutilisation given the
 * removal pass (once, over every pool's candidates), pods no pool can host reported apart, and
 * the events published. Utilisation is node usage from metrics.k8s.io when the API server
 * serves it (adapters/metrics-api.ts, one list per round), else requested / allocatable; a pool
 * with `metrics.prometheus` also has its query read (adapters/prometheus.ts).
 */
import type { AnyScalewiseEvent } from '@scalewise/events';
import { POOL_LABEL } from '@scalewise/kube';
import type { ServiceContext } from '@scalewise/service';
import type { ClusterView, RoundViews } from '../adapters/cluster-view.ts';
import { type External, poolSample } from '../adapters/pool-sample.ts';
import type { SensedEvents } from '../adapters/sensed-events.ts';
import {
  initialSenseState,
  type PoolRemoval,
  planHeadroom,
  planRemovals,
  type SenseIntent,
  type SensePolicy,
  type SensePoolState,
  sense,
} from '../core/index.ts';

type Warning = Extract<SenseIntent, { type: 'io.scalewise.UnderutilizationWarning' }>;
type Pressure = Extract<SenseIntent, { type: 'io.scalewise.ResourcePressureAlert' }>;

export interface SamplingRoundDeps {
  view: ClusterView;
  policies: readonly SensePolicy[];
  events: SensedEvents;
  /** The round's reads outside the caches, all at once. */
  readExternal: (at: number) => Promise<External>;
  publish: (...events: AnyScalewiseEvent[]) => Promise<unknown>;
  telemetry: Pick<ServiceContext['telemetry'], 'logger' | 'metrics'>;
  now: () => number;
}

export interface SamplingRound {
  /** One round now; returns what was published. */
  run(): Promise<AnyScalewiseEvent[]>;
  /** Starts every pool's sensing periods afresh. */
  reset(): void;
}

/** An underutilisation warning held for the removal pass, with what that pass asks of its pool. */
type HeldWarning = { warning: Warning; removal: PoolRemoval };

/** The round's duration histogram (the publish excluded). */
function roundHistogram(metrics: SamplingRoundDeps['telemetry']['metrics']) {
  return metrics.meter.createHistogram('scalewise_metrics_listener_round_seconds', {
    description: 'One sampling round over every pool, from the watch caches to the events (publish excluded)',
    unit: 's',
    advice: {
      explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    },
  });
}

/** The removal pass's request for a pool's warning: its candidates, as many as it may lose. */
function removalOf(policy: SensePolicy, e: Warning, candidates: PoolRemoval['candidates']): PoolRemoval {
  return {
    pool: policy.pool,
    candidates,
    maxRemovals: e.data.workers - policy.min,
    cpuHighPercent: policy.cpuHighPercent,
    memoryHighPercent: policy.memoryHighPercent,
  };
}

class PoolSamplingRound implements SamplingRound {
  private readonly deps: SamplingRoundDeps;
  private readonly view: ClusterView;
  /** Each pool's sensing state, carried from round to round. */
  private readonly states: Map<string, SensePoolState>;
  private readonly roundSeconds: ReturnType<typeof roundHistogram>;

  constructor(deps: SamplingRoundDeps) {
    this.deps = deps;
    this.view = deps.view;
    this.states = new Map(deps.policies.map((p) => [p.pool, initialSenseState()]));
    this.roundSeconds = roundHistogram(deps.telemetry.metrics);
  }

  async run(): Promise<AnyScalewiseEvent[]> {
    const at = this.deps.now();
    const external = await this.deps.readExternal(at);
    const t0 = performance.now();
    const out: AnyScalewiseEvent[] = [];
    const views = this.view.roundViews(at);
    const removals: HeldWarning[] = [];
    for (const policy of this.deps.policies) this.sensePool(policy, at, views, external, out, removals);
    if (removals.length > 0) this.removalPass(at, views, removals, out);
    const unplaceable = this.deps.events.unplaceable(views.plan, at);
    if (unplaceable) out.push(unplaceable);
    const ms = performance.now() - t0;
    this.roundSeconds.record(ms / 1000);
    this.deps.telemetry.logger.debug(
      {
        ms: Math.round(ms * 100) / 100,
        nodes: this.view.nodes.size,
        pods: this.view.pods.size,
        events: out.length,
      },
      'sampled',
    );
    if (out.length > 0) await this.deps.publish(...out);
    return out;
  }

  reset(): void {
    for (const p of this.deps.policies) this.states.set(p.pool, initialSenseState());
  }

  /**
   * One pool's events of the round into `out`; its underutilisation warning, when a candidate
   * node may go, into `removals` for the removal pass.
   */
  private sensePool(
    policy: SensePolicy,
    at: number,
    views: RoundViews,
    external: External,
    out: AnyScalewiseEvent[],
    removals: HeldWarning[],
  ): void {
    const r = sense(
      this.states.get(policy.pool) ?? initialSenseState(),
      poolSample(policy, at, views, external),
      policy,
    );
    this.states.set(policy.pool, r.state);
    const candidates = r.candidates.filter((c) => !this.view.scaleDownDisabled(c.node));
    for (const e of r.events) {
      if (e.type === 'io.scalewise.ResourcePressureAlert') this.withHeadroom(e, policy, views);
      if (e.type === 'io.scalewise.UnderutilizationWarning') {
        if (candidates.length > 0) removals.push({ warning: e, removal: removalOf(policy, e, candidates) });
        continue;
      }
      out.push(this.deps.events.ofPool(policy.pool, e, at));
    }
    const observed = r.events.find((e) => e.type === 'io.scalewise.PoolMetricsObserved');
    if (observed?.type === 'io.scalewise.PoolMetricsObserved') {
      this.deps.telemetry.metrics.pools.workers(policy.pool, {
        ready: observed.data.ready_workers,
        not_ready: observed.data.workers - observed.data.ready_workers,
      });
    }
  }

  /** Headroom sized by the simulation: room for one node's worth of the typical pod. */
  private withHeadroom(e: Pressure, policy: SensePolicy, views: RoundViews): void {
    if (e.data.resource === 'metric') return;
    const template = this.view.templateOf.get(policy.pool);
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

  /** The removal pass, once for every pool: which candidates can go; the warnings into `out`. */
  private removalPass(
    at: number,
    views: RoundViews,
    removals: HeldWarning[],
    out: AnyScalewiseEvent[],
  ): void {
    const sims = planRemovals({
      snapshot: views.snapshot,
      pools: removals.map((r) => r.removal),
      blocker: (bp) => this.view.blocker(bp),
    });
    for (const { warning, removal } of removals) {
      const sim = sims.get(removal.pool);
      if (sim) warning.data.simulation = sim;
      out.push(this.deps.events.ofPool(removal.pool, warning, at));
    }
  }
}

export function createSamplingRound(deps: SamplingRoundDeps): SamplingRound {
  return new PoolSamplingRound(deps);
}

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

export function createSamplingRound(deps: SamplingRoundDeps): SamplingRound {
  const { view, policies, events, telemetry, now } = deps;
  const log = telemetry.logger;
  const states = new Map<string, SensePoolState>(policies.map((p) => [p.pool, initialSenseState()]));
  const roundSeconds = telemetry.metrics.meter.createHistogram('scalewise_metrics_listener_round_seconds', {
    description: 'One sampling round over every pool, from the watch caches to the events (publish excluded)',
    unit: 's',
    advice: {
      explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    },
  });

  /** Headroom sized by the simulation: room for one node's worth of the typical pod. */
  function withHeadroom(e: Pressure, policy: SensePolicy, views: RoundViews): void {
    if (e.data.resource === 'metric') return;
    const template = view.templateOf.get(policy.pool);
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

  /**
   * One pool's events of the round into `out`; its underutilisation warning, when a candidate
   * node may go, into `removals` for the removal pass.
   */
  function sensePool(
    policy: SensePolicy,
    at: number,
    views: RoundViews,
    external: External,
    out: AnyScalewiseEvent[],
    removals: { warning: Warning; removal: PoolRemoval }[],
  ): void {
    const r = sense(
      states.get(policy.pool) ?? initialSenseState(),
      poolSample(policy, at, views, external),
      policy,
    );
    states.set(policy.pool, r.state);
    const candidates = r.candidates.filter((c) => !view.scaleDownDisabled(c.node));
    for (const e of r.events) {
      if (e.type === 'io.scalewise.ResourcePressureAlert') withHeadroom(e, policy, views);
      if (e.type === 'io.scalewise.UnderutilizationWarning') {
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
      out.push(events.ofPool(policy.pool, e, at));
    }
    const observed = r.events.find((e) => e.type === 'io.scalewise.PoolMetricsObserved');
    if (observed?.type === 'io.scalewise.PoolMetricsObserved') {
      telemetry.metrics.pools.workers(policy.pool, {
        ready: observed.data.ready_workers,
        not_ready: observed.data.workers - observed.data.ready_workers,
      });
    }
  }

  async function run(): Promise<AnyScalewiseEvent[]> {
    const at = now();
    const external = await deps.readExternal(at);
    const t0 = performance.now();
    const out: AnyScalewiseEvent[] = [];
    const views = view.roundViews(at);
    const removals: { warning: Warning; removal: PoolRemoval }[] = [];
    for (const policy of policies) sensePool(policy, at, views, external, out, removals);
    if (removals.length > 0) {
      // The removal pass, once for every pool: which candidates can go.
      const sims = planRemovals({
        snapshot: views.snapshot,
        pools: removals.map((r) => r.removal),
        blocker: view.blocker,
      });
      for (const { warning, removal } of removals) {
        const sim = sims.get(removal.pool);
        if (sim) warning.data.simulation = sim;
        out.push(events.ofPool(removal.pool, warning, at));
      }
    }
    const unplaceable = events.unplaceable(views.plan, at);
    if (unplaceable) out.push(unplaceable);
    const ms = performance.now() - t0;
    roundSeconds.record(ms / 1000);
    log.debug(
      { ms: Math.round(ms * 100) / 100, nodes: view.nodes.size, pods: view.pods.size, events: out.length },
      'sampled',
    );
    if (out.length > 0) await deps.publish(...out);
    return out;
  }

  return {
    run,
    reset() {
      for (const p of policies) states.set(p.pool, initialSenseState());
    },
  };
}

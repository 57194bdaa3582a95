/**
 * The decision core's state: plain JSON-serialisable data per pool, so the shell can keep it
 * in Redis or rebuild it by replaying events.
 */
import type { EventData } from '@scalewise/events';
import type { Recommendation, ScaleEvent } from './hpa.ts';
import type { PoolPolicy } from './policy.ts';

/** An action that was decided or started and has not completed, failed or expired. */
export interface InFlightAction {
  /** The id of the decision event the action carries out (node-manager's `action_id`). */
  id: string;
  direction: 'up' | 'down';
  count: number;
  /** Nodes not yet created (up) or removed (down). */
  remaining: number;
  startedAt: number;
  expiresAt: number;
  /** decision: taken here; floor: AutoScaleUpToMinimum/EmergencyScaleUp; external: only seen started. */
  origin: 'decision' | 'floor' | 'external';
}

export interface UnhealthyNode {
  node: string;
  status: string;
  at: number;
}

export interface Utilization {
  cpu: number;
  memory: number;
  at: number;
}

export type BlockReason =
  | 'pending_pods'
  | 'node_unhealthy'
  | 'action_in_flight'
  | 'at_minimum'
  | 'cooldown'
  | 'stabilization_window'
  | 'rate_limited'
  | 'paused'
  | 'policy_disabled'
  | 'pods_cannot_move';

export interface PoolState {
  policy: PoolPolicy;
  /** Limits in force: the policy's, or the last accepted `trigger.update`. */
  min: number;
  max: number;
  /** Workers the pool has, as last reported; null until an event reports it. */
  workers: number | null;
  readyWorkers: number | null;
  inFlight: InFlightAction[];
  lastScaleUpAt: number | null;
  lastScaleDownAt: number | null;
  /** Last decision, completion or failure: the cooldown runs from here. */
  lastActionAt: number | null;
  /** Recommendations within the longest stabilisation window. */
  recommendations: Recommendation[];
  /** Size changes within the longest policy period. */
  scaleEvents: ScaleEvent[];
  /** Pods pending, and the size that fits them (null when only a metrics sample reported them). */
  pending: { count: number; target: number | null; at: number } | null;
  unhealthy: UnhealthyNode[];
  paused: { at: number; reason: string | null } | null;
  /** Since when CPU and memory have been below the low thresholds, while they still are. */
  /**
   * Since when the pool has been underutilised; with `simulation`, the scheduling simulation's
   * verdict of the last UnderutilizationWarning: the nodes that can go, in order, and those that
   * must stay with the pod and constraint that keep them.
   */
  underutilized: {
    since: number;
    simulation?: NonNullable<EventData<'io.scalewise.UnderutilizationWarning'>['simulation']>;
  } | null;
  lastUtilization: Utilization | null;
  /** OptimalStateTrigger(active) was announced for the current stretch at the minimum. */
  optimalAnnounced: boolean;
  /** The last ScaleDownBlocked reason emitted in this stretch (repeats on samples are dropped). */
  lastBlockedReason: BlockReason | null;
}

export interface EngineState {
  pools: Record<string, PoolState>;
}

function freshPool(policy: PoolPolicy, workers: number | null): PoolState {
  return {
    policy,
    min: policy.min,
    max: policy.max,
    workers,
    readyWorkers: null,
    inFlight: [],
    lastScaleUpAt: null,
    lastScaleDownAt: null,
    lastActionAt: null,
    recommendations: [],
    scaleEvents: [],
    pending: null,
    unhealthy: [],
    paused: null,
    underutilized: null,
    lastUtilization: null,
    optimalAnnounced: false,
    lastBlockedReason: null,
  };
}

/**
 * The state before any event. `workers` gives pools a known size (e.g. from the state store);
 * otherwise a pool's size is unknown, and nothing is decided for it, until an event reports it.
 */
export function initialState(
  policies: readonly PoolPolicy[],
  workers: Readonly<Record<string, number>> = {},
): EngineState {
  const pools: Record<string, PoolState> = {};
  for (const p of policies) pools[p.name] = freshPool(p, workers[p.name] ?? null);
  return { pools };
}

/**
 * Applies a new set of policies (a config reload) to a state: new pools start fresh, removed
 * pools are dropped, kept pools keep their runtime state. A runtime min/max (from
 * `trigger.update`) holds until the configured value itself changes.
 */
export function withPolicies(state: EngineState, policies: readonly PoolPolicy[]): EngineState {
  const pools: Record<string, PoolState> = {};
  for (const p of policies) {
    const old = state.pools[p.name];
    if (!old) {
      pools[p.name] = freshPool(p, null);
      continue;
    }
    const configChanged = old.policy.min !== p.min || old.policy.max !== p.max;
    pools[p.name] = {
      ...old,
      policy: p,
      min: configChanged ? p.min : old.min,
      max: configChanged ? p.max : old.max,
    };
  }
  return { pools };
}

/**
 * The size the pool is heading for: its workers, less what in-flight scale-downs still remove
 * (never more than there are: a report may already count a removal whose NodeRemoved is still
 * on its way), plus what in-flight scale-ups still add.
 */
export function desiredOf(pool: PoolState): number | null {
  if (pool.workers === null) return null;
  let up = 0;
  let down = 0;
  for (const a of pool.inFlight) {
    if (a.direction === 'up') up += a.remaining;
    else down += a.remaining;
  }
  return Math.max(0, pool.workers - down) + up;
}

/** A private copy of one pool's state for a decision step to change. */
export function clonePool(pool: PoolState): PoolState {
  // By hand: structuredClone was 95 % of a step's time. The policy is shared, never changed.
  return {
    ...pool,
    inFlight: pool.inFlight.map((a) => ({ ...a })),
    recommendations: pool.recommendations.map((r) => ({ ...r })),
    scaleEvents: pool.scaleEvents.map((e) => ({ ...e })),
    pending: pool.pending && { ...pool.pending },
    unhealthy: pool.unhealthy.map((u) => ({ ...u })),
    paused: pool.paused && { ...pool.paused },
    underutilized: pool.underutilized && { ...pool.underutilized },
    lastUtilization: pool.lastUtilization && { ...pool.lastUtilization },
  };
}

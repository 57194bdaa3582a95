/**
 * The decision core's state: plain JSON-serialisable data per pool, so the shell can keep it
 * in Redis or rebuild it by replaying events.
 */
import type { EventData } from '@scalewise/events';
import {
  claim,
  emptyLedger,
  type Hold,
  headingFor,
  inFlightOf,
  type Ledger,
  limitsOf,
  listed,
  readyWorkersOf,
  withHold,
  withLimits,
  workersOf,
} from '@scalewise/pool';
import type { Recommendation, ScaleEvent } from './hpa.ts';
import type { PoolPolicy } from './policy.ts';

/** An action that was decided or started and has not completed, failed or expired (the ledger's). */
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
  | 'pods_cannot_move'
  | 'trigger_hold';

/**
 * One pool as a decision step sees it. `min`, `max`, `workers`, `readyWorkers` and `inFlight`
 * are the pool ledger's (packages/pool), set at the start of every step ({@link viewOf}); the
 * rest is the engine's own.
 */
export interface PoolState {
  policy: PoolPolicy;
  /** Limits in force: the policy's, or the last accepted `trigger.update`. */
  min: number;
  max: number;
  /** Workers the pool has; null until its members have been listed once. */
  workers: number | null;
  readyWorkers: number | null;
  inFlight: InFlightAction[];
  /** The external target pursued or held (the ledger's; hold.ts). */
  hold: Hold | null;
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
  /** The pool ledgers, by pool: read at the start of every step, written with the claims. */
  ledgers: Record<string, Ledger>;
}

function freshPool(policy: PoolPolicy, workers: number | null): PoolState {
  return {
    policy,
    min: policy.min,
    max: policy.max,
    workers,
    readyWorkers: null,
    inFlight: [],
    hold: null,
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
 * The state before any event. `ledgers` give pools a known size; `workers` (tests, tools)
 * gives a pool a ledger listing that many Ready members named `<pool>-<i>`. Otherwise a
 * pool's size is unknown, and nothing is decided for it, until state-sync lists its members.
 */
export function initialState(
  policies: readonly PoolPolicy[],
  workers: Readonly<Record<string, number>> = {},
  ledgers: Readonly<Record<string, Ledger>> = {},
  now = 0,
): EngineState {
  const pools: Record<string, PoolState> = {};
  const books: Record<string, Ledger> = {};
  for (const p of policies) {
    const n = workers[p.name];
    const l =
      ledgers[p.name] ??
      (n === undefined
        ? emptyLedger(p.name)
        : listed(
            emptyLedger(p.name),
            Array.from({ length: n }, (_, i) => ({ name: `${p.name}-${i}`, ready: true })),
            now,
          ).ledger);
    books[p.name] = l;
    pools[p.name] = viewOf(freshPool(p, null), l, now);
  }
  return { pools, ledgers: books };
}

/**
 * A copy of the pool for a step, with the ledger's numbers: limits, workers, and the actions
 * in flight (decided here, floor repairs, or started by someone else). A change of the size
 * starts a new stretch for OptimalStateTrigger.
 */
export function viewOf(pool: PoolState, l: Ledger, now: number): PoolState {
  const p = clonePool(pool);
  const workers = workersOf(l);
  if (p.workers !== workers) p.optimalAnnounced = false;
  p.workers = workers;
  p.readyWorkers = readyWorkersOf(l);
  const { min, max } = limitsOf(l, p.policy.min, p.policy.max);
  p.min = min;
  p.max = max;
  p.hold = l.hold && { ...l.hold, actions: [...l.hold.actions] };
  p.inFlight = inFlightOf(l, now).map((a) => ({
    id: a.id,
    direction: a.direction,
    count: a.count,
    remaining: a.remaining,
    startedAt: a.at,
    expiresAt: a.expiresAt,
    origin: a.origin === 'floor' ? 'floor' : a.origin === 'external' ? 'external' : 'decision',
  }));
  return p;
}

/**
 * The ledger after a step: the actions the step decided are claimed (a scale-down with the
 * nodes it names), limits it changed (an accepted `trigger.update` from `source`) are set, and
 * so is the held target.
 */
export function settled(
  l: Ledger,
  pool: PoolState,
  decided: readonly { id: string; type: string; data: unknown }[],
  now: number,
  source: string,
): Ledger {
  let next = l;
  for (const a of pool.inFlight) {
    if (a.origin !== 'decision' || next.actions[a.id]) continue;
    const e = decided.find((d) => d.id === a.id);
    const nodes = (e?.data as { nodes?: string[] } | undefined)?.nodes;
    next = claim(next, {
      id: a.id,
      direction: a.direction,
      count: a.count,
      origin: 'decision',
      now,
      timeoutMs: a.expiresAt - a.startedAt,
      ...(nodes ? { nodes } : {}),
    });
  }
  const limits = limitsOf(next, pool.policy.min, pool.policy.max);
  if (limits.min !== pool.min || limits.max !== pool.max) {
    next = withLimits(next, {
      min: pool.min,
      max: pool.max,
      source,
      at: now,
      base: { min: pool.policy.min, max: pool.policy.max },
    });
  }
  return withHold(next, pool.hold ?? null);
}

/**
 * Applies a new set of policies (a config reload) to a state: new pools start fresh, removed
 * pools are dropped, kept pools keep their runtime state. A runtime min/max (from
 * `trigger.update`, in the ledger) holds until the configured value itself changes.
 */
export function withPolicies(state: EngineState, policies: readonly PoolPolicy[]): EngineState {
  const pools: Record<string, PoolState> = {};
  const ledgers: Record<string, Ledger> = {};
  for (const p of policies) {
    const old = state.pools[p.name];
    ledgers[p.name] = state.ledgers[p.name] ?? emptyLedger(p.name);
    pools[p.name] = old ? { ...old, policy: p } : freshPool(p, null);
  }
  return { pools, ledgers };
}

/**
 * The size the pool is heading for: the ledger's rule (headingFor) over the step's view of
 * the pool, its workers and the actions in flight with what each still has to do.
 */
export function desiredOf(pool: PoolState): number | null {
  return headingFor(pool.workers, pool.inFlight);
}

/** A private copy of one pool's state for a decision step to change. */
export function clonePool(pool: PoolState): PoolState {
  // By hand: structuredClone was 95 % of a step's time. The policy is shared, never changed.
  return {
    ...pool,
    inFlight: pool.inFlight.map((a) => ({ ...a })),
    hold: pool.hold ? { ...pool.hold, actions: [...pool.hold.actions] } : null,
    recommendations: pool.recommendations.map((r) => ({ ...r })),
    scaleEvents: pool.scaleEvents.map((e) => ({ ...e })),
    pending: pool.pending && { ...pool.pending },
    unhealthy: pool.unhealthy.map((u) => ({ ...u })),
    paused: pool.paused && { ...pool.paused },
    underutilized: pool.underutilized && { ...pool.underutilized },
    lastUtilization: pool.lastUtilization && { ...pool.lastUtilization },
  };
}

/**
 * The state of one pool as stored (the engine's part beside its ledger; null: none yet), with
 * the configured policy applied: a config change takes effect here.
 */
export function storedState(
  policy: PoolPolicy,
  stored: PoolState | null,
  ledger: Ledger,
  now: number,
): EngineState {
  const base = stored
    ? { pools: { [policy.name]: stored }, ledgers: { [policy.name]: ledger } }
    : initialState([policy], {}, { [policy.name]: ledger }, now);
  return withPolicies(base, [policy]);
}

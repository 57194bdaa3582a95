/**
 * The floor: `enforce(state, input, now) -> { state, events }`. Pure: no I/O, no clock (now is
 * epoch ms, given), no await; the input state is never mutated; it never throws (an input it
 * cannot use changes nothing).
 *
 * The pool's size, its actions in flight, its losses and its limits are the pool ledger's
 * (packages/pool, `state.ledgers`): node-manager and state-sync wrote each fact there before
 * publishing the event that states it, so an event read here finds the ledger already
 * holding it, and the order the topics are read in does not matter. The floor check runs on
 * every consumed event and every `tick` (the shell sends one each `min_violation_check_interval`):
 * - workers < min, first time: MinimumNodesViolation;
 * - then, unless the actions in flight already cover the deficit (`min - desired`, where
 *   desired is the workers plus what scale-ups in flight still add, less what scale-downs
 *   still remove; a decision of the decision engine counts as much as a repair of ours):
 *   AutoScaleUpToMinimum for the deficit; or, when `emergencyScaleThreshold` nodes or more
 *   were lost unexpectedly within the last `emergencyWindowSeconds`, EmergencyScaleUp for
 *   twice the deficit (seed 000: "scale up 2x if this many lost"), within max. The action is
 *   claimed in the ledger in the same write, so no one repairs the deficit again; none for one
 *   check interval after a floor action failed (the failure's time is the ledger's);
 * - workers >= min again, with no scale-up in flight: MinimumNodesRestored with the
 *   violation's duration (seed 000 flow 2: after ScalingActionCompleted, not at NodeReady).
 * Every number the events state is the ledger's at that moment.
 */
import { catalogue, type EventData, type EventIntent, eventIdOf } from '@scalewise/events';
import {
  claim,
  desiredOf,
  emptyLedger,
  inFlightOf,
  type Ledger,
  limitsOf,
  lossesSince,
  withLimits,
  workersOf,
} from '@scalewise/pool';
import { type FloorPolicy, sourceAllowed } from './policy.ts';

/** Events the enforcer consumes. */
export const enforcerEventTypes = [
  'io.scalewise.NodeReady',
  'io.scalewise.NodeRemoved',
  'io.scalewise.NodeUnexpectedlyLost',
  'io.scalewise.ClusterStateSynced',
  'io.scalewise.ScaleUpStarted',
  'io.scalewise.ScaleDownStarted',
  'io.scalewise.ScalingActionCompleted',
  'io.scalewise.ScalingActionFailed',
  'io.scalewise.trigger.update',
] as const;
export type EnforcerEventType = (typeof enforcerEventTypes)[number];

/** A consumed event: the parts of a CloudEvent the core reads (a `ScalewiseEvent` is one). */
export type EnforcerEvent = {
  [T in EnforcerEventType]: { id: string; type: T; source: string; data: EventData<T> };
}[EnforcerEventType];

/** The periodic check. `id` names it (the shell's choice, unique per tick) and seeds the output ids. */
export interface Tick {
  type: 'tick';
  id: string;
}

export type EnforcerInput = EnforcerEvent | Tick;

export const enforcerOutputTypes = [
  'io.scalewise.MinimumNodesViolation',
  'io.scalewise.AutoScaleUpToMinimum',
  'io.scalewise.EmergencyScaleUp',
  'io.scalewise.MinimumNodesRestored',
] as const;
export type EnforcerOutputType = (typeof enforcerOutputTypes)[number];

/**
 * An event to publish, in order. The id is deterministic (`<input id>/<pool>/<name>`) and must
 * be used as the CloudEvent id: node-manager keys the action by it, and this core tracks the
 * floor action in flight under it. `causedBy` is the input (a tick has no parent event).
 */
export type EnforcerIntent<I = EnforcerInput> = EventIntent<EnforcerOutputType> & { id: string; causedBy: I };

export interface FloorPoolState {
  policy: FloorPolicy;
  violation: { since: number } | null;
  /** After a failed floor action, none is issued before this time. */
  retryAt: number | null;
}

export interface EnforcerState {
  pools: Record<string, FloorPoolState>;
  /** The pool ledgers (packages/pool), by pool: read for every number, written with claims. */
  ledgers: Record<string, Ledger>;
}

export interface Enforcement<I = EnforcerInput> {
  state: EnforcerState;
  events: EnforcerIntent<I>[];
}

/** The state before any event; the ledgers are empty (the size unknown) unless given. */
export function initialEnforcerState(
  policies: readonly FloorPolicy[],
  ledgers: Readonly<Record<string, Ledger>> = {},
): EnforcerState {
  const pools: Record<string, FloorPoolState> = {};
  const books: Record<string, Ledger> = {};
  for (const p of policies) {
    pools[p.name] = { policy: p, violation: null, retryAt: null };
    books[p.name] = ledgers[p.name] ?? emptyLedger(p.name);
  }
  return { pools, ledgers: books };
}

const consumed: ReadonlySet<string> = new Set(enforcerEventTypes);

interface Step {
  pool: FloorPoolState;
  ledger: Ledger;
  now: number;
  input: EnforcerInput;
  events: EnforcerIntent[];
}

/**
 * Applies one input.
 * @param now epoch milliseconds; a value that is no valid Date makes the input a no-op.
 * @returns the next state (the input state untouched) and the events to publish, in order.
 */
export function enforce<I extends EnforcerInput>(
  state: EnforcerState,
  input: I,
  now: number,
): Enforcement<I> {
  const unchanged: Enforcement<I> = { state, events: [] };
  // Outside the range of Date the event times could not be written: treat like a non-number.
  if (typeof input !== 'object' || input === null || !(Math.abs(now) <= 8.64e15)) return unchanged;
  if (input.type === 'tick') {
    if (typeof input.id !== 'string' || input.id.length === 0) return unchanged;
    const pools: Record<string, FloorPoolState> = {};
    const ledgers: Record<string, Ledger> = { ...state.ledgers };
    const events: EnforcerIntent[] = [];
    for (const [name, pool] of Object.entries(state.pools)) {
      const s = stepOf(state, name, pool, input, now, events);
      housekeep(s);
      check(s);
      pools[name] = s.pool;
      ledgers[name] = s.ledger;
    }
    return { state: { pools, ledgers }, events: events as EnforcerIntent<I>[] };
  }
  if (typeof input.type !== 'string' || !consumed.has(input.type)) return unchanged;
  const parsed = catalogue[input.type].schema.safeParse(input.data);
  if (!parsed.success) return unchanged;
  const data = parsed.data as { pool: string };
  const pool = Object.hasOwn(state.pools, data.pool) ? state.pools[data.pool] : undefined;
  if (!pool) return unchanged;
  const s = stepOf(state, data.pool, pool, input, now, []);
  housekeep(s);
  if (!apply(s, { ...input, data } as EnforcerEvent)) return unchanged;
  check(s);
  return {
    state: {
      pools: { ...state.pools, [data.pool]: s.pool },
      ledgers: { ...state.ledgers, [data.pool]: s.ledger },
    },
    events: s.events as EnforcerIntent<I>[],
  };
}

function stepOf(
  state: EnforcerState,
  name: string,
  pool: FloorPoolState,
  input: EnforcerInput,
  now: number,
  events: EnforcerIntent[],
): Step {
  return {
    pool: { ...pool, violation: pool.violation && { ...pool.violation } },
    ledger: state.ledgers[name] ?? emptyLedger(name),
    now,
    input,
    events,
  };
}

/**
 * The back-off after a failed floor action runs one check interval from the failure as the
 * ledger has it: node-manager writes the failure there before publishing it, so a check may
 * find it before its ScalingActionFailed is read, and must wait as the event would have made it.
 */
function housekeep(s: Step): void {
  const p = s.pool;
  const interval = p.policy.checkIntervalSeconds * 1000;
  for (const a of Object.values(s.ledger.actions)) {
    if (a.origin !== 'floor' || a.state !== 'failed' || a.endedAt === undefined) continue;
    const until = a.endedAt + interval;
    if (until > s.now && (p.retryAt === null || until > p.retryAt)) p.retryAt = until;
  }
  if (p.retryAt !== null && p.retryAt <= s.now) p.retryAt = null;
}

/** Applies an event to the pool; false when it changes nothing (a refused trigger). */
function apply(s: Step, e: EnforcerEvent): boolean {
  const p = s.pool;
  switch (e.type) {
    case 'io.scalewise.trigger.update': {
      // The decision engine answers refused updates with TriggerRejected; here they change
      // nothing. Accepted, both services write the same limits into the ledger.
      if (typeof e.source !== 'string' || e.source.length === 0) return false;
      if (!sourceAllowed(e.source, p.policy.allowedTriggerSources)) return false;
      const cur = limitsOf(s.ledger, p.policy.min, p.policy.max);
      const min = e.data.min ?? cur.min;
      const max = e.data.max ?? cur.max;
      if (min > max || max < 1) return false;
      s.ledger = withLimits(s.ledger, {
        min,
        max,
        source: e.source,
        at: s.now,
        base: { min: p.policy.min, max: p.policy.max },
      });
      return true;
    }
    default:
      // Node, state and action events: their facts are in the ledger already (a failure of a
      // floor action too: housekeep read its back-off from there); the check runs.
      return true;
  }
}

const idOf = (s: Step, type: EnforcerOutputType): string =>
  eventIdOf(type, { from: s.input.id, pool: s.pool.policy.name });

function emit<T extends EnforcerOutputType>(s: Step, type: T, data: EventData<T>): string {
  const id = idOf(s, type);
  // A dry-run pool's floor actions are reported, marked, and tracked like real ones (so they do
  // not repeat on every tick), but node-manager does not carry them out.
  const acts = type === 'io.scalewise.AutoScaleUpToMinimum' || type === 'io.scalewise.EmergencyScaleUp';
  const marked = acts && s.pool.policy.dryRun ? { ...data, dry_run: true } : data;
  s.events.push({ id, type, data: marked, causedBy: s.input } as EnforcerIntent);
  return id;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The floor check, after every consumed event and on every tick. */
function check(s: Step): void {
  const p = s.pool;
  const l = s.ledger;
  const workers = workersOf(l);
  if (workers === null) return;
  const name = p.policy.name;
  const { min, max } = limitsOf(l, p.policy.min, p.policy.max);
  const inFlight = inFlightOf(l, s.now);
  if (workers >= min) {
    if (p.violation && !inFlight.some((a) => a.direction === 'up') && !completionOnItsWay(s)) {
      emit(s, 'io.scalewise.MinimumNodesRestored', {
        pool: name,
        current_workers: workers,
        min_workers: min,
        restore_time: iso(s.now),
        violation_duration: Math.max(0, (s.now - p.violation.since) / 1000),
      });
      p.violation = null;
    }
    return;
  }
  if (!p.violation) {
    p.violation = { since: s.now };
    emit(s, 'io.scalewise.MinimumNodesViolation', {
      pool: name,
      current_workers: workers,
      min_workers: min,
      violation_time: iso(s.now),
    });
  }
  if (!p.policy.autoScaleToMin || p.retryAt !== null) return;
  const desired = desiredOf(l, s.now) ?? workers;
  const deficit = Math.min(min, max) - desired;
  // Covered already: the actions in flight (ours or a decision's) will bring it to the floor.
  if (deficit < 1) return;
  const room = max - desired;
  const losses = lossesSince(l, s.now - p.policy.emergencyWindowSeconds * 1000);
  const emergency = losses.length >= p.policy.emergencyScaleThreshold;
  // This input acted already (read again): its action is in the ledger, ended or not. Issued
  // again under the same id it could not be claimed, and node-manager would take it for a
  // duplicate; the next check repairs under a new one.
  const type = emergency ? 'io.scalewise.EmergencyScaleUp' : 'io.scalewise.AutoScaleUpToMinimum';
  if (Object.hasOwn(l.actions, idOf(s, type))) return;
  if (emergency) {
    const count = Math.min(room, 2 * deficit);
    const id = emit(s, 'io.scalewise.EmergencyScaleUp', {
      pool: name,
      lost_count: losses.length,
      remaining_workers: workers,
      min_workers: min,
      emergency_scale: count,
      target_workers: desired + count,
      rule: `${losses.length} nodes lost unexpectedly within ${p.policy.emergencyWindowSeconds}s (threshold ${p.policy.emergencyScaleThreshold}): twice the deficit of ${deficit} below the minimum of ${min}${count < 2 * deficit ? `, cut to ${count} by the maximum of ${max}` : ''}: ${desired} -> ${desired + count}`,
    });
    s.ledger = claim(l, { id, direction: 'up', count, origin: 'floor', now: s.now, timeoutMs: timeoutOf(p) });
    return;
  }
  const count = Math.min(room, deficit);
  const id = emit(s, 'io.scalewise.AutoScaleUpToMinimum', {
    pool: name,
    current_workers: workers,
    min_workers: min,
    scale_up_count: count,
    reason: 'minimum_violation',
  });
  s.ledger = claim(l, { id, direction: 'up', count, origin: 'floor', now: s.now, timeoutMs: timeoutOf(p) });
}

/**
 * A scale-up that ended since the violation ended less than a check interval ago, and this
 * input is no ScalingActionCompleted: the restoration waits for that event (seed 000 flow 2:
 * MinimumNodesRestored follows the completion, and is caused by it), or, should it never come,
 * for the first check an interval after the end.
 */
function completionOnItsWay(s: Step): boolean {
  const p = s.pool;
  if (s.input.type === 'io.scalewise.ScalingActionCompleted') return false;
  const since = p.violation?.since ?? s.now;
  const interval = p.policy.checkIntervalSeconds * 1000;
  return Object.values(s.ledger.actions).some(
    (a) =>
      a.direction === 'up' &&
      a.state === 'done' &&
      a.endedAt !== undefined &&
      a.endedAt >= since &&
      s.now - a.endedAt < interval,
  );
}

const timeoutOf = (p: FloorPoolState): number => p.policy.actionTimeoutSeconds * 1000;

/**
 * The floor: `enforce(state, input, now) -> { state, events }`. Pure: no I/O, no clock (now is
 * epoch ms, given), no await; the input state is never mutated; it never throws (an input it
 * cannot use changes nothing).
 *
 * Per pool it follows the workers from node, action and state events. Whenever they change
 * (a drop that only ClusterStateSynced reports waits for the next tick: its losses may still
 * be on their way), and on every `tick` (the shell sends one each `min_violation_check_interval`):
 * - workers < min, first time: MinimumNodesViolation;
 * - then, unless the floor is already being repaired: AutoScaleUpToMinimum for
 *   `min - workers - in flight`, or EmergencyScaleUp when `emergencyScaleThreshold` nodes or
 *   more were lost unexpectedly within `emergencyWindowSeconds` (it puts back the pool's size
 *   before the losses, within max);
 * - workers >= min again, with no scale-up still in flight: MinimumNodesRestored with the
 *   violation's duration (seed 000 flow 2: after ScalingActionCompleted, not at NodeReady).
 */
import { catalogue, type EventData } from '@scalewise/events';
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
export type EnforcerIntent<I = EnforcerInput> = {
  [T in EnforcerOutputType]: { id: string; type: T; data: EventData<T>; causedBy: I };
}[EnforcerOutputType];

export interface TrackedAction {
  id: string;
  direction: 'up' | 'down';
  count: number;
  remaining: number;
  startedAt: number;
  expiresAt: number;
  /** floor: issued here; other: seen started (a decision of the decision engine, say). */
  origin: 'floor' | 'other';
  /**
   * A ClusterStateSynced was read while it ran: the count is that snapshot's, which may
   * include nodes of this action already, so its NodeReady/NodeRemoved change neither the
   * count nor `remaining` (the count is taken on the high side until the next sync: a count
   * too low starts a repair nobody needs).
   */
  synced?: boolean;
}

export interface Loss {
  node: string;
  at: number;
  /** Workers just before this loss. */
  before: number;
}

export interface FloorPoolState {
  policy: FloorPolicy;
  /** Limits in force: the policy's, or the last valid `trigger.update`. */
  min: number;
  max: number;
  /** Workers as last reported; null until an event reports them. */
  workers: number | null;
  inFlight: TrackedAction[];
  /** Unexpected losses within the emergency window. */
  losses: Loss[];
  violation: { since: number } | null;
  /** After a failed floor action, none is issued before this time. */
  retryAt: number | null;
  /**
   * When the last action's completion was applied (epoch ms): a ClusterStateSynced whose
   * snapshot (`last_sync`) is older may not count that action's nodes, so it only raises the
   * count. Absent in a state stored before it existed.
   */
  completedAt?: number | null;
}

export interface EnforcerState {
  pools: Record<string, FloorPoolState>;
}

export interface Enforcement<I = EnforcerInput> {
  state: EnforcerState;
  events: EnforcerIntent<I>[];
}

/** The state before any event; `workers` may give pools a known size (e.g. from the state store). */
export function initialEnforcerState(
  policies: readonly FloorPolicy[],
  workers: Readonly<Record<string, number>> = {},
): EnforcerState {
  const pools: Record<string, FloorPoolState> = {};
  for (const p of policies) {
    pools[p.name] = {
      policy: p,
      min: p.min,
      max: p.max,
      workers: workers[p.name] ?? null,
      inFlight: [],
      losses: [],
      violation: null,
      retryAt: null,
      completedAt: null,
    };
  }
  return { pools };
}

/** A private copy of one pool's state for a step to change; the policy is shared, never changed. */
function clonePool(pool: FloorPoolState): FloorPoolState {
  return {
    ...pool,
    inFlight: pool.inFlight.map((a) => ({ ...a })),
    losses: pool.losses.map((l) => ({ ...l })),
    violation: pool.violation && { ...pool.violation },
  };
}

/** The size the pool heads for: workers, less in-flight removals (at most all), plus in-flight additions. */
export function headingFor(pool: FloorPoolState): number | null {
  if (pool.workers === null) return null;
  let up = 0;
  let down = 0;
  for (const a of pool.inFlight) {
    if (a.direction === 'up') up += a.remaining;
    else down += a.remaining;
  }
  return Math.max(0, pool.workers - down) + up;
}

const consumed: ReadonlySet<string> = new Set(enforcerEventTypes);

interface Step {
  pool: FloorPoolState;
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
    const events: EnforcerIntent[] = [];
    for (const [name, pool] of Object.entries(state.pools)) {
      const s: Step = { pool: clonePool(pool), now, input, events };
      housekeep(s);
      check(s);
      pools[name] = s.pool;
    }
    return { state: { pools }, events: events as EnforcerIntent<I>[] };
  }
  if (typeof input.type !== 'string' || !consumed.has(input.type)) return unchanged;
  const parsed = catalogue[input.type].schema.safeParse(input.data);
  if (!parsed.success) return unchanged;
  const data = parsed.data as { pool: string };
  const pool = Object.hasOwn(state.pools, data.pool) ? state.pools[data.pool] : undefined;
  if (!pool) return unchanged;
  const s: Step = { pool: clonePool(pool), now, input, events: [] };
  housekeep(s);
  const before = s.pool.workers;
  if (!apply(s, { ...input, data } as EnforcerEvent)) return unchanged;
  // A drop that ClusterStateSynced (state topic) reports may be read before the
  // NodeUnexpectedlyLost events of the same cycle (nodes topic): left to the next check, so
  // that the losses are counted first (two at once make it an emergency, not a plain repair).
  const syncedDrop =
    input.type === 'io.scalewise.ClusterStateSynced' && before !== null && (s.pool.workers ?? 0) < before;
  if (!syncedDrop) check(s);
  return {
    state: { pools: { ...state.pools, [data.pool]: s.pool } },
    events: s.events as EnforcerIntent<I>[],
  };
}

function housekeep(s: Step): void {
  const p = s.pool;
  // An action whose nodes are all there stays until its completion: MinimumNodesRestored
  // follows ScalingActionCompleted (seed 000 flow 2), even when a tick comes in between.
  p.inFlight = p.inFlight.filter((a) => a.expiresAt > s.now);
  p.losses = p.losses.filter((l) => l.at > s.now - p.policy.emergencyWindowSeconds * 1000);
  if (p.retryAt !== null && p.retryAt <= s.now) p.retryAt = null;
}

function track(
  s: Step,
  id: string,
  direction: 'up' | 'down',
  count: number,
  origin: TrackedAction['origin'],
): void {
  s.pool.inFlight.push({
    id,
    direction,
    count,
    remaining: count,
    startedAt: s.now,
    expiresAt: s.now + s.pool.policy.actionTimeoutSeconds * 1000,
    origin,
  });
}

/**
 * One node of an action in flight arrived or left: true when it counts. The node events
 * (nodes topic) and the action's completion (actions topic) are read side by side, so a
 * NodeReady/NodeRemoved may come after the ScalingActionCompleted whose `new_workers` already
 * counts it; a node of an action not in flight (completed, or never seen) changes no count,
 * nor one of an action a ClusterStateSynced was read during (the snapshot may count it).
 */
function progress(s: Step, actionId: string, direction: 'up' | 'down'): boolean {
  const a = s.pool.inFlight.find((x) => x.id === actionId && x.direction === direction);
  if (!a || a.remaining <= 0 || a.synced) return false;
  a.remaining -= 1;
  return true;
}

/** Applies an event to the pool; false when it changes nothing (a refused trigger). */
function apply(s: Step, e: EnforcerEvent): boolean {
  const p = s.pool;
  switch (e.type) {
    case 'io.scalewise.NodeReady':
      if (progress(s, e.data.action_id, 'up') && p.workers !== null) p.workers += 1;
      return true;
    case 'io.scalewise.NodeRemoved':
      if (progress(s, e.data.action_id, 'down') && p.workers !== null) p.workers = Math.max(0, p.workers - 1);
      return true;
    case 'io.scalewise.NodeUnexpectedlyLost': {
      const d = e.data;
      p.workers = d.remaining_workers;
      // A redelivered loss of the same node is not a second loss.
      if (!p.losses.some((l) => l.node === d.node_name)) {
        p.losses.push({ node: d.node_name, at: s.now, before: d.remaining_workers + 1 });
      }
      return true;
    }
    case 'io.scalewise.ClusterStateSynced':
      for (const a of p.inFlight) a.synced = true;
      // While its own repair is in flight, a sync (a snapshot that may predate the repair's
      // nodes, read after their events) only raises the count: lowered, it made a finished
      // emergency scale-up look short and start another. Losses still lower it by their events.
      // Likewise a snapshot taken before the last completion we applied, read after it (the
      // state and actions topics are read side by side): lowered, it made a repair just done
      // look undone and started another. A loss after the snapshot lowers it by its own event.
      p.workers =
        p.workers !== null &&
        (p.inFlight.some((a) => a.direction === 'up' && a.origin === 'floor') ||
          Date.parse(e.data.last_sync) < (p.completedAt ?? Number.NEGATIVE_INFINITY))
          ? Math.max(p.workers, e.data.workers)
          : e.data.workers;
      return true;
    case 'io.scalewise.ScaleUpStarted':
    case 'io.scalewise.ScaleDownStarted': {
      const direction = e.type === 'io.scalewise.ScaleUpStarted' ? 'up' : 'down';
      const a = p.inFlight.find((x) => x.id === e.data.action_id);
      if (a) {
        const done = a.count - a.remaining;
        a.count = e.data.count;
        a.remaining = Math.max(0, e.data.count - done);
      } else {
        track(s, e.data.action_id, direction, e.data.count, 'other');
      }
      return true;
    }
    case 'io.scalewise.ScalingActionCompleted': {
      const a = p.inFlight.find((x) => x.id === e.data.action_id);
      p.inFlight = p.inFlight.filter((x) => x.id !== e.data.action_id);
      // new_workers is node-manager's decision-time count plus the action's, blind to actions
      // that ran beside it (a repair and an emergency scale-up at once: 0 + 1 while 2 exist).
      // For an action it followed, its own count with the action's nodes not counted yet
      // (their NodeReady/NodeRemoved still to be read) is the other estimate; but a
      // ClusterStateSynced read in between may have counted them already. Of the two the
      // larger: a count too low starts a repair nobody needs, one too high lasts until the
      // next ClusterStateSynced.
      const own =
        a && p.workers !== null
          ? Math.max(0, p.workers + (a.direction === 'up' ? a.remaining : -a.remaining))
          : 0;
      p.workers = Math.max(e.data.new_workers, own);
      p.completedAt = s.now;
      return true;
    }
    case 'io.scalewise.ScalingActionFailed': {
      const ours = p.inFlight.some((a) => a.id === e.data.action_id && a.origin === 'floor');
      p.inFlight = p.inFlight.filter((a) => a.id !== e.data.action_id);
      // Back off one check interval so a provider that keeps failing is not hammered.
      if (ours) p.retryAt = s.now + p.policy.checkIntervalSeconds * 1000;
      return true;
    }
    case 'io.scalewise.trigger.update': {
      // The decision engine answers refused updates with TriggerRejected; here they change nothing.
      if (typeof e.source !== 'string' || e.source.length === 0) return false;
      if (!sourceAllowed(e.source, p.policy.allowedTriggerSources)) return false;
      const min = e.data.min ?? p.min;
      const max = e.data.max ?? p.max;
      if (min > max || max < 1) return false;
      p.min = min;
      p.max = max;
      return true;
    }
    default: {
      const unreachable: never = e;
      return unreachable;
    }
  }
}

function emit<T extends EnforcerOutputType>(s: Step, type: T, data: EventData<T>): string {
  const id = `${s.input.id}/${s.pool.policy.name}/${type.slice('io.scalewise.'.length)}`;
  // A dry-run pool's floor actions are reported, marked, and tracked like real ones (so they do
  // not repeat on every tick), but node-manager does not carry them out.
  const acts = type === 'io.scalewise.AutoScaleUpToMinimum' || type === 'io.scalewise.EmergencyScaleUp';
  const marked = acts && s.pool.policy.dryRun ? { ...data, dry_run: true } : data;
  s.events.push({ id, type, data: marked, causedBy: s.input } as EnforcerIntent);
  return id;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The floor check, after every change and on every tick. */
function check(s: Step): void {
  const p = s.pool;
  const workers = p.workers;
  if (workers === null) return;
  const name = p.policy.name;
  if (workers >= p.min) {
    const upInFlight = p.inFlight.some((a) => a.direction === 'up');
    if (p.violation && !upInFlight) {
      emit(s, 'io.scalewise.MinimumNodesRestored', {
        pool: name,
        current_workers: workers,
        min_workers: p.min,
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
      min_workers: p.min,
      violation_time: iso(s.now),
    });
  }
  if (!p.policy.autoScaleToMin || p.retryAt !== null) return;
  const heading = headingFor(p) ?? workers;
  const lost = p.losses.length;
  if (lost >= p.policy.emergencyScaleThreshold) {
    // Put back the size the pool had before this burst of losses (at least min, at most max).
    const before = Math.max(...p.losses.map((l) => l.before));
    const target = Math.min(p.max, Math.max(p.min, before));
    const count = target - heading;
    if (count >= 1) {
      const id = emit(s, 'io.scalewise.EmergencyScaleUp', {
        pool: name,
        lost_count: lost,
        remaining_workers: workers,
        min_workers: p.min,
        emergency_scale: count,
      });
      track(s, id, 'up', count, 'floor');
    }
    return;
  }
  const count = Math.min(p.min, p.max) - heading;
  if (count >= 1) {
    const id = emit(s, 'io.scalewise.AutoScaleUpToMinimum', {
      pool: name,
      current_workers: workers,
      min_workers: p.min,
      scale_up_count: count,
      reason: 'minimum_violation',
    });
    track(s, id, 'up', count, 'floor');
  }
}

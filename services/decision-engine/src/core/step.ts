/**
 * One step of the decider: a private copy of one pool's state and the events it emits, with
 * what every rule shares: the emitter (ids derived from the input's), the utilisation
 * recommendation, housekeeping, the explanation's base inputs and the bookkeeping of a decided
 * action. The scale-up and scale-down procedures are scale-up.ts and scale-down.ts.
 */
import { type EventData, eventIdOf } from '@scalewise/events';
import type { Comparison, InputValue } from './explain.ts';
import { prune } from './hpa.ts';
import { desiredOf, type PoolState } from './state.ts';
import type { EngineInput, Intent, ProducedEventType } from './types.ts';

export interface Step {
  pool: PoolState;
  now: number;
  input: EngineInput;
  events: Intent[];
}

/** Appends an intent whose id is derived from the input's id and the type's name. */
export function emitTo<T extends ProducedEventType>(
  events: Intent[],
  input: EngineInput,
  type: T,
  data: EventData<T>,
): string {
  const base = typeof input.id === 'string' && input.id.length > 0 ? input.id : 'unidentified';
  // A second event of a type in one step (a hold replaced and the new one ended) gets `-2`.
  const first = eventIdOf(type, { from: base });
  let id = first;
  for (let n = 2; events.some((e) => e.id === id); n++) id = `${first}-${n}`;
  events.push({ id, type, data, causedBy: input } as Intent);
  return id;
}

export function emit<T extends ProducedEventType>(s: Step, type: T, data: EventData<T>): string {
  const decision = type === 'io.scalewise.ScaleUpDecision' || type === 'io.scalewise.ScaleDownDecision';
  if (decision && s.pool.policy.dryRun) {
    const d = data as EventData<'io.scalewise.ScaleUpDecision'>;
    const marked = {
      ...d,
      dry_run: true,
      explanation: { ...d.explanation, summary: `Dry run, nothing is done: ${d.explanation.summary}` },
    };
    return emitTo(s.events, s.input, type, marked as EventData<T>);
  }
  return emitTo(s.events, s.input, type, data);
}

/** Rounds up, forgiving floating-point noise: 3 * (40 / 60) is 2, not 3. */
export const ceilSafe = (x: number): number => Math.ceil(x - 1e-9);

/** The size at which CPU and memory would sit at their targets (the HPA formula). */
export function utilizationRecommendation(pool: PoolState, workers: number, cpu: number, memory: number) {
  const t = pool.policy.thresholds;
  return Math.max(0, ceilSafe(workers * Math.max(cpu / t.cpuTargetPercent, memory / t.memoryTargetPercent)));
}

export function isLow(pool: PoolState, cpu: number, memory: number): boolean {
  const t = pool.policy.thresholds;
  return cpu < t.cpuLowPercent && memory < t.memoryLowPercent;
}

/** Remembers a recommendation for the stabilisation windows. */
export function recommend(s: Step, replicas: number): void {
  s.pool.recommendations.push({ at: s.now, replicas });
}

/** Drops what has expired: stale unhealthy reports, old history (what is in flight is the ledger's). */
export function housekeep(s: Step): void {
  const p = s.pool;
  const b = p.policy.behavior;
  p.unhealthy = p.unhealthy.filter((u) => u.at + p.policy.unhealthyNodeTtlSeconds * 1000 > s.now);
  p.recommendations = prune(
    p.recommendations,
    Math.max(b.scaleUp.stabilizationWindowSeconds, b.scaleDown.stabilizationWindowSeconds),
    s.now,
  );
  const periods = [...b.scaleUp.policies, ...b.scaleDown.policies].map((x) => x.periodSeconds);
  // The change of an action still in flight is kept past the periods (which no longer count
  // it): its record is what tells a late report of that action (a start read after the
  // longest period) from a new change, so that the action is counted once.
  const cutoff = s.now - Math.max(0, ...periods) * 1000;
  const live = new Set(p.inFlight.map((a) => a.id));
  p.scaleEvents = p.scaleEvents.filter((e) => e.at > cutoff || (e.id !== undefined && live.has(e.id)));
}

/** Numbers every explanation starts with. */
export function baseInputs(s: Step): Record<string, InputValue> {
  const p = s.pool;
  return {
    input_event_id: s.input.id,
    input_event_type: s.input.type,
    workers: p.workers,
    desired_before: desiredOf(p),
    min_workers: p.min,
    max_workers: p.max,
    in_flight_actions: p.inFlight.length,
  };
}

export function recordAction(s: Step, id: string, direction: 'up' | 'down', count: number): void {
  const p = s.pool;
  if (!p.policy.dryRun) recordInFlight(s, id, direction, count);
  if (direction === 'up') p.lastScaleUpAt = s.now;
  else p.lastScaleDownAt = s.now;
  p.lastActionAt = s.now;
  p.lastBlockedReason = null;
  p.underutilized = null;
  p.optimalAnnounced = false;
}

/** Nothing will carry out a dry-run decision: it is neither in flight nor a change for the rate policies. */
function recordInFlight(s: Step, id: string, direction: 'up' | 'down', count: number): void {
  const p = s.pool;
  p.inFlight.push({
    id,
    direction,
    count,
    remaining: count,
    startedAt: s.now,
    expiresAt: s.now + p.policy.actionTimeoutSeconds * 1000,
    origin: 'decision',
  });
  p.scaleEvents.push({ at: s.now, direction, change: count, id });
}

/** Seconds left of the cooldown after the last action; 0 when it has run out. */
export function cooldownLeft(s: Step): number {
  const last = s.pool.lastActionAt;
  if (last === null) return 0;
  return Math.max(0, (last + s.pool.policy.cooldownSeconds * 1000 - s.now) / 1000);
}

export interface Request {
  /** The size the rule wants. */
  target: number;
  rule: string;
  /** What the rule saw, e.g. "3 pods pending (6000m CPU, 3 GiB)". */
  because: string;
  inputs: Record<string, InputValue | undefined>;
  comparisons: Comparison[];
  /** For a scale-down: the nodes the simulation found removable, in order; the decision names the first `count`. */
  nodes?: readonly string[];
  /**
   * For a scale-up: the zone of each new node the simulation opened, in order. The decision
   * names the last `count` (the first ones are those decided before and still in flight).
   */
  zones?: readonly string[];
}

/**
 * Announces OptimalStateTrigger(active) once per stretch in which the pool sits at min,
 * underutilised, with nothing in flight.
 */
export function maybeOptimalActive(s: Step): void {
  const p = s.pool;
  const u = p.lastUtilization;
  if (p.optimalAnnounced || !u || p.workers === null) return;
  if (p.workers !== p.min || desiredOf(p) !== p.min || !isLow(p, u.cpu, u.memory)) return;
  emit(s, 'io.scalewise.OptimalStateTrigger', {
    pool: p.policy.name,
    current_workers: p.workers,
    min_workers: p.min,
    cpu_avg: u.cpu,
    memory_avg: u.memory,
    state: 'active',
  });
  p.optimalAnnounced = true;
}

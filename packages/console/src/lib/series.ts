/**
 * Pool sizes over time from the event history, as step series per pool:
 * - workers: PoolMetricsObserved.workers, ClusterStateSynced.workers, ScalingActionCompleted.new_workers
 * - desired: ScaleUp/ScaleDownDecision.desired_workers, AutoScaleUpToMinimum (current + count),
 *   EmergencyScaleUp (remaining + emergency_scale)
 * - min / max: the pool's configured limits at the start, then every event that states them
 *   (trigger.update, and the min_workers / max_workers fields of signals and decisions)
 * - holds: a scale trigger's target, from the first decision or block that states it
 *   (`held_target` and `trigger_id` in the explanation's inputs) to its TriggerHoldEnded
 * Dry-run decisions are left out of `desired` and of holds: nothing acts on them.
 */
import type { AnyScalewiseEvent, PoolLimits } from './types.ts';

export interface Point {
  /** Epoch ms. */
  t: number;
  v: number;
}

/** A scale trigger's target while it was pursued or held; `to` is null while it still is. */
export interface HoldSpan {
  trigger: string;
  target: number;
  from: number;
  to: number | null;
}

export interface PoolSeries {
  pool: string;
  workers: Point[];
  desired: Point[];
  min: Point[];
  max: Point[];
  holds: HoldSpan[];
}

export type SeriesName = 'workers' | 'desired' | 'min' | 'max';
export const seriesNames: readonly SeriesName[] = ['workers', 'desired', 'min', 'max'];

/** The event types the chart reads (the history query asks for these only). */
export const chartEventTypes = [
  'PoolMetricsObserved',
  'ClusterStateSynced',
  'ScalingActionCompleted',
  'ScaleUpDecision',
  'ScaleDownDecision',
  'AutoScaleUpToMinimum',
  'EmergencyScaleUp',
  'ScaleDownBlocked',
  'UnderutilizationWarning',
  'ResourcePressureAlert',
  'OptimalStateTrigger',
  'MinimumNodesViolation',
  'MinimumNodesRestored',
  'TriggerHoldEnded',
  'trigger.update',
] as const;

/** The trigger target an event states as held (a decision or block taken for it), if any. */
export function heldBy(e: AnyScalewiseEvent): { trigger: string; target: number } | undefined {
  if (
    e.type !== 'io.scalewise.ScaleUpDecision' &&
    e.type !== 'io.scalewise.ScaleDownDecision' &&
    e.type !== 'io.scalewise.ScaleDownBlocked'
  ) {
    return undefined;
  }
  if ('dry_run' in e.data && e.data.dry_run) return undefined;
  const { trigger_id: trigger, held_target: target } = e.data.explanation.inputs;
  return typeof trigger === 'string' && typeof target === 'number' ? { trigger, target } : undefined;
}

/** A whole, non-negative number: a pool limit. */
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** The values one event states about its pool's sizes. */
export function valuesOf(e: AnyScalewiseEvent): Partial<Record<SeriesName, number>> {
  switch (e.type) {
    case 'io.scalewise.PoolMetricsObserved':
    case 'io.scalewise.ClusterStateSynced':
      return { workers: e.data.workers };
    case 'io.scalewise.ScalingActionCompleted':
      return { workers: e.data.new_workers };
    case 'io.scalewise.ScaleUpDecision':
    case 'io.scalewise.ScaleDownDecision':
      return e.data.dry_run ? {} : { desired: e.data.desired_workers };
    case 'io.scalewise.AutoScaleUpToMinimum':
      return {
        min: e.data.min_workers,
        ...(e.data.dry_run ? {} : { desired: e.data.current_workers + e.data.scale_up_count }),
      };
    case 'io.scalewise.EmergencyScaleUp':
      return {
        min: e.data.min_workers,
        ...(e.data.dry_run ? {} : { desired: e.data.remaining_workers + e.data.emergency_scale }),
      };
    case 'io.scalewise.ScaleDownBlocked':
    case 'io.scalewise.UnderutilizationWarning':
    case 'io.scalewise.OptimalStateTrigger':
    case 'io.scalewise.MinimumNodesViolation':
    case 'io.scalewise.MinimumNodesRestored':
      return { min: e.data.min_workers };
    case 'io.scalewise.ResourcePressureAlert':
      return { max: e.data.max_workers };
    case 'io.scalewise.trigger.update': {
      // As sent (a trigger's data is not checked on the way in): only whole counts are limits.
      const d = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as {
        min?: unknown;
        max?: unknown;
      };
      return {
        ...(isCount(d.min) ? { min: d.min } : {}),
        ...(isCount(d.max) ? { max: d.max } : {}),
      };
    }
    default:
      return {};
  }
}

/**
 * The series of every pool that appears in `events` or `limits`, each sorted by time.
 * A value equal to the series' previous one adds no point (the lines are steps).
 * @param from start of the window (epoch ms): the configured limits are placed there.
 */
export function buildSeries(
  events: readonly AnyScalewiseEvent[],
  limits: readonly PoolLimits[],
  from: number,
): PoolSeries[] {
  const pools = new Map<string, PoolSeries>();
  const of = (pool: string): PoolSeries => {
    let s = pools.get(pool);
    if (!s) {
      s = { pool, workers: [], desired: [], min: [], max: [], holds: [] };
      pools.set(pool, s);
    }
    return s;
  };
  for (const l of limits) {
    const s = of(l.pool);
    s.min.push({ t: from, v: l.min });
    s.max.push({ t: from, v: l.max });
  }
  const sorted = [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  for (const e of sorted) {
    holdSteps(e, of);
    const values = valuesOf(e);
    const names = Object.keys(values) as SeriesName[];
    if (names.length === 0) continue;
    const s = of(e.partitionkey);
    const t = Date.parse(e.time);
    for (const name of names) {
      const v = values[name] as number;
      const line = s[name];
      if (line.at(-1)?.v === v) continue;
      line.push({ t, v });
    }
  }
  return [...pools.values()].sort((a, b) => a.pool.localeCompare(b.pool));
}

/** Opens, moves or closes the hold span an event states. */
function holdSteps(e: AnyScalewiseEvent, of: (pool: string) => PoolSeries): void {
  const ended = e.type === 'io.scalewise.TriggerHoldEnded' ? e.data.trigger_id : undefined;
  const held = heldBy(e);
  if (ended === undefined && !held) return;
  const holds = of(e.partitionkey).holds;
  const t = Date.parse(e.time);
  const open = holds.at(-1)?.to === null ? holds.at(-1) : undefined;
  if (ended !== undefined) {
    if (open?.trigger === ended) open.to = t;
    return;
  }
  if (!held || (open?.trigger === held.trigger && open.target === held.target)) return;
  if (open) open.to = t;
  holds.push({ ...held, from: t, to: null });
}

/** The target held now, or undefined. */
export const heldNow = (series: PoolSeries): number | undefined => {
  const last = series.holds.at(-1);
  return last && last.to === null ? last.target : undefined;
};

/** The last value of a series, or undefined when it has none. */
export const lastValue = (points: readonly Point[]): number | undefined => points.at(-1)?.v;

/**
 * The chart's start: the window's start, or shortly before the first event when the events
 * cover only the end of the window (a pool that just started, a quiet hour), so that recent
 * steps are not squeezed against the right edge. The margin is 10% of the shown span, 10 s at least.
 */
export function fitStart(events: readonly AnyScalewiseEvent[], windowStart: number, now: number): number {
  let first = Number.POSITIVE_INFINITY;
  for (const e of events) first = Math.min(first, Date.parse(e.time));
  if (!Number.isFinite(first)) return windowStart;
  return Math.max(windowStart, Math.min(now, first) - Math.max(10_000, (now - first) * 0.1));
}

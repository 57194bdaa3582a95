/**
 * Pool sizes over time from the event history, as step series per pool:
 * - workers: PoolMetricsObserved.workers, ClusterStateSynced.workers, ScalingActionCompleted.new_workers
 * - desired: ScaleUp/ScaleDownDecision.desired_workers, AutoScaleUpToMinimum (current + count),
 *   EmergencyScaleUp (remaining + emergency_scale)
 * - min / max: the pool's configured limits at the start, then every event that states them
 *   (trigger.update, and the min_workers / max_workers fields of signals and decisions)
 * Dry-run decisions are left out of `desired`: nothing acts on them.
 */
import type { AnyScalewiseEvent, PoolLimits } from './types.ts';

export interface Point {
  /** Epoch ms. */
  t: number;
  v: number;
}

export interface PoolSeries {
  pool: string;
  workers: Point[];
  desired: Point[];
  min: Point[];
  max: Point[];
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
  'trigger.update',
] as const;

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
    case 'io.scalewise.trigger.update':
      return {
        ...(e.data.min !== undefined ? { min: e.data.min } : {}),
        ...(e.data.max !== undefined ? { max: e.data.max } : {}),
      };
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
      s = { pool, workers: [], desired: [], min: [], max: [] };
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

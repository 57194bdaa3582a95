/**
 * Routine events in the timeline. The catalogue (packages/events) gives every event type a
 * cadence: `periodic` telemetry is published every round whatever happened (a pool's metrics
 * sample, a sync that found all agreeing), a `state` event every round while its condition
 * holds (pressure, pending pods, a pool at its optimum), a `change` event when something
 * happens. The timeline shows what happened (decisions, actions, nodes, alerts, repairs) and
 * folds the rest into rows that say how many it holds, until the user asks to see them.
 * Pure: the page gets the cadences from the catalogue at build time (vite.config.ts).
 */
import type { Cadence } from '@scalewise/events';
import type { AnyScalewiseEvent } from './types.ts';

/** Each event type's cadence; a type missing from it (a newer server) counts as `change`. */
export type Cadences = Readonly<Partial<Record<string, Cadence>>>;

/** Consecutive routine events of the timeline, newest first, shown as one row. */
export interface Fold {
  fold: AnyScalewiseEvent[];
}

export type TimelineItem = AnyScalewiseEvent | Fold;

export const isFold = (item: TimelineItem): item is Fold => 'fold' in item;

const cadenceOf = (cadences: Cadences, type: string): Cadence => cadences[type] ?? 'change';

/**
 * The ids of the routine events in a newest-first list: every `periodic` one, and a `state`
 * one whose type the same pool already said with no `change` event of that pool since (the
 * first after a change is news: "pods are pending" after a scale-up is worth a row).
 */
export function routineIds(newestFirst: readonly AnyScalewiseEvent[], cadences: Cadences): Set<string> {
  const routine = new Set<string>();
  // pool -> the state types it announced since its last change
  const said = new Map<string, Set<string>>();
  for (let i = newestFirst.length - 1; i >= 0; i -= 1) {
    const e = newestFirst[i] as AnyScalewiseEvent;
    const cadence = cadenceOf(cadences, e.type);
    if (cadence === 'periodic') {
      routine.add(e.id);
    } else if (cadence === 'state') {
      const types = said.get(e.partitionkey) ?? new Set<string>();
      if (types.has(e.type)) routine.add(e.id);
      types.add(e.type);
      said.set(e.partitionkey, types);
    } else {
      said.delete(e.partitionkey);
    }
  }
  return routine;
}

/** The timeline's rows: each run of routine events (newest first) becomes one Fold. */
export function foldRoutine(
  newestFirst: readonly AnyScalewiseEvent[],
  routine: ReadonlySet<string>,
): TimelineItem[] {
  const items: TimelineItem[] = [];
  let run: AnyScalewiseEvent[] | undefined;
  for (const e of newestFirst) {
    if (!routine.has(e.id)) {
      run = undefined;
      items.push(e);
    } else if (run) {
      run.push(e);
    } else {
      run = [e];
      items.push({ fold: run });
    }
  }
  return items;
}

/** `PoolMetricsObserved ×8, ClusterStateSynced ×3`: the types a fold holds, most first. */
export function foldContents(fold: Fold, short: (type: string) => string): string {
  const counts = new Map<string, number>();
  for (const e of fold.fold) counts.set(short(e.type), (counts.get(short(e.type)) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([t, n]) => `${t} ×${n}`)
    .join(', ');
}

/**
 * Keeps at most `max` periodic events and at most `max` others of a newest-first list (the
 * newest of each), so that a morning of samples never pushes the decisions out of the page.
 */
export function capByCadence(
  newestFirst: readonly AnyScalewiseEvent[],
  cadences: Cadences,
  max: number,
): AnyScalewiseEvent[] {
  let periodic = 0;
  let other = 0;
  return newestFirst.filter((e) =>
    cadenceOf(cadences, e.type) === 'periodic' ? ++periodic <= max : ++other <= max,
  );
}

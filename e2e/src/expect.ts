/**
 * Deadline-based waits on what a system recorded, with failure messages that show what it
 * did see (the events of the types awaited, with their causation links).
 */
import { type AnyScalewiseEvent, type EventData, type EventType, typeOf } from '@scalewise/events';
import { waitFor } from '@scalewise/testing';
import { causalChain, describe, short } from './chain.ts';
import type { System } from './harness.ts';

export interface ChainAssertion {
  /** Only events at or after this time (epoch ms) may be part of the chain. @default 0 */
  since?: number;
  /** Restricts the chain's first event. */
  start?: (e: AnyScalewiseEvent) => boolean;
  /** @default 60000 */
  timeoutMs?: number;
}

const full = (t: string): string => typeOf(t);

/**
 * Waits until the system recorded the chain `types[0] -> types[1] -> ...` (short type names),
 * each event descending from the one before through causation links, and returns it.
 * @throws AssertionError-like Error naming the first missing link and listing what was seen.
 */
export async function expectChain(
  system: System,
  types: readonly string[],
  options: ChainAssertion = {},
): Promise<AnyScalewiseEvent[]> {
  const since = options.since ?? 0;
  const relevant = () => system.rec.events.filter((e) => Date.parse(e.time) >= since);
  let last = '';
  try {
    return await waitFor(
      () => {
        const r = causalChain(relevant(), types, options.start);
        if (r.ok) return r.chain;
        last = r.missing;
        return undefined;
      },
      { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 200, what: `the chain ${types.join(' -> ')}` },
    );
  } catch (err) {
    const shown = new Set(types.map(full));
    const seen = relevant().filter((e) => shown.has(e.type));
    throw new Error(
      `${(err as Error).message}: ${last}\nevents of those types seen (logs in ${system.logDir}):\n${describe(seen)}`,
      { cause: err },
    );
  }
}

/** Waits for an event of a type (short or full name) matching `where`, at or after `since`. */
export async function waitForEvent(
  system: System,
  type: string,
  where: (e: AnyScalewiseEvent) => boolean = () => true,
  options: { since?: number; timeoutMs?: number; what?: string } = {},
): Promise<AnyScalewiseEvent> {
  const t = full(type);
  const since = options.since ?? 0;
  try {
    return await waitFor(
      () => system.rec.events.find((e) => e.type === t && Date.parse(e.time) >= since && where(e)),
      { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 200, what: options.what ?? short(t) },
    );
  } catch (err) {
    const seen = system.rec.events.filter((e) => e.type === t && Date.parse(e.time) >= since).slice(-10);
    throw new Error(
      `${(err as Error).message}\nlast ${short(t)} seen (logs in ${system.logDir}):\n${seen
        .map((e) => `${e.time} ${JSON.stringify(e.data)}`)
        .join('\n')}`,
      { cause: err },
    );
  }
}

/**
 * The events of a type (short or full name) at or after `since` (event time, epoch ms) that
 * match `where`, in arrival order.
 */
export function eventsOf(
  system: System,
  type: string,
  options: { since?: number; where?: (e: AnyScalewiseEvent) => boolean } = {},
): AnyScalewiseEvent[] {
  const t = full(type);
  const since = options.since ?? 0;
  const where = options.where ?? (() => true);
  return system.rec.events.filter((e) => e.type === t && Date.parse(e.time) >= since && where(e));
}

/**
 * Holds a window in which something must NOT happen: waits `ms` (a plain wait on purpose,
 * there being no event to wait for), then returns the events of `types` (short or full names)
 * recorded with an event time from the window's start on, for the test to assert on.
 */
export async function quietWindow(
  system: System,
  ms: number,
  types: readonly string[],
): Promise<AnyScalewiseEvent[]> {
  const start = Date.now();
  const wanted = new Set(types.map(full));
  await new Promise((resolve) => setTimeout(resolve, ms));
  return system.rec.events.filter((e) => wanted.has(e.type) && Date.parse(e.time) >= start);
}

/** ClusterStateSynced's numbers: the Kubernetes, provider and store views of the pool. */
export type SyncedData = EventData<'io.scalewise.ClusterStateSynced'>;

/** The last ClusterStateSynced recorded (by event time). */
export function lastSynced(system: System): SyncedData | undefined {
  const all = system.rec.of('io.scalewise.ClusterStateSynced');
  const last = all.reduce<AnyScalewiseEvent | undefined>(
    (a, e) => (a === undefined || Date.parse(e.time) >= Date.parse(a.time) ? e : a),
    undefined,
  );
  return last?.data as SyncedData | undefined;
}

/**
 * Waits for a ClusterStateSynced at or after `since` in which all three views count `workers`.
 * @returns its data.
 */
export async function waitForSynced(
  system: System,
  workers: number,
  options: { since?: number; timeoutMs?: number } = {},
): Promise<SyncedData> {
  const e = await waitForEvent(
    system,
    'ClusterStateSynced',
    (e) => {
      const d = e.data as SyncedData;
      return d.k8s_nodes === workers && d.docker_containers === workers && d.db_workers === workers;
    },
    { ...options, what: `ClusterStateSynced with ${workers} workers in every view` },
  );
  return e.data as SyncedData;
}

/**
 * The data of an event of a known type.
 * @throws Error when the event is missing or of another type.
 */
export function dataOf<T extends EventType>(e: AnyScalewiseEvent | undefined, type: T): EventData<T> {
  if (!e) throw new Error(`no ${short(type)} event`);
  if (e.type !== type) throw new Error(`expected a ${short(type)}, got a ${short(e.type)} (${e.id})`);
  return e.data as EventData<T>;
}

/**
 * Given/When/Then helpers for the core's tests: a pool policy, a runner that feeds inputs
 * (inputs.ts) at given times as the producers would, and checks of what came out.
 * Used by tests only.
 */
import { type EventData, parseData, shortName } from '@scalewise/events';
import { type Claim, claim, emptyLedger, type Ledger, type Member, recordFacts } from '@scalewise/pool';
import { type Decision, decide } from './decide.ts';
import { synced } from './inputs.ts';
import { definePoolPolicy, type PoolPolicy, type PoolPolicyInput } from './policy.ts';
import { type EngineState, initialState } from './state.ts';
import type { EngineInput, Intent } from './types.ts';

/** 11:00:00 on the samples' day; tests count seconds from here. */
export const T0 = Date.parse('2026-11-22T11:00:00.000Z');
/** The epoch ms `n` seconds after T0. */
export const at = (n: number): number => T0 + n * 1000;

/** The pool of seed 000: min 2, max 6, 4-CPU 8 GiB workers, defaults otherwise. */
export function pool(overrides: Partial<PoolPolicyInput> = {}): PoolPolicy {
  return definePoolPolicy({ name: 'workers', min: 2, max: 6, ...overrides });
}

/**
 * The ledger with exactly `n` present members: the present ones kept (in name order), new
 * ones added under names the ledger has never held, `<pool>-1`, `<pool>-2`, ... (as the
 * samples name a pool of three: NodeReady adds `workers-4`, ScaleDownStarted removes
 * `workers-3`), the rest gone (removed, not lost). What state-sync's listing would make of a
 * pool that a report says has `n` workers.
 */
export function withWorkers(l: Ledger, n: number, now: number): Ledger {
  const present = Object.keys(l.members)
    .filter((k) => l.members[k]?.present)
    .sort();
  const members: Record<string, Member> = { ...l.members };
  for (const name of present.slice(n)) members[name] = { present: false, at: now, ready: false };
  let k = 1;
  for (let have = Math.min(present.length, n); have < n; have++) {
    while (members[`${l.pool}-${k}`] !== undefined) k++;
    members[`${l.pool}-${k}`] = { present: true, at: now, ready: true };
  }
  return { ...l, members, syncedAt: now };
}

const reportsWorkers = new Set<string>([
  'io.scalewise.PoolMetricsObserved',
  'io.scalewise.ResourcePressureAlert',
  'io.scalewise.UnderutilizationWarning',
  'io.scalewise.ClusterStateSynced',
]);

/**
 * What the producers do before an input reaches the engine, for tests: a report of the pool's
 * workers is taken as a listing of that many (state-sync's); a fact (node or action event) is
 * recorded in the ledger as node-manager or state-sync records it, and the engine reads the
 * event with the numbers the ledger gave it. A completion sets the pool to its `new_workers`.
 */
export function produced(
  state: EngineState,
  input: EngineInput,
  now: number,
): { state: EngineState; input: EngineInput } {
  const data = input.data as { pool?: unknown; workers?: unknown; new_workers?: unknown } | null;
  const pool = typeof data?.pool === 'string' ? data.pool : undefined;
  if (pool === undefined || !Object.hasOwn(state.pools, pool)) return { state, input };
  let l = state.ledgers[pool] ?? emptyLedger(pool);
  if (reportsWorkers.has(input.type) && typeof data?.workers === 'number') {
    l = withWorkers(l, data.workers, now);
    return { state: { ...state, ledgers: { ...state.ledgers, [pool]: l } }, input };
  }
  if (input.type === 'io.scalewise.ScalingActionCompleted' && typeof data?.new_workers === 'number') {
    l = withWorkers(l, data.new_workers, now);
  }
  const timeout = (state.pools[pool]?.policy.actionTimeoutSeconds ?? 600) * 1000;
  const r = recordFacts(l, [input], now, timeout);
  if (r.ledger === state.ledgers[pool]) return { state, input: r.events[0] ?? input };
  return {
    state: { ...state, ledgers: { ...state.ledgers, [pool]: r.ledger } },
    input: r.events[0] ?? input,
  };
}

/** The state with the pool's ledger changed by `f` (what another writer of the ledger did). */
export function inLedger(state: EngineState, pool: string, f: (l: Ledger) => Ledger): EngineState {
  return { ...state, ledgers: { ...state.ledgers, [pool]: f(state.ledgers[pool] ?? emptyLedger(pool)) } };
}

/**
 * min-enforcer claims a floor repair of `count` in the pool's ledger at `t` seconds, under the
 * id of the AutoScaleUpToMinimum or EmergencyScaleUp it then publishes.
 */
export function floorClaimed(
  state: EngineState,
  id: string,
  count: number,
  t: number,
  pool = 'workers',
): EngineState {
  const c: Claim = { id, direction: 'up', count, origin: 'floor', now: at(t), timeoutMs: 600_000 };
  return inLedger(state, pool, (l) => claim(l, c));
}

/**
 * A pool of `workers`, reported at t=0 and quiet before (no history in any window): the
 * starting point of most tests.
 */
export function quiet(
  workers: number,
  policy: PoolPolicy = pool(),
): { state: EngineState; events: Intent[] } {
  return given(policy, [[0, synced(workers)]]);
}

/** Feeds `[seconds after T0, input]` pairs to a fresh state; returns the state and every event. */
export function given(
  policies: PoolPolicy | PoolPolicy[],
  inputs: Array<[number, EngineInput]> = [],
): { state: EngineState; events: Intent[] } {
  let state = initialState(Array.isArray(policies) ? policies : [policies]);
  const events: Intent[] = [];
  for (const [t, input] of inputs) {
    const d = when(state, input, t);
    state = d.state;
    events.push(...(d.events as Intent[]));
  }
  return { state, events };
}

/** One input at `t` seconds after T0, after the producers have recorded its facts ({@link produced}). */
export function when(state: EngineState, input: EngineInput, t: number): Decision {
  const p = produced(state, input, at(t));
  return decide(p.state, p.input, at(t));
}

/** The short names of the events, in order. */
export const names = (events: readonly Intent[]): string[] => events.map((e) => shortName(e.type));

/** The data of the only event of `type`, failing the test when there is not exactly one. */
export function one<T extends Intent['type']>(events: readonly Intent[], type: T): EventData<T> {
  const found = events.filter((e) => e.type === type);
  if (found.length !== 1) {
    throw new Error(`expected one ${type}, got ${found.length}: ${names(events).join(', ') || '(none)'}`);
  }
  return found[0]!.data as EventData<T>;
}

/** Validates every intent against its catalogue schema (throws SCHEMA_VIOLATION if one is off). */
export function validateAll(events: readonly Intent[]): void {
  for (const e of events) parseData(e.type, e.data);
}

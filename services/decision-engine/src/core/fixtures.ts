/**
 * Given/When/Then helpers for the core's tests: a pool policy, catalogue-valid inputs built
 * from the samples, and a runner that feeds inputs at given times. Used by tests only.
 */
import { type EventData, parseData, sampleData, shortName } from '@scalewise/events';
import { type Claim, claim, emptyLedger, type Ledger, type Member, recordFacts } from '@scalewise/pool';
import { type Decision, decide } from './decide.ts';
import { definePoolPolicy, type PoolPolicy, type PoolPolicyInput } from './policy.ts';
import { type EngineState, initialState } from './state.ts';
import type {
  ConsumedEventType,
  EngineEvent,
  EngineInput,
  Intent,
  TriggerEvent,
  TriggerType,
} from './types.ts';

/** 11:00:00 on the samples' day; tests count seconds from here. */
export const T0 = Date.parse('2026-11-22T11:00:00.000Z');
/** The epoch ms `n` seconds after T0. */
export const at = (n: number): number => T0 + n * 1000;

/** The pool of seed 000: min 2, max 6, 4-CPU 8 GiB workers, defaults otherwise. */
export function pool(overrides: Partial<PoolPolicyInput> = {}): PoolPolicy {
  return definePoolPolicy({ name: 'workers', min: 2, max: 6, ...overrides });
}

let seq = 0;

/** A consumed event: the sample data of its type with `data` laid over it. */
export function ev<T extends ConsumedEventType>(
  type: T,
  data: Partial<EventData<T>> = {},
  id = `e${++seq}`,
): EngineEvent {
  return { id, type, source: '/scalewise/test', data: { ...sampleData[type], ...data } } as EngineEvent;
}

/** A trigger with whatever data (it is the core's job to check it). */
export function trigger(
  type: TriggerType,
  data: unknown,
  source = '/ci/pipeline',
  id = `t${++seq}`,
): TriggerEvent {
  return { id, type, source, data };
}

/** Shorthands for the inputs tests use most. */
export const metrics = (workers: number, cpu: number, memory: number, extra: object = {}) =>
  ev('io.scalewise.PoolMetricsObserved', {
    workers,
    ready_workers: workers,
    cpu_avg: cpu,
    memory_avg: memory,
    pending_pods: 0,
    ...extra,
  });
export const synced = (workers: number) =>
  ev('io.scalewise.ClusterStateSynced', {
    workers,
    k8s_nodes: workers,
    docker_containers: workers,
    db_workers: workers,
  });
export const underutilized = (workers: number, cpu = 25, memory = 35, duration = 300) =>
  ev('io.scalewise.UnderutilizationWarning', {
    workers,
    cpu_avg: cpu,
    memory_avg: memory,
    duration,
    min_workers: 2,
  });
export const pending = (
  count: number,
  cpu: number,
  memory: number,
  largest?: { cpu: number; memory: number },
) =>
  ev('io.scalewise.PendingPodsDetected', {
    pending_count: count,
    requested_cpu_millicores: cpu,
    requested_memory_bytes: memory,
    largest_pod: largest ? { cpu_millicores: largest.cpu, memory_bytes: largest.memory } : undefined,
    // Pool averages only: the sizing from summed requests (events from before the simulation).
    simulation: undefined,
  });

type PendingSimulation = NonNullable<EventData<'io.scalewise.PendingPodsDetected'>['simulation']>;
type RemovalSimulation = NonNullable<EventData<'io.scalewise.UnderutilizationWarning'>['simulation']>;

/** PendingPodsDetected as the scheduling simulation reports it. */
export const simulatedPending = (count: number, sim: Partial<PendingSimulation> & { new_nodes: number }) =>
  ev('io.scalewise.PendingPodsDetected', {
    pending_count: count,
    simulation: {
      pool_nodes: 0,
      in_flight_nodes: 0,
      fit_existing: 0,
      pods_on_new_nodes: count,
      expander: 'least_waste',
      template: { cpu_millicores: 4000, memory_bytes: 8 * GiB, pods: 110 },
      waste: { cpu_percent: 10, memory_percent: 50 },
      ...sim,
    },
  });

/** UnderutilizationWarning with the simulation's removable and blocked nodes. */
export const simulatedUnderutilized = (
  workers: number,
  removable: readonly string[],
  blocked: RemovalSimulation['blocked_nodes'] = [],
  duration = 600,
) =>
  ev('io.scalewise.UnderutilizationWarning', {
    workers,
    cpu_avg: 10,
    memory_avg: 10,
    duration,
    min_workers: 2,
    simulation: {
      candidate_nodes: removable.length + blocked.length,
      removable_nodes: removable.map((node) => ({ node, cpu_percent: 5, memory_percent: 5, pods: 1 })),
      blocked_nodes: blocked,
    },
  });
export const pressure = (workers: number, cpu: number, memory: number) =>
  ev('io.scalewise.ResourcePressureAlert', {
    workers,
    cpu_avg: cpu,
    memory_avg: memory,
    resource: cpu > 80 && memory > 85 ? 'both' : cpu > 80 ? 'cpu' : 'memory',
  });
export const completed = (
  actionId: string,
  action: 'scale_up' | 'scale_down',
  previous: number,
  next: number,
) =>
  ev('io.scalewise.ScalingActionCompleted', {
    action_id: actionId,
    action,
    count: Math.abs(next - previous),
    previous_workers: previous,
    new_workers: next,
  });

export const GiB = 2 ** 30;

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

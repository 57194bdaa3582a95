/**
 * The inputs the core's tests feed it: catalogue-valid events built from the samples, with
 * the fields a test cares about laid over them. Used by tests only; fixtures.ts runs them.
 */
import { type EventData, sampleData } from '@scalewise/events';
import type { ConsumedEventType, EngineEvent, TriggerEvent, TriggerType } from './types.ts';

export const GiB = 2 ** 30;

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

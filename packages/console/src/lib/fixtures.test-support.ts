// Events for the console's unit tests, made with the catalogue's own constructors.
import {
  type AnyScalewiseEvent,
  type EventData,
  type EventType,
  sampleChild,
  sampleData,
  sampleEvent,
} from '@scalewise/events';

export const ev = <T extends EventType>(
  type: T,
  data: Partial<EventData<T>>,
  time: string,
  pool = 'workers',
) => sampleEvent(type, { pool, ...data } as Partial<EventData<T>>, { clusterid: 'test', time });

/** PendingPodsDetected -> ScaleUpDecision (3 -> 5, clamped from 6 by max) -> ScaleUpStarted -> ScalingActionCompleted. */
export function scaleUpChain(t0 = Date.parse('2026-11-22T11:20:00.000Z')): AnyScalewiseEvent[] {
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const pending = ev('io.scalewise.PendingPodsDetected', {}, at(0));
  const decision = sampleChild(
    pending,
    'io.scalewise.ScaleUpDecision',
    {
      explanation: {
        ...sampleData['io.scalewise.ScaleUpDecision'].explanation,
        comparisons: [
          { metric: 'pending_count', value: 3, operator: '>', threshold: 0, result: true },
          { metric: 'cpu_avg', value: 42, operator: '>', threshold: 80, result: false },
        ],
        clamped: { wanted: 6, got: 5, by: 'max' },
      },
    },
    { time: at(1) },
  );
  const started = sampleChild(
    decision,
    'io.scalewise.ScaleUpStarted',
    { action_id: decision.id },
    { time: at(2) },
  );
  const done = sampleChild(
    started,
    'io.scalewise.ScalingActionCompleted',
    {
      action: 'scale_up',
      action_id: decision.id,
      count: 2,
      previous_workers: 3,
      new_workers: 5,
    },
    { time: at(30) },
  );
  return [pending, decision, started, done];
}

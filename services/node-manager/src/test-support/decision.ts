/** Test support: the decisions node-manager acts on, as decision-engine would publish them. */
import { type AnyScalewiseEvent, createEvent, type EventData, sampleData } from '@scalewise/events';

/** A ScaleUpDecision or ScaleDownDecision for `pool` from `current` workers by `count`. */
export const decision = (
  type: 'io.scalewise.ScaleUpDecision' | 'io.scalewise.ScaleDownDecision',
  pool: string,
  current: number,
  count: number,
) =>
  createEvent(
    type,
    {
      ...(sampleData[type] as object),
      pool,
      current_workers: current,
      desired_workers: type === 'io.scalewise.ScaleUpDecision' ? current + count : current - count,
      count,
    } as EventData<typeof type>,
    { source: '/scalewise/test/decision-engine', clusterid: pool },
  ) as AnyScalewiseEvent;

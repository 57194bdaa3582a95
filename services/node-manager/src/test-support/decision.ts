/** Test support: the decisions node-manager acts on, as decision-engine would publish them. */
import { type AnyScalewiseEvent, createEvent, type EventData, sampleData } from '@scalewise/events';

type DecisionType = 'io.scalewise.ScaleUpDecision' | 'io.scalewise.ScaleDownDecision';

/**
 * A ScaleUpDecision or ScaleDownDecision for `pool` from `current` workers by `count`; with
 * `trigger`, as the engine decides it for `io.scalewise.trigger.scale`, carrying the trigger's
 * task id when it has one (the pods provider gives it to the worker).
 */
export const decision = (
  type: DecisionType,
  pool: string,
  current: number,
  count: number,
  trigger?: { taskId?: string | undefined },
) =>
  createEvent(
    type,
    {
      ...(sampleData[type] as object),
      pool,
      current_workers: current,
      desired_workers: type === 'io.scalewise.ScaleUpDecision' ? current + count : current - count,
      count,
      ...(trigger ? triggerExplained(type, count, trigger.taskId) : {}),
    } as EventData<typeof type>,
    { source: '/scalewise/test/decision-engine', clusterid: pool },
  ) as AnyScalewiseEvent;

function triggerExplained(type: DecisionType, count: number, taskId: string | undefined) {
  const up = type === 'io.scalewise.ScaleUpDecision';
  return {
    ...(up ? { reason: 'trigger' } : {}),
    explanation: {
      rule: up ? 'trigger_scale_up' : 'trigger_scale_down',
      summary: `trigger from the test${taskId ? ` for ${taskId}` : ''}`,
      inputs: { trigger_action: 'scale_up', trigger_count: count, ...(taskId ? { task_id: taskId } : {}) },
      comparisons: [],
    },
  };
}

/**
 * The decider: `decide(state, input, now) -> { state, events }`. Pure: no I/O, no clock (now
 * is epoch ms, given), no await; the input state is never mutated. It never throws: an input
 * it cannot use leaves the state as it was and emits nothing, a bad trigger becomes
 * TriggerRejected.
 */
import { catalogue } from '@scalewise/events';
import { emptyLedger } from '@scalewise/pool';
import { checkHold, pursueHold } from './hold.ts';
import {
  onCompleted,
  onDegraded,
  onFailed,
  onFloorAction,
  onNodeLost,
  onNodeReady,
  onNodeRemoved,
  onStarted,
  onSynced,
} from './lifecycle.ts';
import { onMetrics } from './metrics.ts';
import { onPending } from './pending.ts';
import { onPressure } from './pressure.ts';
import { type EngineState, settled, viewOf } from './state.ts';
import { housekeep, type Step } from './step.ts';
import { onTrigger } from './triggers.ts';
import {
  type ConsumedEventType,
  consumedEventTypes,
  type DecideContext,
  type Decision,
  type EngineEvent,
  type EngineInput,
  type Intent,
  type TriggerEvent,
  triggerTypes,
} from './types.ts';
import { onUnderutilization } from './underutilization.ts';

export type { DecideContext, Decision } from './types.ts';

const consumed: ReadonlySet<string> = new Set(consumedEventTypes);
const triggers: ReadonlySet<string> = new Set(triggerTypes);

/**
 * Decides what one input means for its pool.
 * @param now epoch milliseconds; a non-finite value makes the input a no-op.
 * @param context where the engine runs (the cluster a trigger must be for).
 * @returns the next state (the input state untouched) and the events to publish, in order.
 */
export function decide<I extends EngineInput>(
  state: EngineState,
  input: I,
  now: number,
  context: DecideContext = {},
): Decision<I> {
  const unchanged: Decision<I> = { state, events: [] };
  if (
    typeof input !== 'object' ||
    input === null ||
    typeof input.type !== 'string' ||
    !Number.isFinite(now)
  ) {
    return unchanged;
  }
  if (triggers.has(input.type)) {
    return onTrigger(state, input as TriggerEvent, now, context.clusterId) as Decision<I>;
  }
  if (!consumed.has(input.type)) return unchanged;
  const type = input.type as ConsumedEventType;
  const parsed = catalogue[type].schema.safeParse(input.data);
  if (!parsed.success) return unchanged;
  const data = parsed.data as { pool: string };
  const pool = Object.hasOwn(state.pools, data.pool) ? state.pools[data.pool] : undefined;
  if (!pool) return unchanged;
  const ledger = state.ledgers[data.pool] ?? emptyLedger(data.pool);
  const s: Step = { pool: viewOf(pool, ledger, now), now, input, events: [] };
  housekeep(s);
  checkHold(s);
  onEvent(s, { ...input, data } as EngineEvent);
  pursueHold(s);
  return {
    state: {
      pools: { ...state.pools, [data.pool]: s.pool },
      ledgers: { ...state.ledgers, [data.pool]: settled(ledger, s.pool, s.events, now, input.source) },
    },
    events: s.events as Intent<I>[],
  };
}

/** One handler per consumed type: a type without one is a compile error. */
const handlers: { [T in ConsumedEventType]: (s: Step, e: Extract<EngineEvent, { type: T }>) => void } = {
  'io.scalewise.PoolMetricsObserved': (s, e) => onMetrics(s, e.data),
  'io.scalewise.PendingPodsDetected': (s, e) => onPending(s, e.data),
  'io.scalewise.ResourcePressureAlert': (s, e) => onPressure(s, e.data),
  'io.scalewise.UnderutilizationWarning': (s, e) => onUnderutilization(s, e.data),
  'io.scalewise.NodeHealthDegraded': (s, e) => onDegraded(s, e.data),
  'io.scalewise.NodeReady': (s, e) => onNodeReady(s, e.data),
  'io.scalewise.NodeRemoved': (s, e) => onNodeRemoved(s, e.data),
  'io.scalewise.NodeUnexpectedlyLost': (s, e) => onNodeLost(s, e.data),
  'io.scalewise.ScaleUpStarted': (s, e) => onStarted(s, 'up', e.data.action_id, e.data.count),
  'io.scalewise.ScaleDownStarted': (s, e) => onStarted(s, 'down', e.data.action_id, e.data.count),
  'io.scalewise.ScalingActionCompleted': (s, e) => onCompleted(s, e.data),
  'io.scalewise.ScalingActionFailed': (s, e) => onFailed(s, e.data),
  'io.scalewise.ClusterStateSynced': (s, e) => onSynced(s, e.data),
  'io.scalewise.AutoScaleUpToMinimum': (s, e) => onFloorAction(s, e.id, e.data.scale_up_count),
  'io.scalewise.EmergencyScaleUp': (s, e) => onFloorAction(s, e.id, e.data.emergency_scale),
};

function onEvent(s: Step, e: EngineEvent): void {
  (handlers[e.type] as (s: Step, e: EngineEvent) => void)(s, e);
}

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

function onEvent(s: Step, e: EngineEvent): void {
  switch (e.type) {
    case 'io.scalewise.PoolMetricsObserved':
      onMetrics(s, e.data);
      return;
    case 'io.scalewise.PendingPodsDetected':
      onPending(s, e.data);
      return;
    case 'io.scalewise.ResourcePressureAlert':
      onPressure(s, e.data);
      return;
    case 'io.scalewise.UnderutilizationWarning':
      onUnderutilization(s, e.data);
      return;
    case 'io.scalewise.NodeHealthDegraded':
      onDegraded(s, e.data);
      return;
    case 'io.scalewise.NodeReady':
      onNodeReady(s, e.data);
      return;
    case 'io.scalewise.NodeRemoved':
      onNodeRemoved(s, e.data);
      return;
    case 'io.scalewise.NodeUnexpectedlyLost':
      onNodeLost(s, e.data);
      return;
    case 'io.scalewise.ScaleUpStarted':
      onStarted(s, 'up', e.data.action_id, e.data.count);
      return;
    case 'io.scalewise.ScaleDownStarted':
      onStarted(s, 'down', e.data.action_id, e.data.count);
      return;
    case 'io.scalewise.ScalingActionCompleted':
      onCompleted(s, e.data);
      return;
    case 'io.scalewise.ScalingActionFailed':
      onFailed(s, e.data);
      return;
    case 'io.scalewise.ClusterStateSynced':
      onSynced(s, e.data);
      return;
    case 'io.scalewise.AutoScaleUpToMinimum':
      onFloorAction(s, e.id, e.data.scale_up_count);
      return;
    case 'io.scalewise.EmergencyScaleUp':
      onFloorAction(s, e.id, e.data.emergency_scale);
      return;
    default:
      exhaustive(e);
  }
}

/** Compile-time proof that the switch handles every consumed type; nothing at run time. */
function exhaustive(_: never): void {}

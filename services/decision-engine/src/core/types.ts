/** What the decision core takes in and gives out. */
import {
  type EventData,
  type EventIntent,
  eventTypesOfTopic,
  type TriggerEventType,
} from '@scalewise/events';
import type { EngineState } from './state.ts';

/** Signal, node, action and state events the core consumes (validated by the shell's bus). */
export const consumedEventTypes = [
  'io.scalewise.PoolMetricsObserved',
  'io.scalewise.PendingPodsDetected',
  'io.scalewise.ResourcePressureAlert',
  'io.scalewise.UnderutilizationWarning',
  'io.scalewise.NodeHealthDegraded',
  'io.scalewise.NodeReady',
  'io.scalewise.NodeRemoved',
  'io.scalewise.NodeUnexpectedlyLost',
  'io.scalewise.ScaleUpStarted',
  'io.scalewise.ScaleDownStarted',
  'io.scalewise.ScalingActionCompleted',
  'io.scalewise.ScalingActionFailed',
  'io.scalewise.ClusterStateSynced',
  'io.scalewise.AutoScaleUpToMinimum',
  'io.scalewise.EmergencyScaleUp',
] as const;
export type ConsumedEventType = (typeof consumedEventTypes)[number];

/** External triggers: the catalogue's types of the `triggers` topic. */
export type TriggerType = TriggerEventType;
export const triggerTypes = eventTypesOfTopic('triggers') as readonly TriggerType[];

/**
 * A consumed event: the parts of a CloudEvent the core reads. A `ScalewiseEvent` of the same
 * type is one.
 */
export type EngineEvent = {
  [T in ConsumedEventType]: { id: string; type: T; source: string; data: EventData<T> };
}[ConsumedEventType];

/**
 * A trigger as it came from outside. Its data is checked by the core against the catalogue,
 * so a trigger that breaks the schema or the policy becomes TriggerRejected, never an error.
 */
export interface TriggerEvent {
  id: string;
  type: TriggerType;
  source: string;
  data: unknown;
  /** The cluster the trigger is for; absent: the cluster whose triggers topic it is on. */
  clusterid?: string | undefined;
}

export type EngineInput = EngineEvent | TriggerEvent;

/** Event types the core produces. */
export const producedEventTypes = [
  'io.scalewise.ScaleUpDecision',
  'io.scalewise.ScaleDownDecision',
  'io.scalewise.ScaleDownBlocked',
  'io.scalewise.OptimalStateTrigger',
  'io.scalewise.TriggerRejected',
  'io.scalewise.TriggerHoldEnded',
] as const;
export type ProducedEventType = (typeof producedEventTypes)[number];

/**
 * An event to publish. The shell turns it into a CloudEvent with `causedBy(causedBy, type,
 * data, { id })`: the id is deterministic (`<input id>/<name>`), so a redelivered input yields
 * the same decision id and node-manager's idempotency per decision id holds; in-flight actions
 * are tracked under it.
 */
export type Intent<I = EngineInput> = EventIntent<ProducedEventType> & { id: string; causedBy: I };

/** What one input made of the state: the next state and the events to publish, in order. */
export interface Decision<I = EngineInput> {
  state: EngineState;
  events: Intent<I>[];
}

/** What the decider is told about where it runs. */
export interface DecideContext {
  /**
   * The cluster this engine decides for (config `cluster_id`): a trigger naming another one is
   * rejected `wrong_cluster`. Unset: a trigger's cluster is not checked.
   */
  clusterId?: string;
}

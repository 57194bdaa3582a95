/**
 * The event catalogue: for every event type its data schema, topic and default severity.
 * Types, topics and validation all derive from this one table (DESIGN.md section 4).
 */
import { z } from 'zod';
import * as s from './schemas.ts';

export type Severity = 'info' | 'warning' | 'critical';

/** Logical topics; the Kafka name is `<prefix><key>` (default prefix `scalewise.`). */
export const topicKeys = [
  'metrics',
  'signals',
  'nodes',
  'decisions',
  'actions',
  'state',
  'triggers',
  'dlq',
  'audit',
] as const;
export type TopicKey = (typeof topicKeys)[number];

/**
 * How an event type recurs, for whatever shows events to a person (the console folds the
 * routine ones by default):
 * - `change`: published when something happens: a decision, an action, a node, a drift;
 * - `periodic`: published every round of a loop whether or not anything changed (a pool's
 *   metrics sample, a sync round that found the three views agreeing): telemetry;
 * - `state`: published every round while a condition holds (pressure, pending pods, a pool
 *   at its optimum): the first for a pool is news, a repeat with nothing else of that pool
 *   between them is not.
 */
export type Cadence = 'change' | 'periodic' | 'state';

/**
 * What an event type is, beyond its topic, for the lists that would otherwise be written by hand:
 * - `decision`: a decision (of the decision-engine or min-enforcer) a person opens to read why;
 * - `scaling`: a decision that asks node-manager to change a pool's size.
 */
export const eventTags = ['decision', 'scaling'] as const;
export type EventTag = (typeof eventTags)[number];

interface Entry {
  topic: TopicKey;
  severity: Severity;
  schema: z.ZodType;
  summary: string;
  cadence: Cadence;
  tags: readonly EventTag[];
}

/**
 * One catalogue entry. Its `schema` is built on first read and kept (schemas.ts exports a
 * builder per event): a service pays only for the types it publishes or consumes.
 */
const entry = <S extends z.ZodType, const G extends readonly EventTag[] = readonly []>(
  topic: TopicKey,
  severity: Severity,
  build: () => S,
  summary: string,
  cadence: Cadence = 'change',
  tags?: G,
) => {
  let schema: S | undefined;
  return {
    topic,
    severity,
    get schema(): S {
      schema ??= build();
      return schema;
    },
    summary,
    cadence,
    // Absent: no tags (G defaults to the empty tuple).
    tags: (tags ?? []) as NoInfer<G>,
  };
};

/** Every event type Scalewise produces or accepts, by its CloudEvents `type`. */
export const catalogue = {
  'io.scalewise.PoolMetricsObserved': entry(
    'metrics',
    'info',
    s.poolMetricsObserved,
    'one sample of a pool',
    'periodic',
  ),
  'io.scalewise.ResourcePressureAlert': entry(
    'signals',
    'warning',
    s.resourcePressureAlert,
    'CPU or memory above the pressure threshold',
    'state',
  ),
  'io.scalewise.UnderutilizationWarning': entry(
    'signals',
    'info',
    s.underutilizationWarning,
    'CPU and memory below the low thresholds for the configured periods',
    'state',
  ),
  'io.scalewise.PendingPodsDetected': entry(
    'signals',
    'warning',
    s.pendingPodsDetected,
    'unschedulable pods',
    'state',
  ),
  'io.scalewise.NotTriggerScaleUp': entry(
    'signals',
    'warning',
    s.notTriggerScaleUp,
    'pending pods that no pool can host: they grow nothing',
    'state',
  ),
  'io.scalewise.OptimalStateTrigger': entry(
    'signals',
    'info',
    s.optimalStateTrigger,
    'the pool is at its minimum and underutilised',
    'state',
    ['decision'],
  ),
  'io.scalewise.NodeHealthDegraded': entry(
    'nodes',
    'warning',
    s.nodeHealthDegraded,
    'a node is NotReady or under pressure',
    'state',
  ),
  'io.scalewise.NodeUnexpectedlyLost': entry(
    'nodes',
    'critical',
    s.nodeUnexpectedlyLost,
    'a node disappeared with no scale-down in flight',
  ),
  'io.scalewise.NodeCreated': entry('nodes', 'info', s.nodeCreated, 'a provider created a worker'),
  'io.scalewise.NodeReady': entry('nodes', 'info', s.nodeReady, 'a created worker became Ready'),
  'io.scalewise.NodeDrained': entry(
    'nodes',
    'info',
    s.nodeDrained,
    'a worker was cordoned and its pods evicted',
  ),
  'io.scalewise.NodeRemoved': entry('nodes', 'info', s.nodeRemoved, 'a worker was removed'),
  'io.scalewise.ScaleUpDecision': entry('decisions', 'info', s.scaleUpDecision, 'the pool grows', 'change', [
    'decision',
    'scaling',
  ]),
  'io.scalewise.ScaleDownDecision': entry(
    'decisions',
    'info',
    s.scaleDownDecision,
    'the pool shrinks',
    'change',
    ['decision', 'scaling'],
  ),
  'io.scalewise.ScaleDownBlocked': entry(
    'decisions',
    'info',
    s.scaleDownBlocked,
    'a scale-down was due but a rule forbids it',
    'change',
    ['decision'],
  ),
  'io.scalewise.AutoScaleUpToMinimum': entry(
    'decisions',
    'warning',
    s.autoScaleUpToMinimum,
    'scale up to restore the minimum',
    'change',
    ['decision', 'scaling'],
  ),
  'io.scalewise.EmergencyScaleUp': entry(
    'decisions',
    'critical',
    s.emergencyScaleUp,
    'several nodes lost at once',
    'change',
    ['decision', 'scaling'],
  ),
  'io.scalewise.TriggerRejected': entry(
    'decisions',
    'warning',
    s.triggerRejected,
    'an external trigger broke policy',
    'change',
    ['decision'],
  ),
  'io.scalewise.TriggerHoldEnded': entry(
    'decisions',
    'info',
    s.triggerHoldEnded,
    "a scale trigger's target is no longer pursued or held",
  ),
  'io.scalewise.ScaleUpStarted': entry('actions', 'info', s.scaleUpStarted, 'node-manager began a scale-up'),
  'io.scalewise.ScaleDownStarted': entry(
    'actions',
    'info',
    s.scaleDownStarted,
    'node-manager began a scale-down',
  ),
  'io.scalewise.ScalingActionCompleted': entry(
    'actions',
    'info',
    s.scalingActionCompleted,
    'an action finished',
  ),
  'io.scalewise.ScalingActionFailed': entry('actions', 'warning', s.scalingActionFailed, 'an action failed'),
  'io.scalewise.ClusterStateSynced': entry(
    'state',
    'info',
    s.clusterStateSynced,
    'Kubernetes, the provider and the state store agree',
    'periodic',
  ),
  'io.scalewise.StateDriftDetected': entry(
    'state',
    'warning',
    s.stateDriftDetected,
    'the three views disagree',
  ),
  'io.scalewise.MinimumNodesViolation': entry(
    'state',
    'critical',
    s.minimumNodesViolation,
    'fewer workers than the minimum',
  ),
  'io.scalewise.MinimumNodesRestored': entry(
    'state',
    'info',
    s.minimumNodesRestored,
    'the minimum holds again',
  ),
  'io.scalewise.CircuitBreakerStateChanged': entry(
    'state',
    'warning',
    s.circuitBreakerStateChanged,
    'a circuit breaker around a dependency opened, half-opened or closed',
  ),
  'io.scalewise.DeadLetterRecorded': entry(
    'dlq',
    'warning',
    s.deadLetterRecorded,
    'a record was dead-lettered to S3',
  ),
  'io.scalewise.AuditRecorded': entry(
    'audit',
    'info',
    s.auditRecorded,
    'a mutating request (HTTP write route, CLI trigger or replay): who, what, how it ended',
  ),
  'io.scalewise.trigger.scale': entry(
    'triggers',
    'info',
    s.triggerScale,
    'an external request to scale a pool',
  ),
  'io.scalewise.trigger.pause': entry(
    'triggers',
    'info',
    s.triggerPause,
    'stop deciding for a pool (the floor holds)',
  ),
  'io.scalewise.trigger.resume': entry('triggers', 'info', s.triggerResume, 'resume deciding for a pool'),
  'io.scalewise.trigger.update': entry(
    'triggers',
    'info',
    s.triggerUpdate,
    "change a pool's min/max at run time",
  ),
} as const satisfies Record<string, Entry>;

export type Catalogue = typeof catalogue;
/** Every CloudEvents `type` in the catalogue. */
export type EventType = keyof Catalogue;
/** The data of an event type, derived from its schema. */
export type EventData<T extends EventType> = z.output<Catalogue[T]['schema']>;
/**
 * One event of any of the types `T` as a service's pure core hands it to its shell: the type
 * and its data, narrowed together on `type`.
 */
export type EventIntent<T extends EventType> = { [K in T]: { type: K; data: EventData<K> } }[T];
/** The prefix every CloudEvents `type` of the catalogue starts with. */
export const EVENT_TYPE_PREFIX = 'io.scalewise.';
/** The short name of a type: `io.scalewise.ScaleUpDecision` -> `ScaleUpDecision`. */
export type EventName<T extends EventType = EventType> = T extends `io.scalewise.${infer N}` ? N : never;
/** The event types carrying tag `G`. */
export type TaggedEventType<G extends EventTag> = {
  [T in EventType]: G extends Catalogue[T]['tags'][number] ? T : never;
}[EventType];
/** A decision a person opens to read why. */
export type DecisionEventType = TaggedEventType<'decision'>;
/** A decision node-manager carries out. */
export type ScalingEventType = TaggedEventType<'scaling'>;

export const eventTypes = Object.keys(catalogue) as EventType[];

/** The event types carrying `tag`, in catalogue order. */
export function eventTypesTagged<G extends EventTag>(tag: G): TaggedEventType<G>[] {
  return eventTypes.filter((t) =>
    (catalogue[t].tags as readonly EventTag[]).includes(tag),
  ) as TaggedEventType<G>[];
}

/** Decisions a person opens to read why, in catalogue order. */
export const decisionTypes: readonly DecisionEventType[] = eventTypesTagged('decision');
/** Decisions node-manager carries out, in catalogue order. */
export const scalingTypes: readonly ScalingEventType[] = eventTypesTagged('scaling');

/**
 * The short name of a type: `io.scalewise.ScaleUpDecision` -> `ScaleUpDecision`,
 * `io.scalewise.trigger.scale` -> `trigger.scale`. A string without the prefix is returned as is.
 */
export function shortName<T extends EventType>(type: T): EventName<T>;
export function shortName(type: string): string;
export function shortName(type: string): string {
  return type.startsWith(EVENT_TYPE_PREFIX) ? type.slice(EVENT_TYPE_PREFIX.length) : type;
}

/**
 * The full type of a short name (`ScaleUpDecision` -> `io.scalewise.ScaleUpDecision`); a full
 * type is returned as is. Not checked against the catalogue: see {@link isEventType}.
 */
export function typeOf<N extends EventName>(name: N): Extract<EventType, `io.scalewise.${N}`>;
export function typeOf(name: string): string;
export function typeOf(name: string): string {
  return name.startsWith(EVENT_TYPE_PREFIX) ? name : `${EVENT_TYPE_PREFIX}${name}`;
}

/** Whether `type` is in the catalogue. */
export function isEventType(type: unknown): type is EventType {
  return typeof type === 'string' && Object.hasOwn(catalogue, type);
}

/** How an event type recurs (see Cadence). */
export function cadenceOf(type: EventType): Cadence {
  return catalogue[type].cadence;
}

/** The logical topic an event type is published to. */
export function topicOf(type: EventType): TopicKey {
  return catalogue[type].topic;
}

/** The event types that travel on a logical topic. */
export function eventTypesOfTopic(topic: TopicKey): EventType[] {
  return eventTypes.filter((t) => catalogue[t].topic === topic);
}

/** The Kafka topic name of a logical topic. @default prefix `scalewise.` */
export function topicName(
  topic: TopicKey,
  prefix = 'scalewise.',
  overrides: Partial<Record<TopicKey, string>> = {},
): string {
  return overrides[topic] ?? `${prefix}${topic}`;
}

/** The JSON Schema of an event type's data, for external producers and docs. */
export function jsonSchemaOf(type: EventType): unknown {
  return z.toJSONSchema(catalogue[type].schema as z.ZodType, { unrepresentable: 'any' });
}

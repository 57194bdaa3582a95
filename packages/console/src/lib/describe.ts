/** One line a person can read for each event: what happened, with its numbers. Pure. */
import type { ScalewiseEvent } from '@scalewise/events';
import type { AnyScalewiseEvent, EventType } from './types.ts';

/** A trigger's data as sent (any JSON): its fields, or none when it is not an object. */
const sent = (data: unknown): Record<string, unknown> =>
  typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
/** A field of a trigger as sent: '?' when absent, JSON for anything but a string. */
const text = (v: unknown): string => (v === undefined ? '?' : typeof v === 'string' ? v : JSON.stringify(v));

/** The line of one event type, from its event (its data checked, unless a trigger's). */
type Summaries = { [T in EventType]: (e: ScalewiseEvent<T>) => string };

function pressureSummary({ data: d }: ScalewiseEvent<'io.scalewise.ResourcePressureAlert'>): string {
  return d.metric && d.resource === 'metric'
    ? `${d.metric.name} pressure: ${d.metric.value} asks for ${d.metric.desired_workers} workers (threshold ${d.metric.threshold} each) for ${d.duration}s`
    : `${d.resource} pressure: CPU ${d.cpu_avg}% (> ${d.cpu_threshold}%), memory ${d.memory_avg}% (> ${d.memory_threshold}%) for ${d.duration}s`;
}

function decisionSummary({
  data: d,
}: ScalewiseEvent<'io.scalewise.ScaleUpDecision' | 'io.scalewise.ScaleDownDecision'>): string {
  return `${d.current_workers} → ${d.desired_workers} workers (${d.reason})${d.dry_run ? ' [dry run]' : ''}: ${d.explanation.summary}`;
}

function startedSummary({
  data: d,
}: ScalewiseEvent<'io.scalewise.ScaleUpStarted' | 'io.scalewise.ScaleDownStarted'>): string {
  return `${d.previous_workers} → ${d.target_workers} workers started`;
}

// A trigger is shown as sent: its data may break the schema (then TriggerRejected follows).
function scaleTriggerSummary(e: ScalewiseEvent<'io.scalewise.trigger.scale'>): string {
  const d = sent(e.data);
  return `trigger ${text(d.action)} ${d.action === 'set' ? text(d.target) : text(d.count)}${d.reason ? `: ${text(d.reason)}` : ''}`;
}

function pauseOrResumeSummary(
  e: ScalewiseEvent<'io.scalewise.trigger.pause' | 'io.scalewise.trigger.resume'>,
): string {
  const d = sent(e.data);
  return `${e.type === 'io.scalewise.trigger.pause' ? 'pause' : 'resume'}${d.reason ? `: ${text(d.reason)}` : ''}`;
}

/** Every type of the catalogue: the compiler asks for a new type's line here. */
const summaries: Summaries = {
  'io.scalewise.PoolMetricsObserved': ({ data: d }) =>
    `${d.workers} workers (${d.ready_workers} ready), CPU ${d.cpu_avg}%, memory ${d.memory_avg}%, ${d.pending_pods} pending`,
  'io.scalewise.ResourcePressureAlert': pressureSummary,
  'io.scalewise.UnderutilizationWarning': ({ data: d }) =>
    `underutilised for ${d.duration}s: CPU ${d.cpu_avg}%, memory ${d.memory_avg}%`,
  'io.scalewise.PendingPodsDetected': ({ data: d }) =>
    `${d.pending_count} pods pending for ${d.waiting_time}s (${d.affected_deployments.join(', ') || 'no deployment'})`,
  'io.scalewise.NotTriggerScaleUp': ({ data: d }) => d.summary,
  'io.scalewise.OptimalStateTrigger': ({ data: d }) =>
    `optimal state (${d.state}) at ${d.current_workers} workers`,
  'io.scalewise.NodeHealthDegraded': ({ data: d }) => `${d.node_name} ${d.status} (${d.condition})`,
  'io.scalewise.NodeUnexpectedlyLost': ({ data: d }) =>
    `${d.node_name} lost (${d.cause}); ${d.remaining_workers} remain`,
  'io.scalewise.NodeCreated': ({ data: d }) => `${d.node_name} created (${d.provider})`,
  'io.scalewise.NodeReady': ({ data: d }) => `${d.node_name} ready after ${d.ready_after}s`,
  'io.scalewise.NodeDrained': ({ data: d }) =>
    `${d.node_name} drained: ${d.evicted_pods} pods evicted in ${d.duration}s`,
  'io.scalewise.NodeRemoved': ({ data: d }) => `${d.node_name} removed`,
  'io.scalewise.ScaleUpDecision': decisionSummary,
  'io.scalewise.ScaleDownDecision': decisionSummary,
  'io.scalewise.ScaleDownBlocked': ({ data: d }) =>
    `scale-down blocked: ${d.reason} (${d.workers} workers, min ${d.min_workers})${(d.blocked_nodes ?? []).map((b) => `; ${b.node}: ${b.message}`).join('')}`,
  'io.scalewise.AutoScaleUpToMinimum': ({ data: d }) =>
    `${d.current_workers} → ${d.current_workers + d.scale_up_count} workers to reach min ${d.min_workers}`,
  'io.scalewise.EmergencyScaleUp': ({ data: d }) =>
    `${d.lost_count} lost at once: +${d.emergency_scale} workers (${d.remaining_workers} remain)`,
  'io.scalewise.TriggerRejected': ({ data: d }) => `trigger rejected (${d.reason}): ${d.message}`,
  'io.scalewise.TriggerHoldEnded': ({ data: d }) =>
    `hold of ${d.target} workers ended (${d.reason}${d.reached ? `, held ${d.held_seconds}s` : ', never reached'}): ${d.message}`,
  'io.scalewise.ScaleUpStarted': startedSummary,
  'io.scalewise.ScaleDownStarted': startedSummary,
  'io.scalewise.ScalingActionCompleted': ({ data: d }) =>
    `${d.action} done: ${d.previous_workers} → ${d.new_workers} workers in ${d.duration}s`,
  'io.scalewise.ScalingActionFailed': ({ data: d }) => `${d.action} failed (${d.error_code}): ${d.message}`,
  'io.scalewise.ClusterStateSynced': ({ data: d }) => `in sync: ${d.workers} workers`,
  'io.scalewise.StateDriftDetected': ({ data: d }) =>
    `drift: ${d.drift.map((x) => `${x.kind} ${x.name}`).join(', ')}${d.repaired ? ' (repaired)' : ''}`,
  'io.scalewise.MinimumNodesViolation': ({ data: d }) =>
    `below minimum: ${d.current_workers} < ${d.min_workers}`,
  'io.scalewise.MinimumNodesRestored': ({ data: d }) =>
    `minimum restored: ${d.current_workers} ≥ ${d.min_workers}`,
  'io.scalewise.CircuitBreakerStateChanged': ({ data: d }) =>
    `${d.service}: breaker ${d.breaker} ${d.state.replace('_', '-')}`,
  'io.scalewise.DeadLetterRecorded': ({ data: d }) =>
    `dead letter from ${d.topic} (${d.error_code}): ${d.reason}`,
  'io.scalewise.AuditRecorded': ({ data: d }) =>
    `${d.actor} ${d.action} ${d.target}: ${d.outcome}${d.reason ? ` (${d.reason})` : ''}`,
  'io.scalewise.trigger.scale': scaleTriggerSummary,
  'io.scalewise.trigger.pause': pauseOrResumeSummary,
  'io.scalewise.trigger.resume': pauseOrResumeSummary,
  'io.scalewise.trigger.update': (e) => {
    const d = sent(e.data);
    return `limits: min ${text(d.min)}, max ${text(d.max)}`;
  },
};

/** The line of an event: its type's entry of the table. */
function summaryOf<T extends EventType>(e: ScalewiseEvent<T>): string {
  return summaries[e.type](e);
}

export function summary(e: AnyScalewiseEvent): string {
  // A type outside the catalogue (a newer producer's) is shown by its name.
  if (!Object.hasOwn(summaries, e.type)) return String(e.type);
  return summaryOf(e);
}

/** The time of an event as HH:MM:SS.mmm in UTC. */
export const clock = (iso: string): string => new Date(iso).toISOString().slice(11, 23);

/** One line a person can read for each event: what happened, with its numbers. Pure. */
import type { AnyScalewiseEvent } from './types.ts';

/** A trigger's data as sent (any JSON): its fields, or none when it is not an object. */
const sent = (data: unknown): Record<string, unknown> =>
  typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
/** A field of a trigger as sent: '?' when absent, JSON for anything but a string. */
const text = (v: unknown): string => (v === undefined ? '?' : typeof v === 'string' ? v : JSON.stringify(v));

export function summary(e: AnyScalewiseEvent): string {
  switch (e.type) {
    case 'io.scalewise.PoolMetricsObserved':
      return `${e.data.workers} workers (${e.data.ready_workers} ready), CPU ${e.data.cpu_avg}%, memory ${e.data.memory_avg}%, ${e.data.pending_pods} pending`;
    case 'io.scalewise.ResourcePressureAlert':
      return e.data.metric && e.data.resource === 'metric'
        ? `${e.data.metric.name} pressure: ${e.data.metric.value} asks for ${e.data.metric.desired_workers} workers (threshold ${e.data.metric.threshold} each) for ${e.data.duration}s`
        : `${e.data.resource} pressure: CPU ${e.data.cpu_avg}% (> ${e.data.cpu_threshold}%), memory ${e.data.memory_avg}% (> ${e.data.memory_threshold}%) for ${e.data.duration}s`;
    case 'io.scalewise.UnderutilizationWarning':
      return `underutilised for ${e.data.duration}s: CPU ${e.data.cpu_avg}%, memory ${e.data.memory_avg}%`;
    case 'io.scalewise.PendingPodsDetected':
      return `${e.data.pending_count} pods pending for ${e.data.waiting_time}s (${e.data.affected_deployments.join(', ') || 'no deployment'})`;
    case 'io.scalewise.NotTriggerScaleUp':
      return e.data.summary;
    case 'io.scalewise.OptimalStateTrigger':
      return `optimal state (${e.data.state}) at ${e.data.current_workers} workers`;
    case 'io.scalewise.NodeHealthDegraded':
      return `${e.data.node_name} ${e.data.status} (${e.data.condition})`;
    case 'io.scalewise.NodeUnexpectedlyLost':
      return `${e.data.node_name} lost (${e.data.cause}); ${e.data.remaining_workers} remain`;
    case 'io.scalewise.NodeCreated':
      return `${e.data.node_name} created (${e.data.provider})`;
    case 'io.scalewise.NodeReady':
      return `${e.data.node_name} ready after ${e.data.ready_after}s`;
    case 'io.scalewise.NodeDrained':
      return `${e.data.node_name} drained: ${e.data.evicted_pods} pods evicted in ${e.data.duration}s`;
    case 'io.scalewise.NodeRemoved':
      return `${e.data.node_name} removed`;
    case 'io.scalewise.ScaleUpDecision':
    case 'io.scalewise.ScaleDownDecision':
      return `${e.data.current_workers} → ${e.data.desired_workers} workers (${e.data.reason})${e.data.dry_run ? ' [dry run]' : ''}: ${e.data.explanation.summary}`;
    case 'io.scalewise.ScaleDownBlocked':
      return `scale-down blocked: ${e.data.reason} (${e.data.workers} workers, min ${e.data.min_workers})${(e.data.blocked_nodes ?? []).map((b) => `; ${b.node}: ${b.message}`).join('')}`;
    case 'io.scalewise.AutoScaleUpToMinimum':
      return `${e.data.current_workers} → ${e.data.current_workers + e.data.scale_up_count} workers to reach min ${e.data.min_workers}`;
    case 'io.scalewise.EmergencyScaleUp':
      return `${e.data.lost_count} lost at once: +${e.data.emergency_scale} workers (${e.data.remaining_workers} remain)`;
    case 'io.scalewise.TriggerRejected':
      return `trigger rejected (${e.data.reason}): ${e.data.message}`;
    case 'io.scalewise.TriggerHoldEnded':
      return `hold of ${e.data.target} workers ended (${e.data.reason}${e.data.reached ? `, held ${e.data.held_seconds}s` : ', never reached'}): ${e.data.message}`;
    case 'io.scalewise.ScaleUpStarted':
    case 'io.scalewise.ScaleDownStarted':
      return `${e.data.previous_workers} → ${e.data.target_workers} workers started`;
    case 'io.scalewise.ScalingActionCompleted':
      return `${e.data.action} done: ${e.data.previous_workers} → ${e.data.new_workers} workers in ${e.data.duration}s`;
    case 'io.scalewise.ScalingActionFailed':
      return `${e.data.action} failed (${e.data.error_code}): ${e.data.message}`;
    case 'io.scalewise.ClusterStateSynced':
      return `in sync: ${e.data.workers} workers`;
    case 'io.scalewise.StateDriftDetected':
      return `drift: ${e.data.drift.map((d) => `${d.kind} ${d.name}`).join(', ')}${e.data.repaired ? ' (repaired)' : ''}`;
    case 'io.scalewise.MinimumNodesViolation':
      return `below minimum: ${e.data.current_workers} < ${e.data.min_workers}`;
    case 'io.scalewise.MinimumNodesRestored':
      return `minimum restored: ${e.data.current_workers} ≥ ${e.data.min_workers}`;
    case 'io.scalewise.CircuitBreakerStateChanged':
      return `${e.data.service}: breaker ${e.data.breaker} ${e.data.state.replace('_', '-')}`;
    case 'io.scalewise.DeadLetterRecorded':
      return `dead letter from ${e.data.topic} (${e.data.error_code}): ${e.data.reason}`;
    case 'io.scalewise.AuditRecorded':
      return `${e.data.actor} ${e.data.action} ${e.data.target}: ${e.data.outcome}${e.data.reason ? ` (${e.data.reason})` : ''}`;
    case 'io.scalewise.trigger.scale': {
      // A trigger is shown as sent: its data may break the schema (then TriggerRejected follows).
      const d = sent(e.data);
      return `trigger ${text(d.action)} ${d.action === 'set' ? text(d.target) : text(d.count)}${d.reason ? `: ${text(d.reason)}` : ''}`;
    }
    case 'io.scalewise.trigger.pause':
    case 'io.scalewise.trigger.resume': {
      const d = sent(e.data);
      return `${e.type === 'io.scalewise.trigger.pause' ? 'pause' : 'resume'}${d.reason ? `: ${text(d.reason)}` : ''}`;
    }
    case 'io.scalewise.trigger.update': {
      const d = sent(e.data);
      return `limits: min ${text(d.min)}, max ${text(d.max)}`;
    }
    default: {
      const never: never = e;
      return String((never as { type: string }).type);
    }
  }
}

/** The time of an event as HH:MM:SS.mmm in UTC. */
export const clock = (iso: string): string => new Date(iso).toISOString().slice(11, 23);

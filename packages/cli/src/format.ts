/**
 * What a person reads: one line per event, the explanation of a decision with its numbers,
 * an explained chain indented by depth, the pools table. Pure: strings in, strings out.
 */
import {
  type AnyScalewiseEvent,
  type PoolStatus as ApiPoolStatus,
  type ChainExplanation,
  type EventData,
  type EventType,
  type Explanation,
  isEventType,
  type PoolExplanation,
  type PoolHold,
  type ScalewiseEvent,
  shortName,
  triggerData,
} from '@scalewise/events';
import { noColour, type Palette } from './colour.ts';

/** `io.scalewise.ScaleUpDecision` -> `ScaleUpDecision`. */
export function shortType(type: string): string {
  return shortName(type);
}

const pct = (n: number) => `${Math.round(n * 10) / 10}%`;
const secs = (n: number) => (n >= 120 ? `${Math.round(n / 6) / 10}m` : `${Math.round(n * 10) / 10}s`);
const signed = (n: number) => (n >= 0 ? `+${n}` : `${n}`);
const short = (id: string) => (id.length > 12 ? id.slice(0, 8) : id);

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${Math.round(v * 10) / 10} ${units[i]}`;
}

const scalar = (v: unknown) =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v) ? String(v) : JSON.stringify(v);

/** `k=v, k=v` of the scalar fields of `data`, for types this CLI does not know. */
function generic(data: unknown): string {
  if (typeof data !== 'object' || data === null) return scalar(data);
  return Object.entries(data as Record<string, unknown>)
    .filter(([k, v]) => k !== 'pool' && (v === null || typeof v !== 'object'))
    .map(([k, v]) => `${k}=${scalar(v)}`)
    .join(', ');
}

/** A trigger whose data breaks its schema (the decision-engine rejects it): its fields as sent. */
const invalidTrigger = (data: unknown, source: string) => `invalid data (${generic(data)}) from ${source}`;

const dry = (d: { dry_run?: boolean | undefined }) => (d.dry_run ? ' [dry run]' : '');

/** What a node event's worker is: a node, or a worker pod of a pods pool. */
const workerWord = (d: { worker_kind?: 'node' | 'pod' | undefined }): string =>
  d.worker_kind === 'pod' ? 'worker pod' : 'node';

/** The summary of one event type, from its event (its data checked, unless a trigger's). */
type Summaries = { [T in EventType]: (e: ScalewiseEvent<T>) => string };

type ResourcePressure = EventData<'io.scalewise.ResourcePressureAlert'>;

/** What is over its threshold: cpu, memory and/or the pool's own metric. */
function pressureParts(d: ResourcePressure): string[] {
  const parts = [];
  if (d.resource === 'cpu' || d.resource === 'both')
    parts.push(`cpu ${pct(d.cpu_avg)} > ${pct(d.cpu_threshold)}`);
  if (d.resource === 'memory' || d.resource === 'both')
    parts.push(`memory ${pct(d.memory_avg)} > ${pct(d.memory_threshold)}`);
  if (d.metric)
    parts.push(
      `${d.metric.name} ${d.metric.value} wants ${d.metric.desired_workers} workers (threshold ${d.metric.threshold})`,
    );
  return parts;
}

function pressureSummary({ data: d }: ScalewiseEvent<'io.scalewise.ResourcePressureAlert'>): string {
  return `${pressureParts(d).join(', ')} for ${secs(d.duration)}; ${d.workers} of max ${d.max_workers} workers`;
}

function pendingSummary({ data: d }: ScalewiseEvent<'io.scalewise.PendingPodsDetected'>): string {
  const deps = d.affected_deployments.length ? `; ${d.affected_deployments.join(', ')}` : '';
  const sim = d.simulation
    ? `; simulated: ${d.simulation.fit_existing} fit the pool's ${d.simulation.pool_nodes} nodes (${d.simulation.in_flight_nodes} in flight), ${d.simulation.pods_on_new_nodes} need ${d.simulation.new_nodes} new`
    : '';
  return `${d.pending_count} pods pending, longest ${secs(d.waiting_time)}; requests ${d.requested_cpu_millicores}m CPU, ${bytes(d.requested_memory_bytes)}${deps}${sim}`;
}

function notScaledUpSummary({ data: d }: ScalewiseEvent<'io.scalewise.NotTriggerScaleUp'>): string {
  const lines = d.pods.map(
    (p) =>
      `\n  ${p.namespace}/${p.name}: ${p.pools.map((x) => `${x.pool}: ${x.message}`).join('; ') || 'no pool'}`,
  );
  return `${d.summary}${lines.join('')}`;
}

function nodeRemovedSummary({ data: d }: ScalewiseEvent<'io.scalewise.NodeRemoved'>): string {
  if (d.reason === 'completed')
    return `${workerWord(d)} ${d.node_name} finished (${d.pod_phase ?? 'done'}${d.task_id ? `, task ${d.task_id}` : ''}) and cleaned up (${d.provider})`;
  return `${workerWord(d)} ${d.node_name} removed (${d.provider})`;
}

function scaleDownSummary({ data: d }: ScalewiseEvent<'io.scalewise.ScaleDownDecision'>): string {
  const which = d.nodes?.length ? ` [${d.nodes.join(', ')}]` : '';
  return `scale down ${d.current_workers} -> ${d.desired_workers} (${signed(-d.count)})${which}, ${d.reason}: ${d.explanation.summary}${dry(d)}`;
}

function blockedSummary({ data: d }: ScalewiseEvent<'io.scalewise.ScaleDownBlocked'>): string {
  const retry = d.retry_after !== undefined ? `, lifts in ${secs(d.retry_after)}` : '';
  const nodes = (d.blocked_nodes ?? []).map((b) => `\n  ${b.node}: ${b.message} (${b.constraint})`);
  return `scale-down blocked: ${d.reason}${retry} (${d.workers} workers, min ${d.min_workers}): ${d.explanation.summary}${nodes.join('')}`;
}

function holdEndedSummary({ data: d }: ScalewiseEvent<'io.scalewise.TriggerHoldEnded'>): string {
  const held = d.reached ? `held ${secs(d.held_seconds)}` : 'never reached';
  return `hold of ${d.target} ended (${d.reason}, ${held}): ${d.message}`;
}

function driftSummary({ data: d }: ScalewiseEvent<'io.scalewise.StateDriftDetected'>): string {
  const drift = d.drift.map((x) => `${x.kind} ${x.name}`).join(', ');
  return `drift: ${drift} (kubernetes ${d.k8s_nodes}, provider ${d.docker_containers}, store ${d.db_workers}); ${d.repaired ? 'repaired' : 'not repaired'}`;
}

function restoredSummary({ data: d }: ScalewiseEvent<'io.scalewise.MinimumNodesRestored'>): string {
  const after = d.violation_duration !== undefined ? ` after ${secs(d.violation_duration)}` : '';
  return `minimum restored: ${d.current_workers} workers, min ${d.min_workers}${after}`;
}

function auditSummary({ data: d }: ScalewiseEvent<'io.scalewise.AuditRecorded'>): string {
  const via = d.request ? ` (${d.request.method} ${d.request.route} ${d.request.status})` : '';
  const who = `${d.actor}${d.principal ? ` [${d.principal}]` : ''}`;
  return `${who} ${d.action} ${d.target}: ${d.outcome}${d.reason ? ` (${d.reason})` : ''} via ${d.service}${via}`;
}

function scaleTriggerSummary(e: ScalewiseEvent<'io.scalewise.trigger.scale'>): string {
  const d = triggerData(e.type, e.data);
  if (!d) return invalidTrigger(e.data, e.source);
  const what =
    d.action === 'set'
      ? `set to ${d.target}`
      : `${d.action} ${d.action === 'scale_up' ? '+' : '-'}${d.count}`;
  return `${what}${d.reason ? `: ${d.reason}` : ''}${d.task_id ? ` (task ${d.task_id})` : ''} from ${e.source}`;
}

function pauseOrResumeSummary(
  e: ScalewiseEvent<'io.scalewise.trigger.pause' | 'io.scalewise.trigger.resume'>,
): string {
  const d = triggerData(e.type, e.data);
  if (!d) return invalidTrigger(e.data, e.source);
  return `${shortType(e.type).slice('trigger.'.length)}${d.reason ? `: ${d.reason}` : ''} from ${e.source}`;
}

function updateTriggerSummary(e: ScalewiseEvent<'io.scalewise.trigger.update'>): string {
  const d = triggerData(e.type, e.data);
  if (!d) return invalidTrigger(e.data, e.source);
  const parts = [d.min !== undefined ? `min ${d.min}` : '', d.max !== undefined ? `max ${d.max}` : ''];
  return `update ${parts.filter(Boolean).join(', ')}${d.reason ? `: ${d.reason}` : ''} from ${e.source}`;
}

/** Every type of the catalogue, summarised: the compiler asks for a new type's line here. */
const summaries: Summaries = {
  'io.scalewise.PoolMetricsObserved': ({ data: d }) =>
    `${d.workers} workers (${d.ready_workers} ready), cpu ${pct(d.cpu_avg)}, memory ${pct(d.memory_avg)}, ${d.pending_pods} pending [${d.source}]`,
  'io.scalewise.ResourcePressureAlert': pressureSummary,
  'io.scalewise.UnderutilizationWarning': ({ data: d }) =>
    `cpu ${pct(d.cpu_avg)} < ${pct(d.cpu_threshold)}, memory ${pct(d.memory_avg)} < ${pct(d.memory_threshold)} for ${secs(d.duration)} (${d.periods} periods); ${d.workers} workers, min ${d.min_workers}`,
  'io.scalewise.PendingPodsDetected': pendingSummary,
  'io.scalewise.NotTriggerScaleUp': notScaledUpSummary,
  'io.scalewise.OptimalStateTrigger': ({ data: d }) =>
    `${d.current_workers} workers at min ${d.min_workers}, cpu ${pct(d.cpu_avg)}, memory ${pct(d.memory_avg)} (${d.state})`,
  'io.scalewise.NodeHealthDegraded': ({ data: d }) =>
    `node ${d.node_name}: ${d.status} (${d.condition})${d.reason ? ` ${d.reason}` : ''}${d.message ? `: ${d.message}` : ''}`,
  'io.scalewise.NodeUnexpectedlyLost': ({ data: d }) =>
    `node ${d.node_name} lost (${d.cause}), last seen ${d.last_seen}; ${d.remaining_workers} workers remain`,
  'io.scalewise.NodeCreated': ({ data: d }) =>
    `${workerWord(d)} ${d.node_name} created by ${d.provider} (${d.provider_id})`,
  'io.scalewise.NodeReady': ({ data: d }) =>
    `${workerWord(d)} ${d.node_name} ready after ${secs(d.ready_after)}`,
  'io.scalewise.NodeDrained': ({ data: d }) =>
    `${workerWord(d)} ${d.node_name} drained: ${d.evicted_pods} pods evicted in ${secs(d.duration)}`,
  'io.scalewise.NodeRemoved': nodeRemovedSummary,
  'io.scalewise.ScaleUpDecision': ({ data: d }) =>
    `scale up ${d.current_workers} -> ${d.desired_workers} (${signed(d.count)}), ${d.reason}: ${d.explanation.summary}${dry(d)}`,
  'io.scalewise.ScaleDownDecision': scaleDownSummary,
  'io.scalewise.ScaleDownBlocked': blockedSummary,
  'io.scalewise.AutoScaleUpToMinimum': ({ data: d }) =>
    `scale up to the minimum: ${d.current_workers} -> ${d.current_workers + d.scale_up_count} (${signed(d.scale_up_count)}), min ${d.min_workers}${dry(d)}`,
  'io.scalewise.EmergencyScaleUp': ({ data: d }) =>
    `emergency: ${d.lost_count} nodes lost, ${d.remaining_workers} remain (min ${d.min_workers}); ${signed(d.emergency_scale)}${dry(d)}`,
  'io.scalewise.TriggerRejected': ({ data: d }) =>
    `${shortType(d.trigger_type)} from ${d.trigger_source} rejected (${d.reason}): ${d.message}`,
  'io.scalewise.TriggerHoldEnded': holdEndedSummary,
  'io.scalewise.ScaleUpStarted': ({ data: d }) =>
    `scale-up started: ${d.previous_workers} -> ${d.target_workers} (${signed(d.count)}), action ${short(d.action_id)}`,
  'io.scalewise.ScaleDownStarted': ({ data: d }) =>
    `scale-down started: ${d.previous_workers} -> ${d.target_workers} (${signed(-d.count)}), nodes ${d.nodes.join(', ')}`,
  'io.scalewise.ScalingActionCompleted': ({ data: d }) =>
    `${d.action} completed: ${d.previous_workers} -> ${d.new_workers} in ${secs(d.duration)}`,
  'io.scalewise.ScalingActionFailed': ({ data: d }) =>
    `${d.action} failed after ${d.attempts} attempt(s) (${d.error_code}${d.retriable ? ', retriable' : ''}): ${d.message}; ${d.completed_count} done`,
  'io.scalewise.ClusterStateSynced': ({ data: d }) =>
    `in sync: ${d.workers} workers (kubernetes ${d.k8s_nodes}, provider ${d.docker_containers}, store ${d.db_workers})`,
  'io.scalewise.StateDriftDetected': driftSummary,
  'io.scalewise.MinimumNodesViolation': ({ data: d }) =>
    `${d.current_workers} workers, below the minimum ${d.min_workers}`,
  'io.scalewise.MinimumNodesRestored': restoredSummary,
  'io.scalewise.CircuitBreakerStateChanged': ({ data: d }) =>
    `${d.service}: circuit breaker ${d.breaker} ${d.previous ? `${d.previous} -> ` : ''}${d.state}`,
  'io.scalewise.DeadLetterRecorded': ({ data: d }) =>
    `dead letter from ${d.topic}[${d.partition}]@${d.offset} in ${d.service}: ${d.error_code} ${d.reason} -> s3://${d.bucket}/${d.key}`,
  'io.scalewise.AuditRecorded': auditSummary,
  'io.scalewise.trigger.scale': scaleTriggerSummary,
  'io.scalewise.trigger.pause': pauseOrResumeSummary,
  'io.scalewise.trigger.resume': pauseOrResumeSummary,
  'io.scalewise.trigger.update': updateTriggerSummary,
};

/** The summary of a known type: its line of the table. */
function summarizeKnown<T extends EventType>(e: ScalewiseEvent<T>): string {
  return summaries[e.type](e);
}

/** A short, human summary of what an event says, with the numbers that matter. */
export function summarize(e: AnyScalewiseEvent): string {
  if (!isEventType(e.type)) return generic((e as { data?: unknown }).data);
  return summarizeKnown(e);
}

/** The severity, padded, coloured by how bad it is. */
export function severityLabel(severity: string, p: Palette = noColour): string {
  const label = severity.padEnd(8);
  if (severity === 'critical') return p.bold(p.red(label));
  if (severity === 'warning') return p.yellow(label);
  return p.dim(label);
}

/** One line per event: time, severity, type, pool, summary. */
export function formatEventLine(e: AnyScalewiseEvent, p: Palette = noColour): string {
  const replay = e.replayof ? p.dim(` (replay of ${short(e.replayof)})`) : '';
  return `${p.dim(e.time)}  ${severityLabel(e.severity, p)}${p.bold(shortType(e.type).padEnd(24))} ${p.cyan(e.partitionkey.padEnd(12))} ${summarize(e)}${replay}`;
}

/** The explanation a decision event carries, if it carries one. */
export function explanationOf(e: AnyScalewiseEvent): Explanation | undefined {
  const x = (e.data as { explanation?: unknown } | undefined)?.explanation;
  if (typeof x !== 'object' || x === null || typeof (x as Explanation).rule !== 'string') return undefined;
  return x as Explanation;
}

/** The numbers behind a decision: rule, inputs, comparisons, clamping; one line each. */
export function formatDecisionNumbers(e: AnyScalewiseEvent, p: Palette = noColour): string[] {
  const x = explanationOf(e);
  if (!x) return [];
  const lines = [`rule ${p.bold(x.rule)}: ${x.summary}`];
  const inputs = Object.entries(x.inputs ?? {});
  if (inputs.length > 0) lines.push(`inputs: ${inputs.map(([k, v]) => `${k}=${scalar(v)}`).join(', ')}`);
  for (const c of x.comparisons ?? []) {
    const verdict = c.result ? p.green('true') : p.red('false');
    lines.push(`compared: ${c.metric} ${c.value} ${c.operator} ${c.threshold} -> ${verdict}`);
  }
  if (x.clamped) lines.push(`clamped: wanted ${x.clamped.wanted}, got ${x.clamped.got} (by ${x.clamped.by})`);
  return lines;
}

function eventBlock(e: AnyScalewiseEvent, indent: string, p: Palette, mark = ' '): string[] {
  const head = `${indent}${mark} ${formatEventLine(e, p)}  ${p.dim(`id ${e.id}`)}`;
  const numbers = formatDecisionNumbers(e, p).map((l) => `${indent}      ${l}`);
  return [head, ...numbers];
}

/**
 * The causal chain of an event, indented by depth, the asked-for event marked `*`, each
 * decision followed by its numbers; then the reasons not to act in force in the chain and
 * the other events of the correlation.
 */
export function formatExplanation(x: ChainExplanation, targetId: string, p: Palette = noColour): string[] {
  const lines = [
    `${p.bold('correlation')} ${x.correlationid}: ${x.chain.length} event(s) on the path, * marks ${targetId}`,
  ];
  for (const link of x.chain) {
    lines.push(
      ...eventBlock(link.event, '  '.repeat(link.depth + 1), p, link.event.id === targetId ? '*' : ' '),
    );
  }
  if (x.blocked.length > 0) {
    lines.push('', p.bold('not acted on (reasons in this chain):'));
    for (const e of x.blocked) lines.push(...eventBlock(e, '  ', p));
  }
  if (x.related.length > 0) {
    lines.push('', p.bold('also in this correlation:'));
    for (const e of x.related) lines.push(...eventBlock(e, '  ', p));
  }
  return lines;
}

export type { PoolExplanation };

/** "Why (not) at that time?": the reasons in force, then the decisions before `at`. */
export function formatPoolExplanation(r: PoolExplanation, p: Palette = noColour): string[] {
  const lines = [`${p.bold('pool')} ${r.pool} at ${r.at}`, '', p.bold('reasons not to act in force:')];
  if (r.blocked.length === 0) lines.push('  (none)');
  for (const e of r.blocked) lines.push(...eventBlock(e, '  ', p));
  lines.push('', p.bold('decisions in the 10 minutes before:'));
  if (r.decisions.length === 0) lines.push('  (none)');
  for (const e of r.decisions) lines.push(...eventBlock(e, '  ', p));
  return lines;
}

/**
 * One row of the decision-engine's `GET /v1/pools` (packages/events' PoolStatus) as the CLI
 * reads it: an older engine may leave out the limits or the hold.
 */
export type PoolStatus = Omit<ApiPoolStatus, 'min' | 'max' | 'hold'> & {
  min?: number | null;
  max?: number | null;
  hold?: Pick<PoolHold, 'target' | 'trigger_id' | 'source' | 'state' | 'until'> | null;
};

/** A hold in a status cell: `8 pursued`, `8 until 14:32:10`. */
function holdCell(h: PoolStatus['hold']): string {
  if (!h) return '-';
  return h.state === 'pursued' || h.until === null
    ? `${h.target} pursued`
    : `${h.target} until ${h.until.slice(11, 19)}`;
}

/** The pools as an aligned table. */
export function formatStatus(pools: PoolStatus[], p: Palette = noColour): string[] {
  const n = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(v));
  const rows = pools.map((s) => {
    const state = [s.paused ? 'paused' : 'active', s.dry_run ? 'dry-run' : ''].filter(Boolean).join(',');
    return [s.pool, n(s.workers), n(s.desired), n(s.min), n(s.max), state, n(s.in_flight), holdCell(s.hold)];
  });
  const header = ['POOL', 'WORKERS', 'DESIRED', 'MIN', 'MAX', 'STATE', 'IN-FLIGHT', 'HOLD'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const colourState = (row: string[], text: string) => {
    const st = row[5] ?? '';
    if (st.includes('paused')) return p.yellow(text);
    if (row[1] !== row[2] && row[2] !== '-') return p.cyan(text);
    return text;
  };
  return [p.bold(line(header)), ...rows.map((r) => colourState(r, line(r)))];
}

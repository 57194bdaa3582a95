/**
 * `scalewise trigger scale|pause|resume|update`: publishes a trigger CloudEvent to the
 * triggers topic, as any external system would (DESIGN.md section 4). The data is checked
 * against the catalogue first, so a bad request fails here, naming its flag, instead of
 * becoming a TriggerRejected later. Prints the event id.
 *
 * Then an AuditRecorded (`trigger.<kind>`, docs/security.md) names the operator. The trigger
 * is caused by it (its correlation and causation ids are the audit record's), so the chain
 * `scalewise explain` shows for a decision starts at who asked.
 */
import { randomUUID } from 'node:crypto';
import {
  type AuditIdentity,
  auditData,
  createBreaker,
  createPublisher,
  type Publisher,
} from '@scalewise/bus';
import type { LoadedConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import {
  auditEvent,
  createEvent,
  type EventData,
  parseData,
  type ScalewiseEvent,
  shortName,
  topicOf,
} from '@scalewise/events';
import { Partitioners } from 'kafkajs';
import { commonOptions, intFlag, parseCommand } from '../args.ts';
import { type Context, connectKafka, withDeadline } from '../context.ts';
import { UsageError } from '../errors.ts';

type TriggerType =
  | 'io.scalewise.trigger.scale'
  | 'io.scalewise.trigger.pause'
  | 'io.scalewise.trigger.resume'
  | 'io.scalewise.trigger.update';

export const triggerUsage = `Usage:
  scalewise trigger scale  --pool P (--count N [--action scale_up|scale_down] | --target N) [options]
  scalewise trigger pause  --pool P [--reason R] [options]
  scalewise trigger resume --pool P [--reason R] [options]
  scalewise trigger update --pool P [--min N] [--max N] [--reason R] [options]

Publishes a trigger event (io.scalewise.trigger.<kind>) to the triggers topic and prints its id.
The decision-engine acts on it, or answers with TriggerRejected (unknown pool, out of range,
source not allowed, paused); follow it with: scalewise tail --type TriggerRejected,ScaleUpDecision

Options:
  --pool P            the pool (required)
  --count N           scale: how many workers to add or remove (>= 1)
  --action A          scale: scale_up (default with --count) or scale_down
  --target N          scale: the number of workers wanted (action set)
  --min N, --max N    update: the pool's new minimum and/or maximum
  --reason R          why, for the audit trail
  --task-id ID        scale: the caller's task id
  --source S          the CloudEvents source (default /scalewise/cli); pools may allow only some
  --json              print the whole event as JSON instead of its id
  --config FILE       the Scalewise YAML (default $SCALEWISE_CONFIG; else defaults + KAFKA_* env)
  -h, --help          this help`;

/** A flag that takes a value, as text: parseTrigger reads the numbers itself, to name the flag at fault. */
const withValue = { type: 'string' } as const;

const options = {
  ...commonOptions,
  pool: withValue,
  count: withValue,
  action: withValue,
  target: withValue,
  min: withValue,
  max: withValue,
  reason: withValue,
  'task-id': withValue,
  source: withValue,
  json: { type: 'boolean' },
} as const;

export interface TriggerOptions {
  type: TriggerType;
  data: EventData<TriggerType>;
  source: string;
  json: boolean;
}

const kinds = ['scale', 'pause', 'resume', 'update'] as const;
type Kind = (typeof kinds)[number];

/** The flag that sets each data field, for error messages. */
const flagOf: Record<string, string> = {
  pool: '--pool',
  action: '--action',
  count: '--count',
  target: '--target',
  reason: '--reason',
  task_id: '--task-id',
  min: '--min',
  max: '--max',
};

/** The flags each kind takes, besides --pool, --reason, --source and --json. */
const allowed: Record<Kind, string[]> = {
  scale: ['count', 'action', 'target', 'task-id'],
  pause: [],
  resume: [],
  update: ['min', 'max'],
};

/** The flags of one kind or another: each is refused by the kinds that do not take it. */
const kindFlags = ['count', 'action', 'target', 'task-id', 'min', 'max'] as const;

type Values = ReturnType<typeof parseCommand<typeof options>>['values'];

/** A trigger to send, before the catalogue checks its data. */
interface Draft {
  type: TriggerType;
  data: Record<string, unknown>;
}

/** The kind asked for. @throws UsageError when it is none of the kinds. */
function kindOf(kind: string | undefined): Kind {
  if (!kinds.includes(kind as Kind)) {
    throw new UsageError(
      kind
        ? `unknown trigger '${kind}': expected scale, pause, resume or update`
        : 'which trigger? scale, pause, resume or update',
      'trigger',
    );
  }
  return kind as Kind;
}

/** @throws UsageError for a flag given to a kind that does not take it. */
function refuseForeignFlags(kind: Kind, v: Values, command: string): void {
  for (const f of kindFlags) {
    if (v[f] !== undefined && !allowed[kind].includes(f)) {
      throw new UsageError(`--${f} does not apply to trigger ${kind}`, command);
    }
  }
}

/** `scale`: --count with --action (scale_up by default), or --target (action set). */
function scaleDraft(v: Values, pool: string, command: string): Draft {
  if (v.count !== undefined && v.target !== undefined) {
    throw new UsageError('give either --count (with --action) or --target, not both', command);
  }
  if (v.count === undefined && v.target === undefined) {
    throw new UsageError('give --count N (with --action scale_up|scale_down) or --target N', command);
  }
  let data: Record<string, unknown>;
  if (v.target !== undefined) {
    if (v.action !== undefined && v.action !== 'set') {
      throw new UsageError(`--action ${v.action} takes --count, not --target`, command);
    }
    data = { pool, action: 'set', target: intFlag(command, 'target', v.target, 0) };
  } else {
    const action = v.action ?? 'scale_up';
    if (action !== 'scale_up' && action !== 'scale_down') {
      throw new UsageError(`--action: expected scale_up or scale_down, got '${action}'`, command);
    }
    data = { pool, action, count: intFlag(command, 'count', v.count as string, 1) };
  }
  if (v['task-id'] !== undefined) data.task_id = v['task-id'];
  return { type: 'io.scalewise.trigger.scale', data };
}

/** `update`: a new --min and/or --max. */
function updateDraft(v: Values, pool: string, command: string): Draft {
  const data: Record<string, unknown> = { pool };
  if (v.min !== undefined) data.min = intFlag(command, 'min', v.min, 0);
  if (v.max !== undefined) data.max = intFlag(command, 'max', v.max, 0);
  if (v.min === undefined && v.max === undefined) throw new UsageError('give --min and/or --max', command);
  return { type: 'io.scalewise.trigger.update', data };
}

/** How each kind reads its flags into the trigger to send. */
const drafts: Record<Kind, (v: Values, pool: string, command: string) => Draft> = {
  scale: scaleDraft,
  pause: (_, pool) => ({ type: 'io.scalewise.trigger.pause', data: { pool } }),
  resume: (_, pool) => ({ type: 'io.scalewise.trigger.resume', data: { pool } }),
  update: updateDraft,
};

/**
 * Parses `trigger <kind> ...` into the event to send, validated against the catalogue.
 * @throws UsageError naming the flag at fault.
 */
export function parseTrigger(args: string[]): TriggerOptions | 'help' {
  const [first, ...rest] = args;
  if (first === '-h' || first === '--help' || first === 'help') return 'help';
  const kind = kindOf(first);
  const command = `trigger ${kind}`;
  const { values: v } = parseCommand(command, rest, options);
  if (v.help) return 'help';
  if (!v.pool) throw new UsageError('--pool is required', command);
  refuseForeignFlags(kind, v, command);
  const { type, data } = drafts[kind](v, v.pool, command);
  if (v.reason !== undefined) data.reason = v.reason;
  const source = v.source ?? '/scalewise/cli';
  if (!source.trim()) throw new UsageError('--source must not be empty', command);
  return { type, data: checked(command, type, data), source, json: v.json === true };
}

/** The data as the catalogue accepts it. @throws UsageError naming the flag of the first bad field. */
function checked(command: string, type: TriggerType, data: Record<string, unknown>) {
  try {
    return parseData(type, data);
  } catch (err) {
    if (err instanceof ScalewiseError && err.code === 'SCHEMA_VIOLATION') {
      const issues = (err.details.issues as { path: string; message: string }[] | undefined) ?? [];
      const first = issues[0];
      if (first) {
        const field = first.path.split('.')[0] ?? '';
        const flag = flagOf[field] ?? (field || 'the request');
        throw new UsageError(`${flag}: ${first.message} (${type} field '${first.path}')`, command);
      }
      throw new UsageError(err.message, command);
    }
    throw err;
  }
}

/** What an audit record of the trigger says: whether it was published, and why not. */
type Audit = (outcome: 'succeeded' | 'failed', reason?: string) => Promise<unknown>;

/**
 * The trigger as sent, caused by its audit record (`auditId`). The cluster is named only when
 * the CLI was told it (a config file, SCALEWISE_CLUSTER_ID): a trigger that names none is for
 * the cluster whose topic it is on (docs/triggers.md), and the built-in default `local` would
 * be refused as another cluster's by any other.
 */
function triggerEvent(
  o: TriggerOptions,
  loaded: LoadedConfig,
  ctx: Context,
  auditId: string,
): ScalewiseEvent<TriggerType> {
  const named = loaded.path !== undefined || ctx.env.SCALEWISE_CLUSTER_ID !== undefined;
  const created = createEvent(o.type, o.data, {
    source: o.source,
    clusterid: loaded.config.cluster_id,
    correlationid: auditId,
    causationid: auditId,
  });
  return named ? created : { ...created, clusterid: undefined };
}

/** Who and where the audit record of a trigger names: its id is the trigger's correlation id. */
interface AuditRecord {
  id: string;
  identity: AuditIdentity;
  clusterid: string;
}

/** Publishes the audit record of the trigger `event` asked for by `o`, within the deadline. */
function auditOf(
  o: TriggerOptions,
  event: ScalewiseEvent<TriggerType>,
  publisher: Publisher,
  record: AuditRecord,
  timeoutMs: number,
): Audit {
  return (outcome, reason) =>
    withDeadline(
      publisher.publish(
        auditEvent(
          auditData(record.identity, {
            action: shortName(o.type),
            target: event.partitionkey,
            pool: o.data.pool,
            outcome,
            ...(reason ? { reason } : {}),
            details: { event_id: event.id, type: event.type, source: event.source, data: event.data },
          }),
          { source: '/scalewise/cli', clusterid: record.clusterid, id: record.id },
        ),
      ),
      timeoutMs + 2000,
      'Kafka did not acknowledge the audit record in time',
    );
}

/**
 * Publishes the trigger, then its audit record: `failed` when the trigger was not
 * acknowledged. @throws DEPENDENCY_UNAVAILABLE when the trigger went out but its audit did not.
 */
async function publishAudited(
  publisher: Publisher,
  event: ScalewiseEvent<TriggerType>,
  topic: string,
  audit: Audit,
  ctx: Context,
): Promise<void> {
  try {
    await withDeadline(
      publisher.publish(event as ScalewiseEvent),
      ctx.connectTimeoutMs + 2000,
      `Kafka did not acknowledge the trigger on ${topic} in time`,
    );
  } catch (err) {
    await audit('failed', (err as Error).message).catch(() => undefined);
    throw err;
  }
  try {
    await audit('succeeded');
  } catch (err) {
    throw new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `trigger ${event.id} published, but its audit record could not be: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Publishes the trigger (acks=all) and prints its id. @throws DEPENDENCY_UNAVAILABLE */
export async function runTrigger(o: TriggerOptions, ctx: Context): Promise<number> {
  const loaded = ctx.config();
  const { config } = loaded;
  const auditId = randomUUID();
  const event = triggerEvent(o, loaded, ctx, auditId);
  const producer = ctx.kafka().producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await connectKafka(producer, config.kafka.brokers, ctx.connectTimeoutMs);
  const breaker = createBreaker('kafka-producer', { timeoutMs: ctx.connectTimeoutMs });
  const publisher = createPublisher({
    producer,
    breaker,
    topicPrefix: config.events.topic_prefix,
    topicNames: config.events.topics,
  });
  const topic = ctx.topics()[topicOf(event.type)];
  const record = { id: auditId, identity: ctx.identity(), clusterid: config.cluster_id };
  const audit = auditOf(o, event, publisher, record, ctx.connectTimeoutMs);
  try {
    await publishAudited(publisher, event, topic, audit, ctx);
  } finally {
    breaker.shutdown();
    await producer.disconnect().catch(() => undefined);
  }
  ctx.stdout.write(o.json ? `${JSON.stringify(event)}\n` : `${event.id}\n`);
  ctx.stderr.write(`published ${event.type} for pool ${event.partitionkey} to ${topic}\n`);
  return 0;
}

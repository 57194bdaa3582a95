/**
 * `scalewise tail`: events live from Kafka, in a consumer group of its own that commits
 * nothing. It notes the end of every partition (or the offsets at --from) before it joins,
 * and starts there, so every event published after "tailing ..." is shown.
 */
import { randomUUID } from 'node:crypto';
import { type Config, consumerGroupId } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import {
  type AnyScalewiseEvent,
  type EventType,
  fromKafkaMessage,
  type Severity,
  shortName,
  type TopicKey,
  topicKeys,
  topicOf,
} from '@scalewise/events';
import type { Admin, Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { commonOptions, eventTypeFlags, listOf, parseCommand, severityFlags, timeFlag } from '../args.ts';
import { type Context, causeOf, connectKafka, withDeadline } from '../context.ts';
import { formatEventLine } from '../format.ts';

export const tailUsage = `Usage: scalewise tail [--type T ...] [--pool P ...] [--severity S ...] [--from TIME] [--json]

Follows the events on every Scalewise topic live, one line each: time, severity, type, pool and
what happened (decisions with their explanation). Ctrl-C stops.

Options:
  --type T        only these event types, short or full (ScaleUpDecision, trigger.scale); repeat or comma-separate
  --pool P        only these pools; repeat or comma-separate
  --severity S    only info, warning and/or critical
  --from TIME     start at this time (ISO 8601 or epoch ms) instead of now
  --json          one CloudEvent (JSON) per line
  --config FILE   the Scalewise YAML (default $SCALEWISE_CONFIG; else defaults + KAFKA_* env)
  -h, --help      this help`;

const options = {
  ...commonOptions,
  type: { type: 'string', multiple: true },
  pool: { type: 'string', multiple: true },
  severity: { type: 'string', multiple: true },
  from: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface TailOptions {
  types: EventType[];
  pools: string[];
  severities: Severity[];
  /** Epoch ms; undefined: from now. */
  from?: number;
  json: boolean;
}

/** @throws UsageError */
export function parseTail(args: string[]): TailOptions | 'help' {
  const { values: v } = parseCommand('tail', args, options);
  if (v.help) return 'help';
  return {
    types: eventTypeFlags('tail', listOf(v.type)),
    pools: listOf(v.pool),
    severities: severityFlags('tail', listOf(v.severity)),
    ...(v.from !== undefined ? { from: timeFlag('tail', 'from', v.from) } : {}),
    json: v.json === true,
  };
}

/** Whether the tail shows an event. Pure. */
export function tailMatches(
  o: Pick<TailOptions, 'types' | 'pools' | 'severities'>,
  e: AnyScalewiseEvent,
): boolean {
  return (
    (o.types.length === 0 || o.types.includes(e.type)) &&
    (o.pools.length === 0 || o.pools.includes(e.partitionkey)) &&
    (o.severities.length === 0 || o.severities.includes(e.severity))
  );
}

/** The topic keys to read: those of the asked types, or all. Pure. */
export function tailTopicKeys(types: EventType[]): TopicKey[] {
  if (types.length === 0) return [...topicKeys];
  return topicKeys.filter((k) => types.some((t) => topicOf(t) === k));
}

/** Where one partition's reading starts. */
interface PartitionStart {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * The wanted topics that exist; a note on stderr names those not yet created.
 * @throws NOT_FOUND when none exists.
 */
async function existingTopics(
  admin: Admin,
  wanted: string[],
  config: Config,
  ctx: Context,
): Promise<string[]> {
  const existing = new Set(
    await withDeadline(admin.listTopics(), ctx.connectTimeoutMs, 'Kafka did not list its topics in time'),
  );
  const topics = wanted.filter((t) => existing.has(t));
  const missing = wanted.filter((t) => !existing.has(t));
  if (topics.length === 0) {
    throw new ScalewiseError(
      'NOT_FOUND',
      `none of the topics ${wanted.join(', ')} exists on ${config.kafka.brokers.join(',')} (is the topic prefix '${config.events.topic_prefix}' right?)`,
    );
  }
  if (missing.length > 0) ctx.stderr.write(`not yet created, skipped: ${missing.join(', ')}\n`);
  return topics;
}

/** Where each partition of `topic` starts: its end, or the first offset at or after `from`. */
async function partitionStarts(
  admin: Admin,
  topic: string,
  from: number | undefined,
): Promise<PartitionStart[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const high = new Map(ends.map((p) => [p.partition, p.high]));
  const offsets =
    from === undefined
      ? ends.map((p) => ({ partition: p.partition, offset: p.high }))
      : await admin.fetchTopicOffsetsByTimestamp(topic, from);
  // -1: nothing at or after that time, so the end.
  return offsets.map((p) => ({
    topic,
    partition: p.partition,
    offset: p.offset === '-1' ? (high.get(p.partition) ?? '0') : p.offset,
  }));
}

/** The topics to read and where, per partition, to start: decided before joining. */
async function tailStarts(
  kafka: Kafka,
  wanted: string[],
  from: number | undefined,
  config: Config,
  ctx: Context,
): Promise<{ topics: string[]; starts: PartitionStart[] }> {
  const admin = await connectKafka(kafka.admin(), config.kafka.brokers, ctx.connectTimeoutMs);
  try {
    const topics = await existingTopics(admin, wanted, config, ctx);
    const starts: PartitionStart[] = [];
    for (const topic of topics) starts.push(...(await partitionStarts(admin, topic, from)));
    return { topics, starts };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Rejects with the consumer's error when it crashes for good (kafkajs gives up restarting). */
function crashOf(consumer: Consumer): Promise<never> {
  return new Promise<never>((_, reject) => {
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) reject(payload.error);
    });
  });
}

/** Resolves when `signal` aborts (at once if it already has). */
function abortOf(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Prints each record the tail shows; one that is no Scalewise event is noted on stderr and counted. */
function recordPrinter(o: TailOptions, ctx: Context, skipped: { count: number }) {
  const colour = ctx.colour;
  return async ({ topic, partition, message }: EachMessagePayload): Promise<void> => {
    let e: AnyScalewiseEvent;
    try {
      e = fromKafkaMessage(message, { topic, partition, offset: message.offset });
    } catch (err) {
      skipped.count += 1;
      ctx.stderr.write(
        colour.dim(`skipped ${topic}[${partition}]@${message.offset}: ${causeOf(err).split('\n')[0]}\n`),
      );
      return;
    }
    if (!tailMatches(o, e)) return;
    ctx.stdout.write(o.json ? `${JSON.stringify(e)}\n` : `${formatEventLine(e, colour)}\n`);
  };
}

/** The line that says what is tailed, from when and with which filters. */
function tailingLine(o: TailOptions, topics: string[]): string {
  const what = [
    o.types.length ? `types ${o.types.map((t) => shortName(t)).join(',')}` : '',
    o.pools.length ? `pools ${o.pools.join(',')}` : '',
    o.severities.length ? `severities ${o.severities.join(',')}` : '',
  ].filter(Boolean);
  return `tailing ${topics.length} topic(s) from ${o.from === undefined ? 'now' : new Date(o.from).toISOString()}${what.length ? ` (${what.join('; ')})` : ''}; Ctrl-C to stop\n`;
}

/** Runs until `ctx.signal` aborts (exit 0) or the consumer fails for good (throws). */
export async function runTail(o: TailOptions, ctx: Context): Promise<number> {
  const { config } = ctx.config();
  const names = ctx.topics();
  const wanted = tailTopicKeys(o.types).map((k) => names[k]);
  const kafka = ctx.kafka();
  const { topics, starts } = await tailStarts(kafka, wanted, o.from, config, ctx);
  const groupId = consumerGroupId(config, `cli-tail-${randomUUID().slice(0, 8)}`);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  const failed = crashOf(consumer);
  const skipped = { count: 0 };
  try {
    await connectKafka(consumer, config.kafka.brokers, ctx.connectTimeoutMs);
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({ autoCommit: false, eachMessage: recordPrinter(o, ctx, skipped) });
    for (const s of starts) consumer.seek(s);
    ctx.stderr.write(tailingLine(o, topics));
    await Promise.race([abortOf(ctx.signal), failed]);
  } catch (err) {
    if (err instanceof ScalewiseError) throw err;
    throw new ScalewiseError('DEPENDENCY_UNAVAILABLE', `tail stopped: ${causeOf(err)}`, { cause: err });
  } finally {
    await withDeadline(consumer.disconnect(), 5000, 'disconnect').catch(() => undefined);
  }
  if (skipped.count > 0) ctx.stderr.write(`${skipped.count} record(s) were not Scalewise events\n`);
  return 0;
}

/**
 * `scalewise tail`: events live from Kafka, in a consumer group of its own that commits
 * nothing. It notes the end of every partition (or the offsets at --from) before it joins,
 * and starts there, so every event published after "tailing ..." is shown.
 */
import { randomUUID } from 'node:crypto';
import { consumerGroupId } from '@scalewise/config';
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

/** Runs until `ctx.signal` aborts (exit 0) or the consumer fails for good (throws). */
export async function runTail(o: TailOptions, ctx: Context): Promise<number> {
  const { config } = ctx.config();
  const brokers = config.kafka.brokers;
  const names = ctx.topics();
  const wanted = tailTopicKeys(o.types).map((k) => names[k]);
  const kafka = ctx.kafka();

  // Where to start, per partition, decided before joining.
  const admin = await connectKafka(kafka.admin(), brokers, ctx.connectTimeoutMs);
  const starts: { topic: string; partition: number; offset: string }[] = [];
  let topics: string[];
  try {
    const existing = new Set(
      await withDeadline(admin.listTopics(), ctx.connectTimeoutMs, 'Kafka did not list its topics in time'),
    );
    topics = wanted.filter((t) => existing.has(t));
    const missing = wanted.filter((t) => !existing.has(t));
    if (topics.length === 0) {
      throw new ScalewiseError(
        'NOT_FOUND',
        `none of the topics ${wanted.join(', ')} exists on ${brokers.join(',')} (is the topic prefix '${config.events.topic_prefix}' right?)`,
      );
    }
    if (missing.length > 0) ctx.stderr.write(`not yet created, skipped: ${missing.join(', ')}\n`);
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const high = new Map(ends.map((p) => [p.partition, p.high]));
      const offsets =
        o.from === undefined
          ? ends.map((p) => ({ partition: p.partition, offset: p.high }))
          : await admin.fetchTopicOffsetsByTimestamp(topic, o.from);
      for (const p of offsets) {
        // -1: nothing at or after that time, so the end.
        const offset = p.offset === '-1' ? (high.get(p.partition) ?? '0') : p.offset;
        starts.push({ topic, partition: p.partition, offset });
      }
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }

  const groupId = consumerGroupId(config, `cli-tail-${randomUUID().slice(0, 8)}`);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  let fail!: (err: unknown) => void;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(payload.error);
  });
  const colour = ctx.colour;
  let undecodable = 0;
  try {
    await connectKafka(consumer, brokers, ctx.connectTimeoutMs);
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        let e: AnyScalewiseEvent;
        try {
          e = fromKafkaMessage(message, { topic, partition, offset: message.offset });
        } catch (err) {
          undecodable += 1;
          ctx.stderr.write(
            colour.dim(`skipped ${topic}[${partition}]@${message.offset}: ${causeOf(err).split('\n')[0]}\n`),
          );
          return;
        }
        if (!tailMatches(o, e)) return;
        ctx.stdout.write(o.json ? `${JSON.stringify(e)}\n` : `${formatEventLine(e, colour)}\n`);
      },
    });
    for (const s of starts) consumer.seek(s);
    const what = [
      o.types.length ? `types ${o.types.map((t) => shortName(t)).join(',')}` : '',
      o.pools.length ? `pools ${o.pools.join(',')}` : '',
      o.severities.length ? `severities ${o.severities.join(',')}` : '',
    ].filter(Boolean);
    ctx.stderr.write(
      `tailing ${topics.length} topic(s) from ${o.from === undefined ? 'now' : new Date(o.from).toISOString()}${what.length ? ` (${what.join('; ')})` : ''}; Ctrl-C to stop\n`,
    );
    const stopped = new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([stopped, failed]);
  } catch (err) {
    if (err instanceof ScalewiseError) throw err;
    throw new ScalewiseError('DEPENDENCY_UNAVAILABLE', `tail stopped: ${causeOf(err)}`, { cause: err });
  } finally {
    await withDeadline(consumer.disconnect(), 5000, 'disconnect').catch(() => undefined);
  }
  if (undecodable > 0) ctx.stderr.write(`${undecodable} record(s) were not Scalewise events\n`);
  return 0;
}

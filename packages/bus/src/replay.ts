/**
 * Replay (DESIGN.md section 6): the events of a topic in a time or offset range, filtered by
 * type and pool, into their topic again (as new events marked `replayof`) or to any sink;
 * and a dead letter back into its original topic.
 */
import { randomUUID } from 'node:crypto';
import { ScalewiseError } from '@scalewise/errors';
import { type AnyScalewiseEvent, fromKafkaMessage, shortName } from '@scalewise/events';
import { type Kafka, type KafkaMessage, Partitioners } from 'kafkajs';
import type { DeadLetter, DeadLetterStore } from './dlq.ts';
import type { Publisher } from './publisher.ts';
import { whileSettling } from './topics.ts';

export interface ReplayRange {
  /** The Kafka topic (full name). */
  topic: string;
  /** Epoch ms, inclusive; or a start offset applied to every partition. */
  from?: number | { offset: string };
  /** Epoch ms, inclusive. @default the end of the topic when the replay starts */
  to?: number;
  types?: string[];
  pools?: string[];
}

export interface ReplayStats {
  scanned: number;
  matched: number;
  undecodable: number;
}

/** Whether an event passes the range's filters. Pure. */
export function replayMatches(range: Pick<ReplayRange, 'types' | 'pools'>, e: AnyScalewiseEvent): boolean {
  if (range.types?.length) {
    const short = shortName(e.type);
    if (!range.types.includes(e.type) && !range.types.includes(short)) return false;
  }
  if (range.pools?.length && !range.pools.includes(e.partitionkey)) return false;
  return true;
}

/** A replayed copy: a new id, `replayof` the original's, same chain. Pure apart from the id. */
export function asReplay(e: AnyScalewiseEvent, id: string = randomUUID()): AnyScalewiseEvent {
  return { ...e, id, replayof: e.replayof ?? e.id };
}

/**
 * Reads the range once and hands each matching event to `sink`, in partition order.
 * Records that do not decode are counted, not passed on.
 */
export async function replay(
  kafka: Kafka,
  range: ReplayRange,
  sink: (event: AnyScalewiseEvent, record: KafkaMessage) => Promise<void>,
  onProgress?: (s: ReplayStats) => void,
): Promise<ReplayStats> {
  const admin = kafka.admin();
  await admin.connect();
  let start: Map<number, bigint>;
  let end: Map<number, bigint>;
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(range.topic))
      throw new ScalewiseError('NOT_FOUND', `topic ${range.topic} does not exist`);
    const high = await whileSettling(() => admin.fetchTopicOffsets(range.topic));
    const highOf = new Map(high.map((p) => [p.partition, BigInt(p.high)]));
    const lowOf = new Map(high.map((p) => [p.partition, BigInt(p.low)]));
    const byTime = async (ms: number) => {
      const res = await whileSettling(() => admin.fetchTopicOffsetsByTimestamp(range.topic, ms));
      // -1: no record at or after that time, i.e. the end.
      return new Map(
        res.map((p) => [p.partition, p.offset === '-1' ? (highOf.get(p.partition) ?? 0n) : BigInt(p.offset)]),
      );
    };
    if (range.from === undefined) start = lowOf;
    else if (typeof range.from === 'number') start = await byTime(range.from);
    else {
      const o = BigInt(range.from.offset);
      start = new Map([...lowOf].map(([p, low]) => [p, o > low ? o : low]));
    }
    end = range.to === undefined ? highOf : await byTime(range.to + 1);
  } finally {
    await admin.disconnect();
  }
  const stats: ReplayStats = { scanned: 0, matched: 0, undecodable: 0 };
  const todo = new Set([...end].filter(([p, e]) => (start.get(p) ?? e) < e).map(([p]) => p));
  if (todo.size === 0) return stats;

  const consumer = kafka.consumer({ groupId: `scalewise-replay-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  let done!: () => void;
  let failed!: (e: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  try {
    await consumer.subscribe({ topics: [range.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (!todo.has(partition)) return;
        const offset = BigInt(message.offset);
        const s = start.get(partition) ?? 0n;
        const e = end.get(partition) ?? 0n;
        if (offset < s) return;
        if (offset < e) {
          stats.scanned += 1;
          try {
            const event = fromKafkaMessage(message, {
              topic: range.topic,
              partition,
              offset: message.offset,
            });
            if (replayMatches(range, event)) {
              stats.matched += 1;
              await sink(event, message);
            }
          } catch (err) {
            if (
              err instanceof ScalewiseError &&
              ['MALFORMED_RECORD', 'UNKNOWN_EVENT_TYPE', 'SCHEMA_VIOLATION'].includes(err.code)
            ) {
              stats.undecodable += 1;
            } else {
              failed(err);
              return;
            }
          }
          onProgress?.(stats);
        }
        if (offset >= e - 1n) {
          todo.delete(partition);
          if (todo.size === 0) done();
        }
      },
    });
    for (const [partition, offset] of start) {
      if (todo.has(partition)) consumer.seek({ topic: range.topic, partition, offset: offset.toString() });
    }
    await finished;
  } finally {
    await consumer.disconnect();
  }
  return stats;
}

/** Replays a range into its topic again as new events marked `replayof`. */
export async function replayIntoTopic(
  kafka: Kafka,
  publisher: Publisher,
  range: ReplayRange,
  onProgress?: (s: ReplayStats) => void,
): Promise<ReplayStats> {
  return replay(kafka, range, (e) => publisher.publish(asReplay(e)), onProgress);
}

/**
 * Puts a dead-lettered record back into its original topic: the same key and headers (plus
 * `ce_replayof`), and the stored value or a fixed one.
 * @returns the topic and partition/offset the record was written to.
 */
export async function replayDeadLetter(
  kafka: Kafka,
  store: DeadLetterStore,
  key: string,
  options: { value?: Buffer } = {},
): Promise<{ letter: DeadLetter; topic: string; partition: number; offset: string }> {
  const letter = await store.get(key);
  const value =
    options.value ??
    (letter.record.value_base64 === null ? null : Buffer.from(letter.record.value_base64, 'base64'));
  const headers: Record<string, string> = { ...letter.record.headers };
  if (headers.ce_id) headers.ce_replayof = headers.ce_id;
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const [meta] = await producer.send({
      topic: letter.topic,
      acks: -1,
      messages: [{ key: letter.record.key, value, headers }],
    });
    return {
      letter,
      topic: letter.topic,
      partition: meta?.partition ?? -1,
      offset: meta?.baseOffset ?? '-1',
    };
  } finally {
    await producer.disconnect();
  }
}

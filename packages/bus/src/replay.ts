/**
 * Replay (DESIGN.md section 6): the events of a topic in a time or offset range, filtered by
 * type and pool, into their topic again (as new events marked `replayof`) or to any sink;
 * and a dead letter back into its original topic.
 */
import { randomUUID } from 'node:crypto';
import { ScalewiseError } from '@scalewise/errors';
import { type AnyScalewiseEvent, fromKafkaMessage, shortName } from '@scalewise/events';
import { type Admin, type Kafka, type KafkaMessage, Partitioners } from 'kafkajs';
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

/** An offset per partition. */
type Offsets = Map<number, bigint>;

/** Where each partition's part of the range starts, and where it ends (exclusive). */
interface RangeBounds {
  start: Offsets;
  end: Offsets;
}

/** The codes of a record that is no Scalewise event: counted, not a failure of the replay. */
const undecodableCodes = ['MALFORMED_RECORD', 'UNKNOWN_EVENT_TYPE', 'SCHEMA_VIOLATION'];

/** The first offset at or after `ms` per partition; the end where no record is that late. */
async function offsetsAt(admin: Admin, topic: string, ms: number, highOf: Offsets): Promise<Offsets> {
  const res = await whileSettling(() => admin.fetchTopicOffsetsByTimestamp(topic, ms));
  // -1: no record at or after that time, i.e. the end.
  return new Map(
    res.map((p) => [p.partition, p.offset === '-1' ? (highOf.get(p.partition) ?? 0n) : BigInt(p.offset)]),
  );
}

/** The bounds of the range in the topic as it stands. @throws NOT_FOUND when there is no such topic. */
async function boundsOf(admin: Admin, range: ReplayRange): Promise<RangeBounds> {
  const topics = await admin.listTopics();
  if (!topics.includes(range.topic))
    throw new ScalewiseError('NOT_FOUND', `topic ${range.topic} does not exist`);
  const high = await whileSettling(() => admin.fetchTopicOffsets(range.topic));
  const highOf = new Map(high.map((p) => [p.partition, BigInt(p.high)]));
  const lowOf = new Map(high.map((p) => [p.partition, BigInt(p.low)]));
  let start: Offsets;
  if (range.from === undefined) start = lowOf;
  else if (typeof range.from === 'number') start = await offsetsAt(admin, range.topic, range.from, highOf);
  else {
    const o = BigInt(range.from.offset);
    start = new Map([...lowOf].map(([p, low]) => [p, o > low ? o : low]));
  }
  const end = range.to === undefined ? highOf : await offsetsAt(admin, range.topic, range.to + 1, highOf);
  return { start, end };
}

/** Reads the bounds with an admin client of its own. */
async function rangeBounds(kafka: Kafka, range: ReplayRange): Promise<RangeBounds> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await boundsOf(admin, range);
  } finally {
    await admin.disconnect();
  }
}

/** One reading of a range: what it hands on, what it has counted, the partitions not yet read to their end. */
interface Reading {
  range: ReplayRange;
  bounds: RangeBounds;
  todo: Set<number>;
  stats: ReplayStats;
  sink: (event: AnyScalewiseEvent, record: KafkaMessage) => Promise<void>;
  onProgress: ((s: ReplayStats) => void) | undefined;
  done: () => void;
  failed: (e: unknown) => void;
}

/**
 * Decodes a record in the range and hands it to the sink when it matches.
 * @returns false when that failed: the replay fails with the error.
 */
async function passOn(r: Reading, partition: number, message: KafkaMessage): Promise<boolean> {
  r.stats.scanned += 1;
  try {
    const event = fromKafkaMessage(message, { topic: r.range.topic, partition, offset: message.offset });
    if (replayMatches(r.range, event)) {
      r.stats.matched += 1;
      await r.sink(event, message);
    }
  } catch (err) {
    if (!(err instanceof ScalewiseError && undecodableCodes.includes(err.code))) {
      r.failed(err);
      return false;
    }
    r.stats.undecodable += 1;
  }
  r.onProgress?.(r.stats);
  return true;
}

/** One record as the consumer delivers it: passed on when in range; the last one ends its partition. */
async function readRecord(r: Reading, partition: number, message: KafkaMessage): Promise<void> {
  if (!r.todo.has(partition)) return;
  const offset = BigInt(message.offset);
  const s = r.bounds.start.get(partition) ?? 0n;
  const e = r.bounds.end.get(partition) ?? 0n;
  if (offset < s) return;
  if (offset < e && !(await passOn(r, partition, message))) return;
  if (offset >= e - 1n) {
    r.todo.delete(partition);
    if (r.todo.size === 0) r.done();
  }
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
  const bounds = await rangeBounds(kafka, range);
  const { start, end } = bounds;
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
  const reading: Reading = { range, bounds, todo, stats, sink, onProgress, done, failed };
  try {
    await consumer.subscribe({ topics: [range.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ partition, message }) => readRecord(reading, partition, message),
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

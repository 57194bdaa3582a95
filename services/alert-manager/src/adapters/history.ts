/**
 * The event history (audit trail) in Redis Streams.
 *
 * Layout under a key prefix (default `scalewise:history`):
 *   <prefix>:all                  every event, stream id = event time in ms (XADD <ms>-*),
 *                                 trimmed by count (MAXLEN ~) and age (MINID ~)
 *   <prefix>:corr:<correlationid> the ids of one chain, for explain; expires with the age
 *   <prefix>:id:<event id>        the stream id of an event, for lookups by id
 *
 * Why Redis Streams: the services already depend on Redis; a stream id is a time, so a time
 * range is one XRANGE; trimming by MINID gives retention by age for free. Filters other
 * than time (pool, type, severity) are applied while scanning the range, bounded by
 * `limit`; an operator's question is "around 11:20", never "all of last year".
 */
import { type AnyScalewiseEvent, shortName, validateEvent } from '@scalewise/events';
import type { Redis } from 'ioredis';

export interface HistoryOptions {
  prefix?: string;
  /** Most events kept. @default 100000 */
  maxEvents?: number;
  /** Oldest event kept, in seconds. @default 7 days */
  maxAgeSeconds?: number;
}

export interface HistoryQuery {
  /** Epoch ms, inclusive. @default 0 */
  from?: number;
  /** Epoch ms, inclusive. @default now */
  to?: number;
  pools?: string[];
  types?: string[];
  severities?: string[];
  correlationid?: string;
  /** @default 500, at most 5000 */
  limit?: number;
  /** Newest first. @default false */
  reverse?: boolean;
}

export interface History {
  append(event: AnyScalewiseEvent): Promise<void>;
  query(q: HistoryQuery): Promise<AnyScalewiseEvent[]>;
  get(id: string): Promise<AnyScalewiseEvent | undefined>;
  chain(correlationid: string): Promise<AnyScalewiseEvent[]>;
}

const SCAN_BATCH = 500;

/** Where one history lives in Redis, and its limits. */
interface Streams {
  redis: Redis;
  prefix: string;
  /** The stream of every event. */
  all: string;
  maxEvents: number;
  /** Seconds. */
  maxAge: number;
  now: () => number;
}

export function createRedisHistory(
  redis: Redis,
  options: HistoryOptions = {},
  now: () => number = Date.now,
): History {
  const prefix = options.prefix ?? 'scalewise:history';
  const streams: Streams = {
    redis,
    prefix,
    all: `${prefix}:all`,
    maxEvents: options.maxEvents ?? 100_000,
    maxAge: options.maxAgeSeconds ?? 7 * 24 * 3600,
    now,
  };
  return {
    append: (event) => append(streams, event),
    query: (q) => query(streams, q),
    get: (id) => get(streams, id),
    chain: (correlationid) => chain(streams, correlationid),
  };
}

async function append(s: Streams, event: AnyScalewiseEvent): Promise<void> {
  const { redis, prefix, all, maxAge, now } = s;
  // Redelivered events (at-least-once) are stored once.
  const idKey = `${prefix}:id:${event.id}`;
  const fresh = await redis.set(idKey, 'pending', 'EX', maxAge, 'NX');
  if (fresh === null) return;
  const ms = Math.max(0, Date.parse(event.time) || now());
  const minId = Math.max(0, now() - maxAge * 1000);
  const add = (id: string) =>
    redis.xadd(all, 'MAXLEN', '~', String(s.maxEvents), id, 'event', JSON.stringify(event));
  // Ids must grow; an event older than the newest stored gets the newest id's time.
  let streamId: string | null;
  try {
    streamId = await add(`${ms}-*`);
  } catch {
    streamId = await add('*');
  }
  const corrKey = `${prefix}:corr:${event.correlationid}`;
  await redis
    .multi()
    .set(idKey, streamId ?? '', 'EX', maxAge)
    .rpush(corrKey, streamId ?? '')
    .expire(corrKey, maxAge)
    .xtrim(all, 'MINID', '~', String(minId))
    .exec();
}

async function query(s: Streams, q: HistoryQuery): Promise<AnyScalewiseEvent[]> {
  const { redis, all, now } = s;
  const limit = Math.min(Math.max(q.limit ?? 500, 1), 5000);
  if (q.correlationid) {
    const events = await chain(s, q.correlationid);
    const from = q.from ?? 0;
    const to = q.to ?? now();
    const hits = events.filter((e) => {
      const t = Date.parse(e.time);
      return t >= from && t <= to && passes(e, q);
    });
    return (q.reverse ? hits.reverse() : hits).slice(0, limit);
  }
  const out: AnyScalewiseEvent[] = [];
  let start = q.reverse ? String(q.to ?? now()) : String(q.from ?? 0);
  const end = q.reverse ? String(q.from ?? 0) : String(q.to ?? now());
  for (;;) {
    const batch = q.reverse
      ? await redis.xrevrange(all, start, end, 'COUNT', SCAN_BATCH)
      : await redis.xrange(all, start, end, 'COUNT', SCAN_BATCH);
    for (const [, fields] of batch) {
      const e = parse(fields);
      if (e && passes(e, q)) out.push(e);
      if (out.length >= limit) return out;
    }
    if (batch.length < SCAN_BATCH) return out;
    const last = batch.at(-1)?.[0] as string;
    start = `(${last}`;
  }
}

async function get({ redis, prefix, all }: Streams, id: string): Promise<AnyScalewiseEvent | undefined> {
  const streamId = await redis.get(`${prefix}:id:${id}`);
  if (!streamId || streamId === 'pending') return undefined;
  const [entry] = await redis.xrange(all, streamId, streamId);
  return entry ? parse(entry[1]) : undefined;
}

async function chain({ redis, prefix, all }: Streams, correlationid: string): Promise<AnyScalewiseEvent[]> {
  const ids = await redis.lrange(`${prefix}:corr:${correlationid}`, 0, -1);
  const out: AnyScalewiseEvent[] = [];
  for (const sid of ids) {
    if (!sid) continue;
    const [entry] = await redis.xrange(all, sid, sid);
    const e = entry ? parse(entry[1]) : undefined;
    if (e) out.push(e);
  }
  return out.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

function parse(fields: string[]): AnyScalewiseEvent | undefined {
  const i = fields.indexOf('event');
  const raw = i >= 0 ? fields[i + 1] : undefined;
  if (raw === undefined) return undefined;
  try {
    return validateEvent(JSON.parse(raw) as Record<string, unknown>);
  } catch {
    // An entry written by an older schema: skip it rather than fail the whole query.
    return undefined;
  }
}

function passes(e: AnyScalewiseEvent, q: HistoryQuery): boolean {
  if (q.pools?.length && !q.pools.includes(e.partitionkey)) return false;
  if (q.types?.length && !q.types.includes(e.type) && !q.types.includes(shortName(e.type))) return false;
  if (q.severities?.length && !q.severities.includes(e.severity)) return false;
  if (q.correlationid && e.correlationid !== q.correlationid) return false;
  return true;
}

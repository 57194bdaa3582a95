/**
 * Processed events in Redis, so a redelivered event runs its handler's side effects once.
 *
 * The key `<prefix>:<group>:<source>:<id>` is set (with a TTL) after the handler's outputs
 * were acknowledged by Kafka and before the offset is committed. If the process dies
 * between the outputs' acknowledgement and this mark, the event is handled again on
 * redelivery: at-least-once, with the window of one batch per partition (the subscriber
 * checks a batch's events in one pipeline and marks them in one after their outputs are
 * acknowledged). The outputs' ids are derived from the input's (the cores do so), so
 * downstream deduplication by id absorbs even that case.
 *
 * One command per batch each way, not one per event: the check is an MGET of the batch's
 * keys, the mark a script that SETs each key with its TTL (atomically, in one round trip).
 * A pipeline of one EXISTS or SET per event costs ioredis about 10 us of CPU per event, the
 * two commands about 1 (bench/src/bus-stages.bench.ts). The keys are the same as before, so a
 * store written by an older version is read as it was. Standalone Redis (the bus's client):
 * on a Redis Cluster the keys of a batch would span slots.
 */
import { ScalewiseError } from '@scalewise/errors';
import type { Redis } from 'ioredis';
import type { Breaker } from './breaker.ts';

/** One processed event: its source and id. */
export interface EventKey {
  source: string;
  id: string;
}

export interface IdempotencyStore {
  /** Whether each event was processed, in one round trip. */
  seenMany(group: string, events: readonly EventKey[]): Promise<boolean[]>;
  /** Marks the events processed, in one round trip. */
  markMany(group: string, events: readonly EventKey[]): Promise<void>;
}

export function createRedisIdempotency(
  redis: Redis,
  breaker: Breaker,
  options: { prefix?: string; ttlSeconds?: number } = {},
): IdempotencyStore {
  const prefix = options.prefix ?? 'scalewise:processed';
  const ttl = options.ttlSeconds ?? 7 * 24 * 3600;
  const key = (g: string, s: string, id: string) => `${prefix}:${g}:${s}:${id}`;
  const ttlArg = String(ttl);
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await breaker.call(fn);
    } catch (err) {
      if (err instanceof ScalewiseError) throw err;
      throw new ScalewiseError('DEPENDENCY_UNAVAILABLE', `Redis failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  };
  return {
    seenMany: (g, events) =>
      events.length === 0
        ? Promise.resolve([])
        : wrap(async () => {
            const answers = await Promise.all(
              chunks(events).map((c) => redis.mget(c.map((e) => key(g, e.source, e.id)))),
            );
            return answers.flat().map((v) => v !== null);
          }),
    markMany: (g, events) =>
      events.length === 0
        ? Promise.resolve()
        : wrap(async () => {
            await Promise.all(
              chunks(events).map((c) =>
                redis.eval(MARK_SCRIPT, c.length, ...c.map((e) => key(g, e.source, e.id)), ttlArg),
              ),
            );
          }),
  };
}

/** SETs every key to '1' with the TTL in ARGV[1]; one round trip, atomic. */
const MARK_SCRIPT = "for _, k in ipairs(KEYS) do redis.call('SET', k, '1', 'EX', ARGV[1]) end return #KEYS";

/** Keys per command: a script or MGET over this many blocks Redis for about a millisecond. */
const CHUNK = 1000;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** In-process store for tests of code that needs one; never for production. */
export function memoryIdempotency(): IdempotencyStore & { size(): number } {
  const set = new Set<string>();
  return {
    seenMany: async (g, events) => events.map((e) => set.has(`${g}:${e.source}:${e.id}`)),
    markMany: async (g, events) => {
      for (const e of events) set.add(`${g}:${e.source}:${e.id}`);
    },
    size: () => set.size,
  };
}

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
            const p = redis.pipeline();
            for (const e of events) p.exists(key(g, e.source, e.id));
            return pipelineResults(await p.exec()).map((n) => n === 1);
          }),
    markMany: (g, events) =>
      events.length === 0
        ? Promise.resolve()
        : wrap(async () => {
            const p = redis.pipeline();
            for (const e of events) p.set(key(g, e.source, e.id), '1', 'EX', ttl);
            pipelineResults(await p.exec());
          }),
  };
}

/** The replies of a pipeline; the first failed command fails the whole call. */
function pipelineResults(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('the pipeline was discarded');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
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

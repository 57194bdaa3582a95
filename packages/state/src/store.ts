/**
 * Per-key state in Redis with optimistic concurrency and an outbox: the way a service keeps
 * the state its pure core folds events into, so that any number of replicas can handle one
 * pool's events without ever deciding twice or from a stale state.
 *
 * `apply(key, inputId, step)` reads the state and its version, runs `step` (pure, may run more
 * than once), and writes the new state only if the version is still the one it read (a Lua
 * compare-and-set). The outputs are stored beside the state, under the input's id (a key with a
 * TTL, a day by default), in the same atomic write. So:
 * - two replicas handling events of one pool at once serialise: the loser of the race re-reads
 *   and steps again from the winner's state;
 * - an input applied once is never applied again: a redelivery (or a second replica that got
 *   the same record) gets the stored outputs back, to publish again under the same ids,
 *   instead of a second decision.
 */
import { ScalewiseError } from '@scalewise/errors';
import type { Redis } from 'ioredis';

/** What one step of the core returns. */
export interface StepResult<S, O> {
  state: S;
  outputs: O[];
}

export interface Applied<O> {
  outputs: O[];
  /** The input had been applied before: these are the outputs stored then. */
  replayed: boolean;
  /** Compare-and-set attempts (1 without contention). */
  attempts: number;
  version: number;
}

export interface Stored<S> {
  state: S;
  version: number;
}

export interface StateStore<S, O> {
  /**
   * Applies one input to the state under `key`, exactly once per `inputId`.
   * @param step pure: it may run again when another writer got in first.
   * @throws ScalewiseError CONFLICT after `maxAttempts` lost races; DEPENDENCY_UNAVAILABLE when
   *   Redis fails (retriable, so the bus retries and never commits the input).
   */
  apply(key: string, inputId: string, step: (state: S | null) => StepResult<S, O>): Promise<Applied<O>>;
  get(key: string): Promise<Stored<S> | null>;
  /** Deletes the state (tests, or a pool removed from the config). */
  delete(key: string): Promise<void>;
}

/** What a compare-and-set store with an outbox takes: this one, and packages/pool's. */
export interface CasStoreOptions {
  redis: Redis;
  /** How long the outputs of an applied input are kept for its redeliveries. @default 86400 (a day) */
  outboxTtlSeconds?: number;
  /** @default 50 */
  maxAttempts?: number;
  /** Wraps every Redis call (the service's breaker). */
  call?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface StateStoreOptions extends CasStoreOptions {
  /** Prefix of every key, e.g. `scalewise:<cluster>:decision-engine`. */
  namespace: string;
}

// KEYS[1] the state hash, KEYS[2] the input's outbox entry; ARGV: expected version, new
// version, state JSON, outputs JSON, outbox TTL in seconds. State and outputs in one write.
const casScript = `
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
return 1
`;

type CasRedis = Redis & {
  scalewiseStateCas(
    state: string,
    outbox: string,
    expected: string,
    next: string,
    json: string,
    outputs: string,
    ttl: number,
  ): Promise<number>;
};

/**
 * Wraps Redis calls (through `call`, the service's breaker) so that a failure is a retriable
 * DEPENDENCY_UNAVAILABLE naming what was tried; a ScalewiseError (an open breaker) passes as is.
 */
export function redisCaller(
  call: <T>(fn: () => Promise<T>) => Promise<T>,
): <T>(what: string, fn: () => Promise<T>) => Promise<T> {
  return async (what, fn) => {
    try {
      return await call(fn);
    } catch (err) {
      if (err instanceof ScalewiseError) throw err;
      throw new ScalewiseError('DEPENDENCY_UNAVAILABLE', `redis: ${what} failed: ${(err as Error).message}`, {
        cause: err,
        details: { dependency: 'redis' },
      });
    }
  };
}

type RedisCall = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/** A store's {@link CasStoreOptions} with their defaults, and its Redis calls wrapped by {@link redisCaller}. */
export function casSettings(options: CasStoreOptions): {
  outboxTtl: number;
  maxAttempts: number;
  redisCall: RedisCall;
} {
  return {
    outboxTtl: options.outboxTtlSeconds ?? 86_400,
    maxAttempts: options.maxAttempts ?? 50,
    redisCall: redisCaller(options.call ?? (<T>(fn: () => Promise<T>) => fn())),
  };
}

/**
 * In one round trip: `fields` of the hash `key` and, when `outbox` is given, the outputs stored
 * there for an input (undefined when none are, or when not asked).
 * @throws ScalewiseError DEPENDENCY_UNAVAILABLE when Redis fails.
 */
export async function readWithOutbox<O>(
  redis: Redis,
  redisCall: RedisCall,
  key: string,
  fields: string[],
  outbox?: string,
): Promise<{ values: (string | null)[]; outputs: O[] | undefined }> {
  const res = await redisCall(`read ${key}`, async () => {
    const p = redis.pipeline().hmget(key, ...fields);
    if (outbox !== undefined) p.get(outbox);
    const out = (await p.exec()) ?? [];
    for (const [err] of out) if (err) throw err;
    return out;
  });
  const done = res[1]?.[1] as string | null | undefined;
  return {
    values: (res[0]?.[1] as (string | null)[] | undefined) ?? [],
    outputs: typeof done === 'string' ? (JSON.parse(done) as O[]) : undefined,
  };
}

/**
 * The compare-and-set loop of a store: runs `attempt(n)` (read, step, compare-and-set) until it
 * gives a result; `undefined` means another writer got in first, and the next attempt, after a
 * short jittered pause, steps from that writer's state.
 * @throws ScalewiseError CONFLICT (retriable) with `conflict`'s message and details after
 *   `maxAttempts` lost races.
 */
export async function untilWritten<R>(
  maxAttempts: number,
  attempt: (n: number) => Promise<R | undefined>,
  conflict: { message: string; details: Record<string, unknown> },
): Promise<R> {
  for (let n = 1; n <= maxAttempts; n++) {
    const result = await attempt(n);
    if (result !== undefined) return result;
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * n)));
  }
  throw new ScalewiseError('CONFLICT', conflict.message, { retriable: true, details: conflict.details });
}

export function createStateStore<S, O>(options: StateStoreOptions): StateStore<S, O> {
  const { namespace } = options;
  const redis = options.redis as CasRedis;
  // EVALSHA with the script cached by ioredis (EVAL on a NOSCRIPT).
  if (typeof redis.scalewiseStateCas !== 'function') {
    redis.defineCommand('scalewiseStateCas', { numberOfKeys: 2, lua: casScript });
  }
  const { outboxTtl, maxAttempts, redisCall } = casSettings(options);
  const keyOf = (key: string) => `${namespace}:state:${key}`;
  const outboxOf = (key: string, inputId: string) => `${namespace}:outbox:${key}:${inputId}`;

  /** The state, its version and, when asked, the outputs stored for one input: one round trip. */
  const read = async (key: string, inputId?: string) => {
    const { values, outputs } = await readWithOutbox<O>(
      redis,
      redisCall,
      keyOf(key),
      ['v', 's'],
      inputId === undefined ? undefined : outboxOf(key, inputId),
    );
    const [v, s] = values;
    return {
      version: v ? Number(v) : 0,
      state: v && s ? (JSON.parse(s) as S) : null,
      json: v && s ? s : null,
      outputs,
    };
  };

  return {
    apply(key, inputId, step) {
      const tryOnce = async (attempt: number): Promise<Applied<O> | undefined> => {
        const cur = await read(key, inputId);
        if (cur.outputs)
          return { outputs: cur.outputs, replayed: true, attempts: attempt, version: cur.version };
        const next = step(cur.state);
        const json = JSON.stringify(next.state);
        // An input that changes nothing and says nothing (a periodic check finding all well)
        // writes nothing: no new version, no outbox entry. Applied again, it again does nothing.
        if (next.outputs.length === 0 && json === cur.json) {
          return { outputs: [], replayed: false, attempts: attempt, version: cur.version };
        }
        const version = cur.version + 1;
        const ok = await redisCall(`compare-and-set ${keyOf(key)}`, () =>
          redis.scalewiseStateCas(
            keyOf(key),
            outboxOf(key, inputId),
            String(cur.version),
            String(version),
            json,
            JSON.stringify(next.outputs),
            outboxTtl,
          ),
        );
        return ok === 1 ? { outputs: next.outputs, replayed: false, attempts: attempt, version } : undefined;
      };
      return untilWritten(maxAttempts, tryOnce, {
        message: `state ${keyOf(key)}: ${maxAttempts} writers in a row changed it while input ${inputId} was applied`,
        details: { key, inputId },
      });
    },
    async get(key) {
      const cur = await read(key);
      return cur.state === null ? null : { state: cur.state, version: cur.version };
    },
    async delete(key) {
      await redisCall(`DEL ${keyOf(key)}`, () => redis.del(keyOf(key)));
    },
  };
}

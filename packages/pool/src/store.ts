/**
 * The pool record in Redis: one hash per pool holding the ledger (shared by every service)
 * and each service's own state beside it, written together by one compare-and-set.
 *
 * `apply(pool, inputId, step)` reads the ledger, the service's part and their versions in one
 * round trip, runs `step` (pure, may run more than once), and writes what changed only if
 * neither version moved since (a Lua script, so a claim in the ledger and the state the
 * decider claimed it from are never written apart). The outputs are stored under the input's
 * id in the same write, as packages/state does: an input is applied once per service, and a
 * redelivery gets the stored outputs back to publish again under the same ids.
 *
 * Keys: `scalewise:<cluster>:pool:{<pool>}` (fields `lv`/`l`: the ledger's version and JSON;
 * `<service>.v`/`<service>.s`: a service's part) and
 * `scalewise:<cluster>:pool:{<pool>}:outbox:<service>:<input id>` (the braces keep both on one
 * Redis Cluster slot).
 */
import { type CasStoreOptions, casSettings, readWithOutbox, untilWritten } from '@scalewise/state';
import type { Redis } from 'ioredis';
import { emptyLedger, type Ledger } from './ledger.ts';

export interface PoolStep<P, O> {
  ledger: Ledger;
  /** The service's new part; undefined leaves it as it was. */
  part?: P;
  outputs: O[];
}

export interface PoolApplied<O> {
  outputs: O[];
  replayed: boolean;
  attempts: number;
  /** The ledger as written (or as read, when nothing changed or the input was replayed). */
  ledger: Ledger;
}

export interface PoolRecord<P> {
  ledger: Ledger;
  part: P | null;
  ledgerVersion: number;
}

export interface PoolStore<P, O> {
  /**
   * Applies one input to the pool's ledger and this service's part, exactly once per
   * `inputId` for this service.
   * @throws ScalewiseError CONFLICT after `maxAttempts` lost races (retriable);
   *   DEPENDENCY_UNAVAILABLE when Redis fails (retriable).
   */
  apply(
    pool: string,
    inputId: string,
    step: (ledger: Ledger, part: P | null) => PoolStep<P, O>,
  ): Promise<PoolApplied<O>>;
  get(pool: string): Promise<PoolRecord<P>>;
  /** Deletes the whole record (every service's part too): tests, or a pool removed for good. */
  delete(pool: string): Promise<void>;
}

export interface PoolStoreOptions extends CasStoreOptions {
  clusterId: string;
  /** The service whose part this store reads and writes (e.g. `min-enforcer`). */
  service: string;
}

// KEYS[1] the pool hash, KEYS[2] the input's outbox entry. ARGV: part field prefix, expected
// ledger version, expected part version, ledger JSON ('' = unchanged), part JSON ('' =
// unchanged), outputs JSON, outbox TTL. Both versions are checked before anything is written,
// and so is the outbox entry: a step that only has outputs moves no version, so without that
// check two writers of the same input would both succeed and both publish.
const casScript = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local lv = redis.call('HGET', KEYS[1], 'lv') or '0'
local pv = redis.call('HGET', KEYS[1], ARGV[1] .. '.v') or '0'
if lv ~= ARGV[2] or pv ~= ARGV[3] then return 0 end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'lv', tostring(tonumber(lv) + 1), 'l', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], ARGV[1] .. '.v', tostring(tonumber(pv) + 1), ARGV[1] .. '.s', ARGV[5]) end
redis.call('SET', KEYS[2], ARGV[6], 'EX', ARGV[7])
return 1
`;

type CasRedis = Redis & {
  scalewisePoolCas(
    key: string,
    outbox: string,
    prefix: string,
    lv: string,
    pv: string,
    ledger: string,
    part: string,
    outputs: string,
    ttl: number,
  ): Promise<number>;
};

export function createPoolStore<P, O>(options: PoolStoreOptions): PoolStore<P, O> {
  const { service } = options;
  const redis = options.redis as CasRedis;
  if (typeof redis.scalewisePoolCas !== 'function') {
    redis.defineCommand('scalewisePoolCas', { numberOfKeys: 2, lua: casScript });
  }
  const { outboxTtl: ttl, maxAttempts, redisCall } = casSettings(options);
  const keyOf = (pool: string) => `scalewise:${options.clusterId}:pool:{${pool}}`;
  const outboxOf = (pool: string, inputId: string) => `${keyOf(pool)}:outbox:${service}:${inputId}`;

  const read = async (pool: string, inputId?: string) => {
    const { values, outputs } = await readWithOutbox<O>(
      redis,
      redisCall,
      keyOf(pool),
      ['lv', 'l', `${service}.v`, `${service}.s`],
      inputId === undefined ? undefined : outboxOf(pool, inputId),
    );
    const [lv, l, pv, ps] = values;
    return {
      lv: lv ?? '0',
      pv: pv ?? '0',
      ledgerJson: l ?? null,
      ledger: l ? (JSON.parse(l) as Ledger) : emptyLedger(pool),
      partJson: ps ?? null,
      part: ps ? (JSON.parse(ps) as P) : null,
      outputs,
    };
  };

  return {
    apply(pool, inputId, step) {
      const tryOnce = async (attempt: number): Promise<PoolApplied<O> | undefined> => {
        const cur = await read(pool, inputId);
        if (cur.outputs)
          return { outputs: cur.outputs, replayed: true, attempts: attempt, ledger: cur.ledger };
        const next = step(cur.ledger, cur.part);
        const ledgerJson = JSON.stringify(next.ledger);
        const partJson = next.part === undefined ? null : JSON.stringify(next.part);
        const ledgerChanged = ledgerJson !== (cur.ledgerJson ?? JSON.stringify(emptyLedger(pool)));
        const partChanged = partJson !== null && partJson !== cur.partJson;
        // Nothing changed and nothing to say: no write, no outbox entry (applied again, it again does nothing).
        if (!ledgerChanged && !partChanged && next.outputs.length === 0) {
          return { outputs: [], replayed: false, attempts: attempt, ledger: cur.ledger };
        }
        const ok = await redisCall(`compare-and-set ${keyOf(pool)}`, () =>
          redis.scalewisePoolCas(
            keyOf(pool),
            outboxOf(pool, inputId),
            service,
            cur.lv,
            cur.pv,
            ledgerChanged ? ledgerJson : '',
            partChanged ? (partJson as string) : '',
            JSON.stringify(next.outputs),
            ttl,
          ),
        );
        return ok === 1
          ? { outputs: next.outputs, replayed: false, attempts: attempt, ledger: next.ledger }
          : undefined;
      };
      return untilWritten(maxAttempts, tryOnce, {
        message: `pool ${pool}: ${maxAttempts} writers in a row changed its record while ${service} applied ${inputId}`,
        details: { pool, inputId, service },
      });
    },
    async get(pool) {
      const cur = await read(pool);
      return { ledger: cur.ledger, part: cur.part, ledgerVersion: Number(cur.lv) };
    },
    async delete(pool) {
      await redisCall(`DEL ${keyOf(pool)}`, () => redis.del(keyOf(pool)));
    },
  };
}

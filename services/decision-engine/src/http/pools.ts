/**
 * The decision engine's REST routes: what it holds about each pool, for "why did it do that?".
 * Read routes: any configured bearer token (the kit's auth, docs/security.md).
 */
import { ScalewiseError } from '@scalewise/errors';
import {
  type PoolStatus,
  type PoolsResponse,
  poolParamsJsonSchema,
  poolsResponseJsonSchema,
} from '@scalewise/events';
import type { Hold } from '@scalewise/pool';
import type { FastifyInstance } from 'fastify';
import type { DecisionEngine } from '../app.ts';
import { desiredOf } from '../core/index.ts';

const holdView = (h: Hold | null): PoolStatus['hold'] =>
  h && {
    target: h.target,
    action: h.action,
    trigger_id: h.trigger,
    source: h.source,
    reason: h.reason,
    state: h.reachedAt === null ? 'pursued' : 'held',
    until: h.until === null ? null : new Date(h.until).toISOString(),
  };

/** A pool's row of `GET /v1/pools`. */
async function poolStatus(engine: DecisionEngine, name: string): Promise<PoolStatus> {
  const r = await engine.poolState(name);
  const s = r?.state;
  const policy = engine.policies.get(name);
  return {
    pool: name,
    workers: s?.workers ?? null,
    desired: s ? desiredOf(s) : null,
    min: s?.min ?? policy?.min ?? 0,
    max: s?.max ?? policy?.max ?? 0,
    paused: s?.paused !== null && s?.paused !== undefined,
    dry_run: policy?.dryRun ?? false,
    in_flight: s?.inFlight.length ?? 0,
    hold: holdView(r?.hold ?? null),
  };
}

/** `GET /v1/pools` (every configured pool) and `GET /v1/pools/:pool` (its state and ledger). */
export function poolRoutes(app: FastifyInstance, engine: DecisionEngine): void {
  app.get('/v1/pools', { schema: { response: { 200: poolsResponseJsonSchema } } }, async () => {
    const pools: PoolStatus[] = [];
    for (const name of engine.policies.keys()) pools.push(await poolStatus(engine, name));
    return { pools } satisfies PoolsResponse;
  });
  app.get<{ Params: { pool: string } }>(
    '/v1/pools/:pool',
    { schema: { params: poolParamsJsonSchema } },
    async (req) => {
      const { pool } = req.params;
      if (!engine.policies.has(pool)) {
        throw new ScalewiseError('NOT_FOUND', `no pool named '${pool}' in the configuration`, {
          details: { pool },
        });
      }
      const r = await engine.poolState(pool);
      return { pool, state: r?.state ?? null, ledger: r?.ledger ?? null, hold: r?.hold ?? null };
    },
  );
}

/**
 * The decision engine's REST routes: what it holds about each pool, for "why did it do that?".
 * Read routes: any configured bearer token (the kit's auth, docs/security.md).
 */
import { ScalewiseError } from '@scalewise/errors';
import type { FastifyInstance } from 'fastify';
import { desiredOf } from './core/index.ts';
import type { DecisionEngine } from './engine.ts';

export function decisionRoutes(app: FastifyInstance, engine: DecisionEngine): void {
  app.get('/v1/pools', async () => {
    const pools = [];
    for (const name of engine.policies.keys()) {
      const r = await engine.poolState(name);
      const s = r?.state;
      const h = r?.hold ?? null;
      pools.push({
        pool: name,
        workers: s?.workers ?? null,
        desired: s ? desiredOf(s) : null,
        min: s?.min ?? engine.policies.get(name)?.min,
        max: s?.max ?? engine.policies.get(name)?.max,
        paused: s?.paused !== null && s?.paused !== undefined,
        dry_run: engine.policies.get(name)?.dryRun ?? false,
        in_flight: s?.inFlight.length ?? 0,
        hold: h && {
          target: h.target,
          action: h.action,
          trigger_id: h.trigger,
          source: h.source,
          reason: h.reason,
          state: h.reachedAt === null ? 'pursued' : 'held',
          until: h.until === null ? null : new Date(h.until).toISOString(),
        },
      });
    }
    return { pools };
  });
  app.get<{ Params: { pool: string } }>('/v1/pools/:pool', async (req) => {
    const { pool } = req.params;
    if (!engine.policies.has(pool)) {
      throw new ScalewiseError('NOT_FOUND', `no pool named '${pool}' in the configuration`, {
        details: { pool },
      });
    }
    const r = await engine.poolState(pool);
    return { pool, state: r?.state ?? null, ledger: r?.ledger ?? null, hold: r?.hold ?? null };
  });
}

/**
 * "Why did it do that?" (bearer token: the kit's auth, docs/security.md):
 *   GET /v1/explain/:id             the causal chain of an event
 *   GET /v1/explain?pool=P&at=ISO   why not: the blocks and rejections in force, and the decisions around
 */
import { ScalewiseError } from '@scalewise/errors';
import { type AnyScalewiseEvent, type EventType, scalingTypes } from '@scalewise/events';
import type { FastifyInstance } from 'fastify';
import type { History } from '../adapters/history.ts';
import { explain, reasonsInForce } from '../core/index.ts';
import { eventNamed } from './history.ts';
import { instant } from './query.ts';

/** What GET /v1/explain answers about: the scaling decisions and the optimum a pool reached. */
const explainedAround: ReadonlySet<EventType> = new Set([
  ...scalingTypes,
  'io.scalewise.OptimalStateTrigger',
]);

/** How far back from `at` the reasons in force and the decisions are looked for. */
const lookbackMs = 600_000;

export function explainRoutes(app: FastifyInstance, history: History): void {
  app.get<{ Params: { id: string } }>('/v1/explain/:id', async (req) => {
    const e = await eventNamed(history, req.params.id);
    const chain = await history.chain(e.correlationid);
    const x = explain(e.id, chain.length > 0 ? chain : [e]);
    if (!x) throw new ScalewiseError('NOT_FOUND', `event '${e.id}' is not in its own chain`);
    return x;
  });

  app.get('/v1/explain', async (req) => {
    const q = req.query as Record<string, unknown>;
    if (typeof q.pool !== 'string' || q.pool === '') {
      throw new ScalewiseError(
        'BAD_REQUEST',
        'pool: required, with at (ISO time or epoch ms), or use /v1/explain/<event id>',
      );
    }
    const at = instant('at', q.at) ?? Date.now();
    const around: AnyScalewiseEvent[] = await history.query({
      from: at - lookbackMs,
      to: at,
      pools: [q.pool],
      limit: 5000,
    });
    const decisions = around.filter((e) => explainedAround.has(e.type));
    return {
      pool: q.pool,
      at: new Date(at).toISOString(),
      blocked: reasonsInForce(around, q.pool, at, lookbackMs),
      decisions: decisions.slice(-20),
    };
  });
}

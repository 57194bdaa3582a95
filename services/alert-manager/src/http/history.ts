/**
 * The history's routes (bearer token: the kit's auth, docs/security.md):
 *   GET /v1/events?from&to&pool&type&severity&correlationid&limit   the history, oldest first
 *   GET /v1/events/:id
 */
import { ScalewiseError } from '@scalewise/errors';
import { typeOf } from '@scalewise/events';
import type { FastifyInstance } from 'fastify';
import type { History, HistoryQuery } from '../adapters/history.ts';
import { instant, list } from './query.ts';

export function historyRoutes(app: FastifyInstance, history: History): void {
  app.get('/v1/events', async (req) => ({
    events: await history.query(historyQuery(req.query as Record<string, unknown>)),
  }));

  app.get<{ Params: { id: string } }>('/v1/events/:id', async (req) => eventNamed(history, req.params.id));
}

/** The event of that id in the history. @throws ScalewiseError NOT_FOUND */
export async function eventNamed(history: History, id: string) {
  const e = await history.get(id);
  if (!e) throw new ScalewiseError('NOT_FOUND', `no event with id '${id}' in the history`);
  return e;
}

/** The query of `GET /v1/events`. @throws ScalewiseError BAD_REQUEST naming the bad parameter */
function historyQuery(q: Record<string, unknown>): HistoryQuery {
  const query: HistoryQuery = {};
  const from = instant('from', q.from);
  const to = instant('to', q.to);
  if (from !== undefined) query.from = from;
  if (to !== undefined) query.to = to;
  const pools = list(q.pool);
  const types = list(q.type)?.map((t) => typeOf(t));
  const severities = list(q.severity);
  if (pools) query.pools = pools;
  if (types) query.types = types;
  if (severities) query.severities = severities;
  if (typeof q.correlationid === 'string') query.correlationid = q.correlationid;
  if (q.limit !== undefined) {
    const n = Number(q.limit);
    if (!Number.isInteger(n) || n < 1 || n > 5000) {
      throw new ScalewiseError('BAD_REQUEST', `limit: expected an integer 1-5000, got '${String(q.limit)}'`);
    }
    query.limit = n;
  }
  return query;
}

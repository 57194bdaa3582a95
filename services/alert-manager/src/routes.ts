/**
 * alert-manager's REST and WebSocket surface:
 *   GET    /v1/events?from&to&pool&type&severity&correlationid&limit   the history, oldest first
 *   GET    /v1/events/:id
 *   GET    /v1/explain/:id                  the causal chain of an event
 *   GET    /v1/explain?pool=P&at=ISO        why not: the blocks and rejections in force, and the decisions around
 *   GET    /v1/alerts                       open alerts (of the partitions this replica routes)
 *   GET    /v1/silences, POST /v1/silences, DELETE /v1/silences/:id   the cluster's, in Redis
 *                                          (the same set through every replica)
 *   GET    /events (WebSocket)              live events matching the filter the client sends
 * Every route needs a bearer token, the silence routes one with write scope (the kit's auth,
 * docs/security.md). The WebSocket's upgrade may also carry it as `?token=` (redacted from the
 * logs) or as a subprotocol `bearer.<token>` beside the one the server selects
 * (`scalewise.v1`), as browsers cannot set headers on it. Creating and deleting a silence is
 * audited (AuditRecorded `silence.create`, `silence.delete`).
 */
import { randomUUID } from 'node:crypto';
import websocket from '@fastify/websocket';
import { ScalewiseError } from '@scalewise/errors';
import {
  type AnyScalewiseEvent,
  type EventType,
  type Severity,
  scalingTypes,
  typeOf,
} from '@scalewise/events';
import { selectSubprotocol } from '@scalewise/service';
import type { FastifyInstance } from 'fastify';
import type { HistoryQuery } from './adapters/history.ts';
import type { AlertManager } from './alerts.ts';
import { checkSilence, explain, openAlerts, reasonsInForce } from './core/index.ts';

/** What GET /v1/explain answers about: the scaling decisions and the optimum a pool reached. */
const explainedAround: ReadonlySet<EventType> = new Set([
  ...scalingTypes,
  'io.scalewise.OptimalStateTrigger',
]);

const list = (v: unknown): string[] | undefined => {
  if (v === undefined) return undefined;
  const xs = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).filter(Boolean);
  return xs.length > 0 ? xs : undefined;
};

/** An instant given as epoch ms or ISO 8601. */
function instant(name: string, v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const s = String(v);
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(t)) {
    throw new ScalewiseError(
      'BAD_REQUEST',
      `${name}: '${s}' is neither epoch milliseconds nor an ISO 8601 time`,
      {
        details: { field: name },
      },
    );
  }
  return t;
}

export async function alertRoutes(app: FastifyInstance, am: AlertManager): Promise<void> {
  await app.register(websocket, {
    options: { maxPayload: 64 * 1024, handleProtocols: (protocols) => selectSubprotocol(protocols) },
  });

  app.get('/events', { websocket: true }, (socket, req) => {
    // Its request line is the only other one: the stream's clients are named here (token_name).
    req.log.info({ clients: am.hub.clients + 1 }, 'stream client connected');
    am.hub.accept(socket);
  });

  app.get('/v1/events', async (req) => {
    const q = req.query as Record<string, unknown>;
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
        throw new ScalewiseError(
          'BAD_REQUEST',
          `limit: expected an integer 1-5000, got '${String(q.limit)}'`,
        );
      }
      query.limit = n;
    }
    return { events: await am.history.query(query) };
  });

  app.get<{ Params: { id: string } }>('/v1/events/:id', async (req) => {
    const e = await am.history.get(req.params.id);
    if (!e) throw new ScalewiseError('NOT_FOUND', `no event with id '${req.params.id}' in the history`);
    return e;
  });

  app.get<{ Params: { id: string } }>('/v1/explain/:id', async (req) => {
    const e = await am.history.get(req.params.id);
    if (!e) throw new ScalewiseError('NOT_FOUND', `no event with id '${req.params.id}' in the history`);
    const chain = await am.history.chain(e.correlationid);
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
    const lookback = 600_000;
    const around: AnyScalewiseEvent[] = await am.history.query({
      from: at - lookback,
      to: at,
      pools: [q.pool],
      limit: 5000,
    });
    const decisions = around.filter((e) => explainedAround.has(e.type));
    return {
      pool: q.pool,
      at: new Date(at).toISOString(),
      blocked: reasonsInForce(around, q.pool, at, lookback),
      decisions: decisions.slice(-20),
    };
  });

  app.get('/v1/alerts', async () => ({ alerts: openAlerts(am.routing) }));

  app.get('/v1/silences', async () => ({
    silences: await am.silences.list(),
  }));

  app.post('/v1/silences', { config: { audit: 'silence.create' } }, async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const endsAt = instant('endsAt', b.endsAt);
    if (endsAt === undefined)
      throw new ScalewiseError('BAD_REQUEST', 'endsAt: required (ISO time or epoch ms)');
    const silence = {
      id: randomUUID(),
      endsAt,
      // As the caller says, else the name of the token it came with (the audit event names that).
      createdBy: typeof b.createdBy === 'string' ? b.createdBy : (req.principal?.name ?? 'api'),
      comment: typeof b.comment === 'string' ? b.comment : '',
      ...(list(b.pools) ? { pools: list(b.pools) } : {}),
      ...(list(b.types) ? { types: list(b.types) } : {}),
      ...(list(b.severities) ? { severities: list(b.severities) as Severity[] } : {}),
    };
    try {
      checkSilence(silence, Date.now());
    } catch (err) {
      throw new ScalewiseError('BAD_REQUEST', (err as Error).message);
    }
    await am.silences.add(silence);
    req.audit = {
      target: silence.id,
      details: {
        ends_at: new Date(endsAt).toISOString(),
        created_by: silence.createdBy,
        comment: silence.comment,
        ...(silence.pools ? { pools: silence.pools } : {}),
        ...(silence.types ? { types: silence.types } : {}),
        ...(silence.severities ? { severities: silence.severities } : {}),
      },
    };
    reply.code(201);
    return silence;
  });

  app.delete<{ Params: { id: string } }>(
    '/v1/silences/:id',
    { config: { audit: 'silence.delete' } },
    async (req, reply) => {
      req.audit = { target: req.params.id };
      if (!(await am.silences.remove(req.params.id))) {
        throw new ScalewiseError('NOT_FOUND', `no silence with id '${req.params.id}'`);
      }
      reply.code(204);
    },
  );
}

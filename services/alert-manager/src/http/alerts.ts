/**
 * The alerts and the silences (bearer token, the silence routes one with write scope: the
 * kit's auth, docs/security.md):
 *   GET    /v1/alerts                       open alerts (of the partitions this replica routes)
 *   GET    /v1/silences, POST /v1/silences, DELETE /v1/silences/:id   the cluster's, in Redis
 *                                          (the same set through every replica)
 * Creating and deleting a silence is audited (AuditRecorded `silence.create`, `silence.delete`).
 */
import { randomUUID } from 'node:crypto';
import { ScalewiseError } from '@scalewise/errors';
import type { Severity } from '@scalewise/events';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SilenceStore } from '../adapters/silences.ts';
import { checkSilence, openAlerts, type RoutingState, type Silence } from '../core/index.ts';
import { instant, list } from './query.ts';

export interface AlertRoutesDeps {
  routing: RoutingState;
  silences: SilenceStore;
}

export function alertRoutes(app: FastifyInstance, deps: AlertRoutesDeps): void {
  const { routing, silences } = deps;
  app.get('/v1/alerts', async () => ({ alerts: openAlerts(routing) }));

  app.get('/v1/silences', async () => ({
    silences: await silences.list(),
  }));

  app.post('/v1/silences', { config: { audit: 'silence.create' } }, async (req, reply) => {
    const silence = silenceOf(req);
    await silences.add(silence);
    req.audit = {
      target: silence.id,
      details: {
        ends_at: new Date(silence.endsAt).toISOString(),
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
      if (!(await silences.remove(req.params.id))) {
        throw new ScalewiseError('NOT_FOUND', `no silence with id '${req.params.id}'`);
      }
      reply.code(204);
    },
  );
}

/** The silence a POST body asks for, checked. @throws ScalewiseError BAD_REQUEST saying why */
function silenceOf(req: FastifyRequest): Silence {
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
  return silence;
}

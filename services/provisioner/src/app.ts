/**
 * The reference provisioner's HTTP server: the provisioner contract of docs/providers.md
 * (docs/provisioner-openapi.yaml) over {@link Machines}. `buildApp` never listens (main.ts
 * does), so tests can `inject` or listen on a port of their own.
 *
 * Copy this service to write a provisioner for a VM API: keep the routes, the validation and
 * the error answers; replace machines.ts.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ScalewiseError } from '@scalewise/errors';
import type { CreateRequest, ErrorBody, WireTaint } from '@scalewise/providers/provisioner-contract';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { ContractError } from './machine-record.ts';
import type { Machines } from './machines.ts';

export { ContractError, nodeOf } from './machine-record.ts';
export { createMachines, type Machines, type MachinesDeps } from './machines.ts';

export interface AppDeps {
  machines: Machines;
  /** A file holding the bearer token every contract call must carry, read at each call. Unset: no auth. */
  tokenFile?: string;
  /** fastify's options (logger, https). */
  server?: FastifyServerOptions & { https?: { cert: string; key: string } | null };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

/** Why a create request is not one, or undefined. Pure. */
export function createProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'a JSON object';
  const b = body as Partial<CreateRequest>;
  if (
    typeof b.idempotency_key !== 'string' ||
    b.idempotency_key.length === 0 ||
    b.idempotency_key.length > 253
  )
    return 'idempotency_key: 1-253 characters';
  if (!Array.isArray(b.workers) || b.workers.length === 0 || b.workers.length > 100)
    return 'workers: 1-100 workers';
  const names = new Set<string>();
  for (const [i, w] of b.workers.entries()) {
    if (typeof w?.name !== 'string' || !DNS_LABEL.test(w.name)) return `workers[${i}].name: a DNS label`;
    if (names.has(w.name)) return `workers[${i}].name: ${w.name} twice`;
    names.add(w.name);
    if (w.zone !== undefined && typeof w.zone !== 'string') return `workers[${i}].zone: a string`;
  }
  const t = b.template;
  if (typeof t !== 'object' || t === null) return 'template: an object';
  if (typeof t.labels !== 'object' || t.labels === null) return 'template.labels: an object';
  if (
    !Array.isArray(t.taints) ||
    !t.taints.every((x: WireTaint) => typeof x?.key === 'string' && EFFECTS.has(x.effect))
  )
    return 'template.taints: {key, value?, effect} each';
  const r = t.resources;
  if (
    typeof r !== 'object' ||
    r === null ||
    ![r.cpu_millicores, r.memory_mib, r.pods].every((n) => Number.isInteger(n) && (n as number) > 0)
  )
    return 'template.resources: cpu_millicores, memory_mib and pods, integers > 0';
  if (typeof t.parameters !== 'object' || t.parameters === null) return 'template.parameters: an object';
  return undefined;
}

const answer = (reply: FastifyReply, status: number, code: string, message: string, retriable?: boolean) =>
  reply.code(status).send({
    error: { code, message, ...(retriable !== undefined ? { retriable } : {}) },
  } satisfies ErrorBody);

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { https, ...server } = deps.server ?? {};
  // https: fastify's https overload; its instance serves the same routes.
  const app = (
    https ? Fastify({ ...server, https } as FastifyServerOptions) : Fastify(server)
  ) as FastifyInstance;
  if (deps.tokenFile) requireToken(app, deps.tokenFile);
  app.setErrorHandler(answerError);
  healthRoutes(app, deps.machines);
  workerRoutes(app, deps.machines);
  return app;
}

/** Every route but the health checks wants the bearer token of `tokenFile` (read per request: rotated in place). */
function requireToken(app: FastifyInstance, tokenFile: string): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/healthz' || req.url === '/readyz') return;
    const want = Buffer.from(readFileSync(tokenFile, 'utf8').trim());
    const got = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (want.length === 0 || got.length !== want.length || !timingSafeEqual(got, want))
      return answer(reply, 401, 'UNAUTHENTICATED', 'a missing or wrong bearer token');
  });
}

/** A failure as the contract's error body: its own codes, a bad request, or the infrastructure's. */
function answerError(err: unknown, _req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof ContractError) return answer(reply, err.status, err.code, err.message);
  const status = (err as { statusCode?: number }).statusCode;
  if (status !== undefined && status >= 400 && status < 500)
    return answer(reply, 400, 'INVALID_REQUEST', (err as Error).message);
  // The API server (the infrastructure) failed: worth a retry.
  const retriable = err instanceof ScalewiseError ? err.retriable : true;
  return answer(
    reply,
    retriable ? 503 : 500,
    retriable ? 'UNAVAILABLE' : 'INTERNAL',
    (err as Error).message,
    retriable,
  );
}

/**
 * /healthz is the contract's; /readyz is the same check under the name every Scalewise image
 * answers, for an orchestrator's readiness probe (and scripts/validate-deploy).
 */
function healthRoutes(app: FastifyInstance, machines: Machines): void {
  const healthy = async (_req: unknown, reply: FastifyReply) => {
    try {
      await machines.healthy();
      return { status: 'ok' };
    } catch (err) {
      return answer(reply, 503, 'UNAVAILABLE', (err as Error).message, true);
    }
  };
  app.get('/healthz', healthy);
  app.get('/readyz', healthy);
}

/** The pool named in the path, or undefined once the 400 is answered. */
function poolOf(params: unknown, reply: FastifyReply): string | undefined {
  const pool = (params as { pool: string }).pool;
  if (DNS_LABEL.test(pool)) return pool;
  answer(reply, 400, 'INVALID_REQUEST', `pool: a DNS label, not '${pool}'`);
  return undefined;
}

/** The contract's workers of a pool: list, create (idempotent by key), delete. */
function workerRoutes(app: FastifyInstance, machines: Machines): void {
  app.get('/pools/:pool/workers', async (req, reply) => {
    const pool = poolOf(req.params, reply);
    if (pool === undefined) return reply;
    return { workers: await machines.list(pool) };
  });

  app.post('/pools/:pool/workers', async (req, reply) => {
    const pool = poolOf(req.params, reply);
    if (pool === undefined) return reply;
    const problem = createProblem(req.body);
    if (problem) return answer(reply, 400, 'INVALID_REQUEST', problem);
    const body = req.body as CreateRequest;
    const header = req.headers['idempotency-key'];
    if (header !== undefined && header !== body.idempotency_key)
      return answer(reply, 400, 'INVALID_REQUEST', 'the Idempotency-Key header and idempotency_key differ');
    return { workers: await machines.create(pool, body) };
  });

  app.delete('/pools/:pool/workers/:name', async (req, reply) => {
    const pool = poolOf(req.params, reply);
    if (pool === undefined) return reply;
    return { worker: await machines.remove(pool, (req.params as { name: string }).name) };
  });
}

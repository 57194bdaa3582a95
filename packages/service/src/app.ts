/**
 * The HTTP surface every service shares: `/healthz` (the process answers), `/readyz` (every
 * dependency the service's own job needs reachable, else 503 naming the failing ones; 200
 * `degraded` when only a dependency it can work without is down), `/metrics` (Prometheus text), one
 * JSON error shape from the error catalogue, plus the service's own routes.
 * Every route but the probes (and /metrics with `metrics_auth: open`) needs a bearer token, and
 * every write route is audited (auth.ts). `buildApp` never listens: tests call `inject()`.
 */
import { ScalewiseError } from '@scalewise/errors';
import { type Logger, redactUrlTokens, type ServiceMetrics } from '@scalewise/telemetry';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { type AuditSink, createTokenStore, installAuth, type TokenStore } from './auth.ts';

/** A dependency the service needs to do its work. */
export interface ReadinessCheck {
  /** Named in /readyz and in `scalewise_dependency_up{dependency}`: kafka, redis, s3, kubernetes. */
  name: string;
  /** Resolves when reachable; rejects with the reason otherwise. */
  check(): Promise<void>;
  /**
   * The service does its job without it: while it is down the service is `degraded` (200,
   * named in the body and the metric), not unready, and this says what waits meanwhile.
   */
  degrades?: string;
}

export interface AppDeps {
  service: string;
  version?: string;
  logger: Logger;
  metrics?: ServiceMetrics;
  checks?: readonly ReadinessCheck[];
  /** A check that takes longer than this fails. @default 2000 */
  checkTimeoutMs?: number;
  /** True once shutdown began: /readyz answers 503 so traffic moves away first. */
  draining?: () => boolean;
  /** The service's own routes. */
  routes?: (app: FastifyInstance) => void | Promise<void>;
  /** The bearer tokens the API accepts. @default none: read routes open, write routes refused */
  tokens?: TokenStore;
  /** `/metrics` open, or behind a read token (`http.metrics_auth`). @default 'open' */
  metricsAuth?: 'open' | 'token';
  /** Where the audit records of write routes go (the kit: AuditRecorded events). */
  audit?: AuditSink;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Milliseconds the check took. */
  ms: number;
  error?: string;
  /** The check's `degrades`, when it failed. */
  degrades?: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ScalewiseError('TIMEOUT', `${what} did not answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every check at once, each bounded by the timeout. */
export async function runChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs: number,
): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async (c) => {
      const started = performance.now();
      try {
        await withTimeout(c.check(), timeoutMs, c.name);
        return { name: c.name, ok: true, ms: Math.round(performance.now() - started) };
      } catch (err) {
        return {
          name: c.name,
          ok: false,
          ms: Math.round(performance.now() - started),
          error: (err as Error).message || String(err),
          ...(c.degrades ? { degrades: c.degrades } : {}),
        };
      }
    }),
  );
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Bodies of REST routes are small JSON documents.
    bodyLimit: 1024 * 1024,
    // Event ids are derived along their chain (`<pool>/NodeUnexpectedlyLost/<node>/<t>/<pool>/
    // AutoScaleUpToMinimum/ScaleUpStarted`), often past fastify's default of 100 characters for
    // a path parameter: /v1/explain/<id> answered 414 for them.
    routerOptions: { maxParamLength: 2048 },
  });
  // Before any route: the hooks apply to the routes added after them.
  installAuth(app, {
    service: deps.service,
    store: deps.tokens ?? createTokenStore([]),
    log: deps.logger,
    ...(deps.audit ? { audit: deps.audit } : {}),
  });
  const started = Date.now();
  const checks = deps.checks ?? [];
  const timeoutMs = deps.checkTimeoutMs ?? 2000;

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ScalewiseError) {
      if (err.status >= 500) request.log.error({ err, code: err.code }, 'request failed');
      return reply.status(err.status).send({ error: err.toJSON() });
    }
    const e = err as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation || (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)) {
      return reply.status(e.statusCode ?? 400).send({
        error: { code: 'BAD_REQUEST', message: e.message, retriable: false, details: {} },
      });
    }
    request.log.error({ err }, 'unexpected error in a route');
    return reply.status(500).send({
      error: {
        code: 'INTERNAL',
        message: 'internal error; see the service log',
        retriable: false,
        details: {},
      },
    });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: {
        code: 'NOT_FOUND',
        message: `no route ${request.method} ${redactUrlTokens(request.url)}`,
        retriable: false,
        details: {},
      },
    }),
  );

  // Probes and scrapes arrive every few seconds: their request lines are not logged. Probes
  // are open (the kubelet has no token); /metrics as `http.metrics_auth` says.
  const quiet = { logLevel: 'warn' as const, config: { auth: 'none' as const } };
  const metricsRoute = {
    logLevel: 'warn' as const,
    config: { auth: deps.metricsAuth === 'token' ? ('read' as const) : ('none' as const) },
  };

  app.get('/healthz', quiet, async () => ({
    status: 'ok',
    service: deps.service,
    ...(deps.version ? { version: deps.version } : {}),
    uptime_seconds: Math.round((Date.now() - started) / 1000),
  }));

  app.get('/readyz', quiet, async (_request, reply) => {
    if (deps.draining?.()) {
      return reply.status(503).send({ status: 'draining', service: deps.service, failing: [], checks: {} });
    }
    const results = await runChecks(checks, timeoutMs);
    for (const r of results) deps.metrics?.dependencyUp(r.name, r.ok);
    const failing = results.filter((r) => !r.ok && !r.degrades).map((r) => r.name);
    const degraded = results.filter((r) => !r.ok && r.degrades).map((r) => r.name);
    const body = {
      status: failing.length > 0 ? 'not ready' : degraded.length > 0 ? 'degraded' : 'ready',
      service: deps.service,
      failing,
      degraded,
      checks: Object.fromEntries(
        results.map((r) => [
          r.name,
          r.ok
            ? { ok: true, ms: r.ms }
            : { ok: false, ms: r.ms, error: r.error, ...(r.degrades ? { degrades: r.degrades } : {}) },
        ]),
      ),
    };
    if (failing.length > 0) deps.logger.warn({ failing, degraded }, 'not ready');
    else if (degraded.length > 0) deps.logger.warn({ degraded }, 'degraded');
    return reply.status(failing.length === 0 ? 200 : 503).send(body);
  });

  app.get('/metrics', metricsRoute, async (_request, reply) => {
    const text = deps.metrics ? await deps.metrics.render() : '';
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });

  if (deps.routes) await deps.routes(app);
  return app;
}

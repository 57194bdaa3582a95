/**
 * The per-route authentication check every service's tests run on its real route table
 * (docs/security.md): each route that is not expected open is called without a token (401),
 * with an unknown token (401), with a read token when it is a write route (403), and with a
 * token of its scope (anything but 401 and 403: the route's own answer). A route added later
 * without the kit's protection, or opting out of it unannounced, fails the test.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '@scalewise/config';
import { quiet } from '@scalewise/testing';
import type { FastifyInstance } from 'fastify';
import { type RouteInfo, routeTable } from './auth.ts';
import { createService, type Service } from './service.ts';

/** The kit's routes that are open by default: the probes, and /metrics (`metrics_auth: open`). */
export const kitOpenRoutes: readonly string[] = [
  'GET /healthz',
  'HEAD /healthz',
  'GET /readyz',
  'HEAD /readyz',
  'GET /metrics',
  'HEAD /metrics',
];

export interface SweepOptions {
  /** An app built by the kit (createService's `app`, or buildApp's). */
  app: FastifyInstance;
  tokens: { read: string; write: string };
  /** `METHOD url` of every route expected to answer without a token, e.g. `GET /healthz`. */
  open: readonly string[];
  /** Values for path parameters by name (`:pool` -> workers); `*` is the wildcard. @default 'sweep' */
  params?: Readonly<Record<string, string>>;
  /** Also call each route with the right token (its handler then runs). @default true */
  withToken?: boolean;
}

export interface SweepResult {
  route: string;
  auth: RouteInfo['auth'];
  /** Status without a token, with an unknown one, with a read token, with a write token. */
  statuses: { none: number; unknown: number; read?: number; write?: number };
}

const pathOf = (url: string, params: Readonly<Record<string, string>>) =>
  url
    .replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => encodeURIComponent(params[name] ?? 'sweep'))
    .replace(/\*$/, params['*'] ?? 'sweep');

/**
 * Runs the check over every route of `app` and throws one AssertionError listing every route
 * that does not hold. @returns what each route answered.
 */
export async function sweepRoutes(options: SweepOptions): Promise<SweepResult[]> {
  const { app, tokens } = options;
  const params = options.params ?? {};
  const table = routeTable(app);
  const name = (r: RouteInfo) => `${r.method} ${r.url}`;
  const open = table.filter((r) => r.auth === 'none').map(name);
  assert.deepEqual(
    [...new Set(open)].sort(),
    [...new Set(options.open)].sort(),
    'the routes open without a token are exactly the expected ones',
  );
  const failures: string[] = [];
  const results: SweepResult[] = [];
  for (const r of table) {
    if (r.auth === 'none') continue;
    const url = pathOf(r.url, params);
    const call = async (token?: string) => {
      const res = await app.inject({
        method: r.method as 'GET',
        url,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        ...(r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH' ? { payload: {} } : {}),
      });
      return { status: res.statusCode, challenge: res.headers['www-authenticate'] };
    };
    const none = await call();
    const unknown = await call('not-a-configured-token-0000');
    const statuses: SweepResult['statuses'] = { none: none.status, unknown: unknown.status };
    if (none.status !== 401 || !String(none.challenge ?? '').startsWith('Bearer')) {
      failures.push(`${name(r)}: without a token ${none.status}, expected 401 with WWW-Authenticate: Bearer`);
    }
    if (unknown.status !== 401)
      failures.push(`${name(r)}: with an unknown token ${unknown.status}, expected 401`);
    if (r.auth === 'write') {
      const read = await call(tokens.read);
      statuses.read = read.status;
      if (read.status !== 403) failures.push(`${name(r)}: with a read token ${read.status}, expected 403`);
    }
    if (options.withToken !== false) {
      const right = await call(r.auth === 'write' ? tokens.write : tokens.read);
      statuses[r.auth === 'write' ? 'write' : 'read'] = right.status;
      if (right.status === 401 || right.status === 403) {
        failures.push(`${name(r)}: with a ${r.auth} token ${right.status}, expected the route's own answer`);
      }
    }
    results.push({ route: name(r), auth: r.auth, statuses });
  }
  assert.deepEqual(failures, [], `routes that do not hold:\n${failures.join('\n')}`);
  return results;
}

/**
 * A publisher of an integration test's own on the config `yaml` names (it also creates the
 * topics): a service with no handlers, started, stopped by `fx` at the end. Feed it with
 * `feeder.bus.publisher.publish(...)`.
 */
export async function startFeeder(
  fx: {
    start<S extends { start(): Promise<unknown>; stop(): Promise<unknown> }>(s: S | Promise<S>): Promise<S>;
  },
  yaml: string,
): Promise<Service> {
  return fx.start(
    createService({
      name: 'test-feeder',
      config: loadConfig({ text: yaml, env: {} }),
      telemetry: { logDestination: quiet },
    }),
  );
}

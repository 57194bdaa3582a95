import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HttpToken, loadConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import type { AuditData } from '@scalewise/events';
import { captureLogger } from '@scalewise/telemetry/test-support';
import type { FastifyInstance } from 'fastify';
import {
  type AuditSink,
  buildApp,
  createService,
  createTokenStore,
  routeTable,
  selectSubprotocol,
} from './index.ts';
import { sweepRoutes } from './test-support.ts';

const ops = 'ops-write-token-0123456789';
const grafana = 'grafana-read-token-0123456';
const tokens: HttpToken[] = [
  { name: 'ops', scope: 'write', value: ops, key: 'http.tokens[0]' },
  { name: 'grafana', scope: 'read', value: grafana, key: 'http.tokens[1]' },
];

const capture = () => captureLogger({ service: 'auth-test', level: 'debug' });

const probes = ['GET /healthz', 'HEAD /healthz', 'GET /readyz', 'HEAD /readyz'];

async function app(
  options: { tokens?: HttpToken[]; metricsAuth?: 'open' | 'token'; audit?: AuditSink } = {},
): Promise<{ app: FastifyInstance; lines: Record<string, unknown>[] }> {
  const { lines, logger } = capture();
  const built = await buildApp({
    service: 'svc',
    logger,
    tokens: createTokenStore(options.tokens ?? tokens, { log: logger }),
    ...(options.metricsAuth ? { metricsAuth: options.metricsAuth } : {}),
    ...(options.audit ? { audit: options.audit } : {}),
    routes: async (a) => {
      a.get('/v1/things', async () => ({ things: [] }));
      a.post('/v1/things', { config: { audit: 'thing.create' } }, async (req, reply) => {
        const body = (req.body ?? {}) as { name?: unknown };
        if (typeof body.name !== 'string') throw new ScalewiseError('BAD_REQUEST', 'name: required');
        req.audit = { target: body.name, pool: 'workers', details: { name: body.name } };
        reply.code(201);
        return { name: body.name };
      });
      a.delete('/v1/things/:id', async (_req, reply) => reply.code(204).send());
      a.get('/v1/admin/dump', { config: { auth: 'write' } }, async () => ({ dump: true }));
      a.get('/public/*', { config: { auth: 'none' } }, async () => 'static');
      // A route added later, in a plugin of its own, with nothing said about auth.
      await a.register(async (child) => {
        child.put('/v1/later/:id', async () => ({ ok: true }));
        child.get('/v1/later', async () => ({ ok: true }));
      });
    },
  });
  return { app: built, lines };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('every route needs a token unless it opts out', () => {
  test('the sweep: 401 without or with an unknown token, 403 for a read token on a write route, the answer with the right one', async () => {
    const { app: a } = await app();
    const results = await sweepRoutes({
      app: a,
      tokens: { read: grafana, write: ops },
      open: [...probes, 'GET /metrics', 'HEAD /metrics', 'GET /public/*', 'HEAD /public/*'],
    });
    const byRoute = Object.fromEntries(results.map((r) => [r.route, r]));
    assert.deepEqual(byRoute['GET /v1/things']?.statuses, { none: 401, unknown: 401, read: 200 });
    assert.deepEqual(byRoute['POST /v1/things']?.statuses, {
      none: 401,
      unknown: 401,
      read: 403,
      write: 400,
    });
    assert.equal(byRoute['DELETE /v1/things/:id']?.statuses.write, 204);
    assert.equal(byRoute['GET /v1/admin/dump']?.auth, 'write', 'a GET route may ask for a write token');
    assert.equal(byRoute['PUT /v1/later/:id']?.auth, 'write', 'a route added later is protected by default');
    assert.equal(byRoute['GET /v1/later']?.statuses.none, 401);
    assert.ok(results.length >= 9, `${results.length} routes checked`);
  });

  test('the sweep fails for a route that opts out unannounced', async () => {
    const { app: a } = await app();
    await assert.rejects(
      sweepRoutes({ app: a, tokens: { read: grafana, write: ops }, open: probes, withToken: false }),
      /the routes open without a token are exactly the expected ones/,
    );
  });

  test('401 challenges with WWW-Authenticate: Bearer, invalid_token for an unknown one; 403 says insufficient_scope', async () => {
    const { app: a } = await app();
    const none = await a.inject({ url: '/v1/things' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="scalewise"');
    assert.equal(none.json().error.code, 'UNAUTHORIZED');
    assert.match(none.json().error.message, /GET \/v1\/things needs a bearer token/);
    const wrong = await a.inject({ url: '/v1/things', headers: bearer('x'.repeat(20)) });
    assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="scalewise", error="invalid_token"');
    const basic = await a.inject({ url: '/v1/things', headers: { authorization: `Basic ${ops}` } });
    assert.equal(basic.statusCode, 401, 'only the Bearer scheme');
    const read = await a.inject({ method: 'DELETE', url: '/v1/things/1', headers: bearer(grafana) });
    assert.equal(read.statusCode, 403);
    assert.equal(
      read.headers['www-authenticate'],
      'Bearer realm="scalewise", error="insufficient_scope", scope="write"',
    );
    assert.match(read.json().error.message, /token 'grafana' has read scope; DELETE \/v1\/things\/:id needs/);
    const unknownRoute = await a.inject({ url: '/nowhere' });
    assert.equal(unknownRoute.statusCode, 401, 'an unknown path says nothing before the token');
    assert.equal((await a.inject({ url: '/nowhere', headers: bearer(grafana) })).statusCode, 404);
  });

  test('the route table lists every route with the scope it needs', async () => {
    const { app: a } = await app();
    const table = routeTable(a);
    assert.deepEqual(
      table.filter((r) => r.url === '/v1/things').map((r) => [r.method, r.auth]),
      [
        ['GET', 'read'],
        ['HEAD', 'read'],
        ['POST', 'write'],
      ],
    );
  });
});

describe('without any token configured', () => {
  test('read routes are open, write routes refused with 403 naming the configuration, and a warning at start', async () => {
    const { app: a, lines } = await app({ tokens: [] });
    assert.equal((await a.inject({ url: '/v1/things' })).statusCode, 200);
    const post = await a.inject({ method: 'POST', url: '/v1/things', payload: { name: 'x' } });
    assert.equal(post.statusCode, 403);
    assert.match(
      post.json().error.message,
      /POST \/v1\/things needs a write token and none is configured: set http.tokens \(scope: write\) or http.api_token \(SCALEWISE_API_TOKEN\)/,
    );
    assert.ok(
      lines.some((l) => l.level === 'warn' && /HTTP API unauthenticated/.test(String(l.msg))),
      'the warning',
    );
  });
});

describe('a service', () => {
  test("is not built from a client's configuration, loaded without its tokens: it would be open", async () => {
    const loaded = loadConfig({
      text: 'autoscaler: { pools: [{ name: w }] }\nhttp: { api_token: ops-write-token-0123456789 }\n',
      env: {},
      httpTokens: false,
    });
    await assert.rejects(
      createService({ name: 'svc', config: loaded }),
      /svc: the configuration was loaded without its HTTP tokens/,
    );
  });
});

describe('/metrics', () => {
  test('open by default; behind a read token with metrics_auth token', async () => {
    const { app: open } = await app();
    assert.equal((await open.inject({ url: '/metrics' })).statusCode, 200);
    const { app: guarded } = await app({ metricsAuth: 'token' });
    assert.equal((await guarded.inject({ url: '/metrics' })).statusCode, 401);
    assert.equal((await guarded.inject({ url: '/metrics', headers: bearer(grafana) })).statusCode, 200);
    assert.equal((await guarded.inject({ url: '/healthz' })).statusCode, 200, 'the probes stay open');
  });
});

describe('the WebSocket upgrade', () => {
  const upgrade = { upgrade: 'websocket', connection: 'Upgrade' };

  test('takes the token from the query or a bearer.<token> subprotocol; a plain request may not use the query', async () => {
    const { app: a } = await app();
    assert.equal((await a.inject({ url: `/v1/things?token=${grafana}`, headers: upgrade })).statusCode, 200);
    assert.equal(
      (
        await a.inject({
          url: '/v1/things',
          headers: { ...upgrade, 'sec-websocket-protocol': `scalewise.v1, bearer.${grafana}` },
        })
      ).statusCode,
      200,
    );
    assert.equal((await a.inject({ url: `/v1/things?token=${grafana}` })).statusCode, 401);
  });

  test('the server selects the first subprotocol that is not the token, never echoing it', () => {
    assert.equal(selectSubprotocol(new Set([`bearer.${ops}`, 'scalewise.v1'])), 'scalewise.v1');
    assert.equal(selectSubprotocol(new Set([`bearer.${ops}`])), false);
  });
});

describe('logs', () => {
  test('name the token, never carry it: the request URL is redacted, its lines carry token_name', async () => {
    const { app: a, lines } = await app();
    await a.inject({
      url: `/v1/things?pool=w&token=${grafana}`,
      headers: { upgrade: 'websocket', connection: 'Upgrade' },
    });
    await a.inject({ method: 'DELETE', url: '/v1/things/7', headers: bearer(ops) });
    await a.inject({ url: '/v1/things', headers: bearer(`${ops}-wrong`) });
    const text = JSON.stringify(lines);
    assert.ok(!text.includes(grafana) && !text.includes(ops), 'no token in any line');
    const incoming = lines.find((l) => l.msg === 'incoming request') as { req: { url: string } };
    assert.equal(incoming.req.url, '/v1/things?pool=w&token=[redacted]');
    const completed = lines.filter((l) => l.msg === 'request completed');
    assert.deepEqual(
      completed.map((l) => l.token_name),
      ['grafana', 'ops', undefined],
    );
    assert.ok(lines.some((l) => l.msg === 'request refused: unknown bearer token'));
  });
});

describe('audit of write routes', () => {
  const recorder = () => {
    const records: AuditData[] = [];
    const sink: AuditSink = async (r) => void records.push(r);
    return { records, sink };
  };

  /** POST /v1/things with the write token. */
  const createThing = (a: FastifyInstance, payload: { name?: string }) =>
    a.inject({ method: 'POST', url: '/v1/things', payload, headers: bearer(ops) });

  test('a write names the token, the action, the target and the outcome; a read is not audited', async () => {
    const { records, sink } = recorder();
    const { app: a } = await app({ audit: sink });
    const res = await createThing(a, { name: 'n1' });
    assert.equal(res.statusCode, 201);
    await a.inject({ url: '/v1/things', headers: bearer(ops) });
    assert.equal(records.length, 1);
    const r = records[0] as AuditData;
    assert.equal(r.actor, 'ops');
    assert.equal(r.action, 'thing.create');
    assert.equal(r.target, 'n1');
    assert.equal(r.pool, 'workers');
    assert.equal(r.outcome, 'succeeded');
    assert.equal(r.service, 'svc');
    assert.deepEqual(r.details, { name: 'n1' });
    assert.deepEqual(
      { method: r.request?.method, route: r.request?.route, status: r.request?.status },
      { method: 'POST', route: '/v1/things', status: 201 },
    );
    assert.ok(r.request?.id);
  });

  test('a read token on a write route is audited as denied; a refused body as failed with the reason; no token is not audited', async () => {
    const { records, sink } = recorder();
    const { app: a } = await app({ audit: sink });
    await a.inject({ method: 'DELETE', url: '/v1/things/7', headers: bearer(grafana) });
    await createThing(a, {});
    await a.inject({ method: 'POST', url: '/v1/things', payload: { name: 'x' } });
    assert.deepEqual(
      records.map((r) => [r.actor, r.action, r.target, r.outcome, r.reason]),
      [
        [
          'grafana',
          'http.delete',
          '/v1/things/7',
          'denied',
          "token 'grafana' has read scope; DELETE /v1/things/:id needs a token with write scope",
        ],
        ['ops', 'thing.create', '/v1/things', 'failed', 'name: required'],
      ],
    );
  });

  test('an audit sink that fails leaves the answer as it is and logs the record', async () => {
    const { app: a, lines } = await app({
      audit: async () => {
        throw new Error('kafka down');
      },
    });
    const res = await createThing(a, { name: 'n2' });
    assert.equal(res.statusCode, 201);
    const line = lines.find((l) => l.msg === 'could not publish the audit record') as {
      audit: AuditData;
    };
    assert.equal(line.audit.target, 'n2');
  });
});

describe('the token store', () => {
  const files = () => {
    const content = new Map<string, string>();
    let mtime = 1;
    return {
      set(path: string, value: string) {
        content.set(path, value);
        mtime += 1;
      },
      remove(path: string) {
        content.delete(path);
      },
      stat: (path: string) => {
        const v = content.get(path);
        if (v === undefined) throw new Error(`ENOENT: ${path}`);
        return { mtimeMs: mtime, size: v.length, ino: 1 };
      },
      readFile: (path: string) => {
        const v = content.get(path);
        if (v === undefined) throw new Error(`ENOENT: ${path}`);
        return v;
      },
    };
  };

  /** A store of one write token, 'ops', read from the file /run/ops, on a clock the test moves. */
  const fileTokenStore = () => {
    const fs = files();
    const clock = { t: 0 };
    const { lines, logger } = capture();
    fs.set('/run/ops', ops);
    const store = createTokenStore(
      [{ name: 'ops', scope: 'write', value: ops, file: '/run/ops', key: 'k' }],
      {
        ...fs,
        now: () => clock.t,
        log: logger,
      },
    );
    return { fs, clock, lines, store };
  };

  test('finds each token by its value; an unknown one, or one two tokens share, is nobody', () => {
    const store = createTokenStore(tokens);
    assert.deepEqual(store.verify(ops), { name: 'ops', scope: 'write' });
    assert.deepEqual(store.verify(grafana), { name: 'grafana', scope: 'read' });
    assert.equal(store.verify(`${ops}x`), undefined);
    assert.equal(store.verify(''), undefined);
    const shared = createTokenStore([
      { name: 'a', scope: 'read', value: ops, key: 'k' },
      { name: 'b', scope: 'write', value: ops, key: 'k' },
    ]);
    assert.equal(shared.verify(ops), undefined);
  });

  test('a file token is re-read when its file changes: the new token works, the old one no longer', () => {
    const { fs, clock, lines, store } = fileTokenStore();
    assert.equal(store.verify(ops)?.name, 'ops');
    const rotated = 'ops-rotated-token-abcdefghij';
    fs.set('/run/ops', `${rotated}\n`);
    assert.equal(store.verify(rotated), undefined, 'looked at again only after a second');
    clock.t += 1000;
    assert.equal(store.verify(rotated)?.name, 'ops');
    assert.equal(store.verify(ops), undefined);
    assert.ok(lines.some((l) => l.msg === "token 'ops' re-read from its file" && l.token_name === 'ops'));
    assert.ok(!JSON.stringify(lines).includes(rotated));
  });

  test('a file that disappears or holds a short token makes the token unusable until fixed, logged once', () => {
    const { fs, clock, lines, store } = fileTokenStore();
    fs.set('/run/ops', 'too-short');
    clock.t += 1000;
    assert.equal(store.verify(ops), undefined);
    assert.equal(store.verify('too-short'), undefined);
    clock.t += 1000;
    store.verify(ops);
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, 'a lasting problem is logged once');
    assert.match(
      String(errors[0]?.msg),
      /token 'ops' is refused until fixed: token 'ops' is 9 characters long/,
    );
    fs.remove('/run/ops');
    clock.t += 1000;
    assert.equal(store.verify(ops), undefined);
    assert.match(String(lines.at(-1)?.msg), /cannot read \/run\/ops: ENOENT/);
    fs.set('/run/ops', ops);
    clock.t += 1000;
    assert.equal(store.verify(ops)?.name, 'ops', 'fixed: usable again');
  });
});

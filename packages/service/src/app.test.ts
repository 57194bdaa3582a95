import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ScalewiseError } from '@scalewise/errors';
import { createLogger, createServiceMetrics } from '@scalewise/telemetry';
import { buildApp, createTokenStore, type ReadinessCheck } from './index.ts';

const quiet = createLogger({
  service: 'app-test',
  level: 'silent',
  destination: new Writable({ write: (_c, _e, d) => d() }),
});
const metrics = createServiceMetrics(resourceFromAttributes({ 'service.name': 'app-test' }));
after(() => metrics.shutdown());

const ok = (name: string): ReadinessCheck => ({ name, check: async () => {} });
const down = (name: string, why: string): ReadinessCheck => ({
  name,
  check: async () => {
    throw new Error(why);
  },
});
const hangs = (name: string): ReadinessCheck => ({ name, check: () => new Promise(() => {}) });

describe('health and readiness', () => {
  test('/healthz answers while the process runs, whatever the dependencies', async () => {
    const app = await buildApp({
      service: 'svc',
      version: '1.2.3',
      logger: quiet,
      checks: [down('kafka', 'x')],
    });
    const res = await app.inject('/healthz');
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'ok');
    assert.equal(res.json().version, '1.2.3');
  });

  test('/readyz is 200 when every check passes', async () => {
    const app = await buildApp({
      service: 'svc',
      logger: quiet,
      metrics,
      checks: [ok('kafka'), ok('redis'), ok('s3')],
    });
    const res = await app.inject('/readyz');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.failing, []);
    assert.deepEqual(Object.keys(body.checks).sort(), ['kafka', 'redis', 's3']);
  });

  test('/readyz is 503 naming each failing dependency and why; a hanging one times out', async () => {
    const app = await buildApp({
      service: 'svc',
      logger: quiet,
      metrics,
      checkTimeoutMs: 50,
      checks: [down('kafka', 'connect ECONNREFUSED 127.0.0.1:9092'), ok('redis'), hangs('s3')],
    });
    const res = await app.inject('/readyz');
    assert.equal(res.statusCode, 503);
    const body = res.json();
    assert.equal(body.status, 'not ready');
    assert.deepEqual(body.failing, ['kafka', 's3']);
    assert.match(body.checks.kafka.error, /ECONNREFUSED/);
    assert.match(body.checks.s3.error, /did not answer within 50 ms/);
    assert.equal(body.checks.redis.ok, true);
    const text = await (await app.inject('/metrics')).body;
    assert.match(text, /scalewise_dependency_up\{dependency="kafka"\} 0/);
    assert.match(text, /scalewise_dependency_up\{dependency="redis"\} 1/);
  });

  test('/readyz is 200 degraded when only a dependency the service works without is down', async () => {
    const app = await buildApp({
      service: 'svc',
      logger: quiet,
      metrics,
      checks: [
        ok('kafka'),
        ok('redis'),
        { ...down('s3', 'connect ECONNREFUSED'), degrades: 'dead letters wait' },
      ],
    });
    const res = await app.inject('/readyz');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual([body.status, body.failing, body.degraded], ['degraded', [], ['s3']]);
    assert.equal(body.checks.s3.degrades, 'dead letters wait');
    assert.match(await (await app.inject('/metrics')).body, /scalewise_dependency_up\{dependency="s3"\} 0/);
    // A needed one down as well: not ready, both named.
    const worse = await buildApp({
      service: 'svc',
      logger: quiet,
      checks: [down('kafka', 'refused'), { ...down('s3', 'refused'), degrades: 'dead letters wait' }],
    });
    const r2 = await worse.inject('/readyz');
    assert.equal(r2.statusCode, 503);
    assert.deepEqual(
      [r2.json().status, r2.json().failing, r2.json().degraded],
      ['not ready', ['kafka'], ['s3']],
    );
  });

  test('/readyz is 503 while draining', async () => {
    let draining = false;
    const app = await buildApp({
      service: 'svc',
      logger: quiet,
      checks: [ok('kafka')],
      draining: () => draining,
    });
    assert.equal((await app.inject('/readyz')).statusCode, 200);
    draining = true;
    const res = await app.inject('/readyz');
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().status, 'draining');
  });
});

describe('/metrics', () => {
  test('Prometheus text with the service metrics', async () => {
    metrics.bus.published('scalewise.signals', 'io.scalewise.PendingPodsDetected', 0.01);
    const app = await buildApp({ service: 'svc', logger: quiet, metrics });
    const res = await app.inject('/metrics');
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/plain; version=0.0.4/);
    assert.match(res.body, /# TYPE scalewise_events_published_total counter/);
  });
});

describe('errors', () => {
  const routes = async (app: Parameters<NonNullable<Parameters<typeof buildApp>[0]['routes']>>[0]) => {
    app.get('/pools/:name', async (req) => {
      throw new ScalewiseError('NOT_FOUND', `no pool '${(req.params as { name: string }).name}'`, {
        details: { pool: (req.params as { name: string }).name },
      });
    });
    app.get('/kube', async () => {
      throw new ScalewiseError('KUBERNETES_API', 'the API answered 500');
    });
    app.get('/bug', async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    });
    app.post(
      '/triggers',
      { schema: { body: { type: 'object', required: ['pool'], properties: { pool: { type: 'string' } } } } },
      async () => ({ accepted: true }),
    );
  };

  test('a ScalewiseError answers with its catalogue status and code', async () => {
    const app = await buildApp({ service: 'svc', logger: quiet, routes });
    const nf = await app.inject('/pools/gpu');
    assert.equal(nf.statusCode, 404);
    assert.deepEqual(nf.json().error, {
      code: 'NOT_FOUND',
      message: "no pool 'gpu'",
      retriable: false,
      details: { pool: 'gpu' },
    });
    const kube = await app.inject('/kube');
    assert.equal(kube.statusCode, 502);
    assert.equal(kube.json().error.retriable, true);
  });

  test('a programming error is a 500 INTERNAL without its internals', async () => {
    const app = await buildApp({ service: 'svc', logger: quiet, routes });
    const res = await app.inject('/bug');
    assert.equal(res.statusCode, 500);
    assert.equal(res.json().error.code, 'INTERNAL');
    assert.doesNotMatch(res.body, /Cannot read/);
  });

  test('a body that fails the route schema is a 400 BAD_REQUEST naming the field', async () => {
    const token = 'write-token-0123456789';
    const app = await buildApp({
      service: 'svc',
      logger: quiet,
      routes,
      tokens: createTokenStore([{ name: 'ops', scope: 'write', value: token, key: 'http.api_token' }]),
    });
    const headers = { authorization: `Bearer ${token}` };
    const res = await app.inject({ method: 'POST', url: '/triggers', payload: { count: 2 }, headers });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'BAD_REQUEST');
    assert.match(res.json().error.message, /pool/);
    assert.equal(
      (await app.inject({ method: 'POST', url: '/triggers', payload: { pool: 'a' }, headers })).statusCode,
      200,
    );
  });

  test('a path parameter as long as a derived event id (hundreds of characters) reaches the route', async () => {
    const app = await buildApp({
      service: 'svc',
      logger: quiet,
      routes: (a) => {
        a.get<{ Params: { id: string } }>('/v1/events/:id', async (req) => ({ id: req.params.id }));
      },
    });
    const id = `workers/NodeUnexpectedlyLost/workers-0abc123-1/1795433697153/${'workers/AutoScaleUpToMinimum/'.repeat(8)}ScaleUpStarted`;
    assert.ok(id.length > 300);
    const res = await app.inject(`/v1/events/${encodeURIComponent(id)}`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().id, id);
  });

  test('an unknown route is a 404 in the same shape', async () => {
    const app = await buildApp({ service: 'svc', logger: quiet });
    const res = await app.inject('/nope');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'NOT_FOUND');
    assert.match(res.json().error.message, /GET \/nope/);
  });
});

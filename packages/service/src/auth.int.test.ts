// The kit's authentication and audit on the real servers: every route of a kit service needs
// a token (the route table of metrics-listener, node-manager and state-sync is exactly this
// one: the probes and /metrics), a write goes to the audit topic as AuditRecorded naming the
// token, and a token file rotated on disk takes effect without a restart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig } from '@scalewise/config';
import type { EventData } from '@scalewise/events';
import { integrationFixture, quiet, serversYaml, uniqueName, waitFor } from '@scalewise/testing';
import { createService, type Service } from './index.ts';
import { kitOpenRoutes, sweepRoutes } from './test-support.ts';

const writeToken = 'kit-write-token-0123456789';
const readToken = 'kit-read-token-0123456789a';
const dir = mkdtempSync(join(tmpdir(), 'scalewise-auth-'));
const tokenFile = join(dir, 'rotating');
const fx = integrationFixture({ recorder: recordTopics });
let prefix: string;
let service: Service;
let base: string;

before(async () => {
  fx.defer(() => rmSync(dir, { recursive: true, force: true }));
  await fx.ready();
  prefix = `${uniqueName('kitauth')}.`;
  writeFileSync(tokenFile, 'rotating-token-first-000000\n');
  const loaded = loadConfig({
    text: `
cluster_id: ${uniqueName('c')}
autoscaler: { pools: [{ name: workers }] }
events: { topic_prefix: "${prefix}", group_prefix: "${prefix}", partitions: 2 }
${serversYaml(fx.stack, {
  apiToken: writeToken,
  http: `tokens: [{ name: viewer, scope: read, token_env: VIEWER_TOKEN }, { name: rotating, scope: write, token_file: "${tokenFile}" }]`,
})}
telemetry: { log_level: warn }
shutdown_timeout_seconds: 10
`,
    env: { VIEWER_TOKEN: readToken },
  });
  service = await fx.start(
    createService({
      name: 'kit-auth',
      config: loaded,
      telemetry: { logDestination: quiet },
      routes: (app) => {
        app.get('/v1/things', async () => ({ things: [] }));
        app.post('/v1/things', { config: { audit: 'thing.create' } }, async (req, reply) => {
          req.audit = { target: 'thing-1', pool: 'workers', details: { size: 3 } };
          reply.code(201);
          return { ok: true };
        });
      },
    }),
  );
  base = await service.listen();
});

describe('the kit on the real servers', () => {
  test('a kit service without routes of its own opens only the probes and /metrics', async () => {
    const bare = await createService({
      name: 'kit-bare',
      config: service.loaded,
      telemetry: { logDestination: quiet },
    });
    try {
      const checked = await sweepRoutes({
        app: bare.app,
        tokens: { read: readToken, write: writeToken },
        open: kitOpenRoutes,
      });
      assert.deepEqual(checked, [], 'nothing else to guard');
    } finally {
      await bare.stop().catch(() => undefined);
    }
  });

  test("the sweep over this service's routes: 401 without a token, 403 for reading tokens on writes", async () => {
    const results = await sweepRoutes({
      app: service.app,
      tokens: { read: readToken, write: writeToken },
      open: kitOpenRoutes,
    });
    assert.deepEqual(results.map((r) => r.route).sort(), [
      'GET /v1/things',
      'HEAD /v1/things',
      'POST /v1/things',
    ]);
  });

  test('a write is published as AuditRecorded on the audit topic, naming the token', async (t) => {
    const rec = await fx.record([`${prefix}audit`], { scope: t });
    const res = await fetch(`${base}/v1/things`, {
      method: 'POST',
      headers: { authorization: `Bearer ${writeToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 201);
    const denied = await fetch(`${base}/v1/things`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(denied.status, 403);
    await waitFor(() => rec.of('io.scalewise.AuditRecorded').length >= 2, {
      timeoutMs: 30_000,
      what: 'two audit records',
    });
    // Keyed by the pool and by scalewise.audit: two partitions, in either order.
    const records = rec.of('io.scalewise.AuditRecorded');
    const ok = records.find((e) => (e.data as { outcome: string }).outcome === 'succeeded');
    const refused = records.find((e) => (e.data as { outcome: string }).outcome === 'denied');
    const d = ok?.data as EventData<'io.scalewise.AuditRecorded'>;
    assert.deepEqual(
      [d.actor, d.action, d.target, d.outcome, d.pool],
      ['api', 'thing.create', 'thing-1', 'succeeded', 'workers'],
    );
    assert.equal(d.service, 'kit-auth');
    assert.deepEqual(d.details, { size: 3 });
    assert.equal(d.request?.status, 201);
    assert.equal(ok?.partitionkey, 'workers');
    assert.equal(ok?.source, `/scalewise/${service.config.cluster_id}/kit-auth`);
    assert.equal(ok?.severity, 'info');
    const r = refused?.data as EventData<'io.scalewise.AuditRecorded'>;
    assert.deepEqual([r.actor, r.outcome], ['viewer', 'denied']);
    assert.equal(refused?.severity, 'warning');
  });

  test('a token file rewritten on disk takes effect within seconds: the new token works, the old no longer', async () => {
    const get = (token: string) =>
      fetch(`${base}/v1/things`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    assert.equal(await get('rotating-token-first-000000'), 200);
    writeFileSync(tokenFile, 'rotating-token-second-00000\n');
    await waitFor(async () => (await get('rotating-token-second-00000')) === 200, {
      timeoutMs: 10_000,
      what: 'the rotated token accepted',
    });
    assert.equal(await get('rotating-token-first-000000'), 401);
    assert.equal(await get(writeToken), 200, 'the other tokens are untouched');
  });
});

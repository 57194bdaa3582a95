// alert-manager as a service on the real Kafka, Redis and S3: notifications to local webhook
// receivers (grouped, resolved, a failing sink retried then dead-lettered), the WebSocket
// stream (auth, filters, a client that never reads), and the history and explain routes.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig } from '@scalewise/config';
import {
  type AnyScalewiseEvent,
  type EventData,
  type EventType,
  sampleChild,
  sampleEvent,
  shortName,
} from '@scalewise/events';
import { createService } from '@scalewise/service';
import { kitOpenRoutes, sweepRoutes } from '@scalewise/service/test-support';
import { integrationFixture, quiet, uniqueName, waitFor } from '@scalewise/testing';
import { WebSocket } from 'ws';
import { defineAlertManager } from './service.ts';
import { alertManagerYaml } from './test-support.ts';

const token = 'test-token-0123456789abcdef';
/** A read-scope token named viewer, beside the write token `api` (http.api_token). */
const viewerToken = 'viewer-token-0123456789abc';
const fx = integrationFixture({ recorder: recordTopics });

interface Hit {
  path: string;
  body: Record<string, unknown>;
}
/** A local webhook receiver: records every POST; `/fail` answers 500. */
async function receiver(): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', body: JSON.parse(data || '{}') as Record<string, unknown> });
      res.statusCode = req.url === '/fail' ? 500 : 200;
      res.end();
    });
  });
  fx.defer(() => server.close());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, hits };
}

async function startAlertManager(
  sinks: string,
  stream?: { capacity: number; highWaterBytes: number },
  logs: Writable = quiet,
) {
  const prefix = `${uniqueName('am')}.`;
  const loaded = loadConfig({
    text: alertManagerYaml(fx.stack, {
      clusterId: uniqueName('c'),
      prefix,
      sinks,
      servers: { apiToken: token, http: 'tokens: [{ name: viewer, scope: read, token_env: VIEWER_TOKEN }]' },
      logLevel: logs === quiet ? 'warn' : 'info',
    }),
    env: { VIEWER_TOKEN: viewerToken },
  });
  const service = await fx.start(
    createService(
      defineAlertManager({
        config: loaded,
        fromBeginning: true,
        ...(stream ? { stream } : {}),
        telemetry: { logDestination: logs },
      }),
    ),
  );
  const base = await service.listen();
  return { service, base, prefix, cid: loaded.config.cluster_id };
}

const ev = <T extends EventType>(type: T, data: Partial<EventData<T>>, cid: string) =>
  sampleEvent(type, data, { clusterid: cid });
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('alert-manager on the real servers', () => {
  test('a MinimumNodesViolation reaches each sink once (repeats grouped), the resolve follows MinimumNodesRestored', async () => {
    const rx = await receiver();
    const { service, cid } = await startAlertManager(
      `[{ name: ops, kind: webhook, url: "${rx.url}/hook" }, { name: chat, kind: slack, url: "${rx.url}/slack" }]`,
    );
    const violation = (n: number) => ev('io.scalewise.MinimumNodesViolation', { current_workers: n }, cid);
    await service.bus.publisher.publish(violation(1), violation(1), violation(0));
    await waitFor(() => rx.hits.length >= 2, { timeoutMs: 30_000, what: 'the first notifications' });
    await settle(1500);
    assert.deepEqual(
      rx.hits.map((h) => h.path).sort(),
      ['/hook', '/slack'],
      'one firing notification per sink',
    );
    const hook = rx.hits.find((h) => h.path === '/hook')?.body as { status: string; alert: { key: string } };
    assert.equal(hook.status, 'firing');
    const slack = rx.hits.find((h) => h.path === '/slack')?.body as { text: string };
    assert.match(slack.text, /MinimumNodesViolation/);
    await service.bus.publisher.publish(ev('io.scalewise.MinimumNodesRestored', {}, cid));
    await waitFor(() => rx.hits.length >= 4, { timeoutMs: 30_000, what: 'the resolve notifications' });
    await settle(1000);
    assert.equal(rx.hits.length, 4);
    const resolved = rx.hits.slice(2).find((h) => h.path === '/hook')?.body as {
      status: string;
      alert: { count: number };
    };
    assert.equal(resolved.status, 'resolved');
  });

  test('a sink answering 500 is retried, then the notification is dead-lettered naming the sink', async (t) => {
    const rx = await receiver();
    const { service, base, prefix, cid } = await startAlertManager(
      `[{ name: broken, kind: webhook, url: "${rx.url}/fail" }]`,
    );
    const dlq = await fx.record([`${prefix}dlq`], { scope: t });
    const lost = ev('io.scalewise.NodeUnexpectedlyLost', {}, cid);
    await service.bus.publisher.publish(lost);
    await waitFor(() => dlq.of('io.scalewise.DeadLetterRecorded').length >= 1, {
      timeoutMs: 60_000,
      what: 'the dead letter',
    });
    const d = dlq.of('io.scalewise.DeadLetterRecorded')[0]
      ?.data as EventData<'io.scalewise.DeadLetterRecorded'>;
    assert.equal(d.event_id, lost.id);
    assert.match(d.reason, /sink broken .* answered 500/);
    assert.ok(d.consumer_group.endsWith('alert-manager-notify'), d.consumer_group);
    assert.ok(rx.hits.length >= 2, `retried: ${rx.hits.length} attempt(s) reached the sink`);
    // The history kept the event all the same.
    const stored = await fetch(`${base}/v1/events/${lost.id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(stored.status, 200);
  });

  test('WebSocket: 401 without a token; a severity filter; a client that never reads does not stall the others', async () => {
    const { service, base, cid } = await startAlertManager('[]', { capacity: 50, highWaterBytes: 16 * 1024 });
    const wsUrl = `${base.replace('http', 'ws')}/events`;
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(wsUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('opened without a token')));
      ws.on('error', () => undefined);
    });
    assert.equal(status, 401);

    // A client that upgrades and then never reads a byte.
    const { port } = new URL(base);
    const stuck = connect(Number(port), '127.0.0.1');
    await new Promise<void>((r) => stuck.once('connect', () => r()));
    stuck.write(
      `GET /events?token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    // Its filter, as a masked client text frame: {} (everything).
    const payload = Buffer.from('{}');
    const mask = Buffer.from([1, 2, 3, 4]);
    stuck.write(
      Buffer.concat([
        Buffer.from([0x81, 0x80 | payload.length]),
        mask,
        payload.map((b, i) => b ^ (mask[i % 4] ?? 0)),
      ]),
    );
    stuck.pause();

    const critical: AnyScalewiseEvent[] = [];
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await new Promise<void>((r) => ws.once('open', () => r()));
    const subscribed = new Promise<void>((r) =>
      ws.on('message', (raw) => {
        const m = JSON.parse(String(raw)) as { kind: string; event?: AnyScalewiseEvent };
        if (m.kind === 'subscribed') r();
        if (m.kind === 'event' && m.event) critical.push(m.event);
      }),
    );
    ws.send(JSON.stringify({ severities: ['critical'] }));
    await subscribed;

    // 3,000 info events of 8 KiB each (24 MiB) overflow the stuck client's socket and buffer.
    const big = 'x'.repeat(8192);
    const infos = Array.from({ length: 3000 }, (_, i) => ({
      ...ev('io.scalewise.PoolMetricsObserved', { workers: i % 50 }, cid),
      subject: big,
    }));
    // Batches under the broker's 1 MiB record-batch limit.
    for (let i = 0; i < infos.length; i += 100)
      await service.bus.publisher.publish(...infos.slice(i, i + 100));
    const boom = ev('io.scalewise.EmergencyScaleUp', {}, cid);
    await service.bus.publisher.publish(boom);
    await waitFor(() => critical.some((e) => e.id === boom.id), {
      timeoutMs: 60_000,
      what: 'the critical event on the filtered client',
    });
    assert.ok(
      critical.every((e) => e.severity === 'critical'),
      'only critical events arrive',
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /scalewise_stream_clients(?:\{[^}]*\})? 2/);
    const skippedNow = async () =>
      Number(
        /scalewise_stream_events_skipped_total(?:\{[^}]*\})? (\d+)/.exec(
          await (await fetch(`${base}/metrics`)).text(),
        )?.[1] ?? 0,
      );
    // Dropped for the client that does not read, not waited for (the others got theirs above).
    await waitFor(async () => (await skippedNow()) > 0, {
      timeoutMs: 60_000,
      what: 'events skipped for the stuck client',
    });
    ws.close();
    stuck.destroy();
  });

  test('history and explain: query by pool and type; the chain of a decision with its numbers', async () => {
    const { service, base, cid } = await startAlertManager('[]');
    const auth = { authorization: `Bearer ${token}` };
    const pending = ev('io.scalewise.PendingPodsDetected', {}, cid);
    const decision = sampleChild(pending, 'io.scalewise.ScaleUpDecision');
    const started = sampleChild(decision, 'io.scalewise.ScaleUpStarted');
    await service.bus.publisher.publish(pending, decision, started);
    await waitFor(
      async () => {
        // Three topics, consumed in parallel: wait for the whole chain.
        const r = await fetch(`${base}/v1/events?correlationid=${pending.correlationid}`, { headers: auth });
        return r.ok && ((await r.json()) as { events: unknown[] }).events.length === 3;
      },
      { timeoutMs: 30_000, what: 'the events in the history' },
    );
    const byType = (await (
      await fetch(`${base}/v1/events?pool=workers&type=ScaleUpStarted`, { headers: auth })
    ).json()) as {
      events: AnyScalewiseEvent[];
    };
    assert.deepEqual(
      byType.events.map((e) => e.id),
      [started.id],
    );
    assert.equal((await fetch(`${base}/v1/events`)).status, 401);
    const x = (await (await fetch(`${base}/v1/explain/${decision.id}`, { headers: auth })).json()) as {
      chain: { event: AnyScalewiseEvent; depth: number }[];
    };
    assert.deepEqual(
      x.chain.map((l) => shortName(l.event.type)),
      ['PendingPodsDetected', 'ScaleUpDecision', 'ScaleUpStarted'],
    );
    assert.equal(
      (x.chain[1]?.event.data as { desired_workers?: number } | undefined)?.desired_workers,
      (decision.data as EventData<'io.scalewise.ScaleUpDecision'>).desired_workers,
    );
    const missing = await fetch(`${base}/v1/explain/nope`, { headers: auth });
    assert.equal(missing.status, 404);
    const bad = await fetch(`${base}/v1/events?from=yesterday`, { headers: auth });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /from: 'yesterday'/);
  });

  test('every route but the probes and the console page refuses without a token; only a write token writes', async () => {
    const { service } = await startAlertManager('[]');
    const results = await sweepRoutes({
      app: service.app,
      tokens: { read: viewerToken, write: token },
      // The console's page and assets: the same static files for everyone, loaded before sign-in.
      open: [
        ...kitOpenRoutes,
        'GET /',
        'HEAD /',
        'GET /console',
        'HEAD /console',
        'GET /console/*',
        'HEAD /console/*',
      ],
    });
    const routes = results.map((r) => r.route);
    for (const r of [
      'GET /events',
      'GET /v1/events',
      'GET /v1/events/:id',
      'GET /v1/explain/:id',
      'GET /v1/explain',
      'GET /v1/alerts',
      'GET /v1/silences',
      'POST /v1/silences',
      'DELETE /v1/silences/:id',
      'GET /console/api/pools',
    ]) {
      assert.ok(routes.includes(r), `${r} is swept`);
    }
    const silences = results.filter((r) => r.auth === 'write').map((r) => r.route);
    assert.deepEqual(silences.sort(), ['DELETE /v1/silences/:id', 'POST /v1/silences']);
  });

  test('creating and deleting a silence is audited in the history: who, which silence, how it ended', async () => {
    const { base } = await startAlertManager('[]');
    const post = (t: string) =>
      fetch(`${base}/v1/silences`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          endsAt: new Date(Date.now() + 3_600_000).toISOString(),
          pools: ['workers'],
          comment: 'upgrade',
        }),
      });
    const created = await post(token);
    assert.equal(created.status, 201);
    const silence = (await created.json()) as { id: string; createdBy: string };
    assert.equal(silence.createdBy, 'api', "the token's name when the body names nobody");
    assert.equal((await post(viewerToken)).status, 403);
    const del = await fetch(`${base}/v1/silences/${silence.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(del.status, 204);
    const audits = await waitFor(
      async () => {
        const r = await fetch(`${base}/v1/events?type=AuditRecorded`, {
          headers: { authorization: `Bearer ${viewerToken}` },
        });
        const { events } = (await r.json()) as { events: AnyScalewiseEvent[] };
        return events.length >= 3 ? events : undefined;
      },
      { timeoutMs: 30_000, what: 'three audit records in the history' },
    );
    const rows = audits.map((e) => {
      const d = e.data as EventData<'io.scalewise.AuditRecorded'>;
      return [d.actor, d.action, d.outcome, d.outcome === 'denied' ? '-' : d.target];
    });
    assert.deepEqual(
      rows.sort(),
      [
        ['api', 'silence.create', 'succeeded', silence.id],
        ['api', 'silence.delete', 'succeeded', silence.id],
        ['viewer', 'silence.create', 'denied', '-'],
      ].sort(),
    );
    const create = audits.find(
      (e) => (e.data as { action: string }).action === 'silence.create' && e.severity === 'info',
    );
    assert.ok(create, 'the create record');
    assert.deepEqual((create.data as EventData<'io.scalewise.AuditRecorded'>).details?.pools, ['workers']);
    // explain finds a record by its id like any other event.
    const x = await fetch(`${base}/v1/explain/${create.id}`, {
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    assert.equal(x.status, 200);
  });

  test('the WebSocket takes its token as a bearer.<token> subprotocol; no log line carries a token', async () => {
    const lines: string[] = [];
    const logs = new Writable({
      write(chunk, _e, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const { base } = await startAlertManager('[]', undefined, logs);
    const wsBase = base.replace('http', 'ws');
    const viaProtocol = new WebSocket(`${wsBase}/events`, ['scalewise.v1', `bearer.${viewerToken}`]);
    await new Promise<void>((resolve, reject) => {
      viaProtocol.once('open', () => resolve());
      viaProtocol.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    });
    assert.equal(viaProtocol.protocol, 'scalewise.v1', 'the server selects the protocol, never the token');
    viaProtocol.close();
    // A refused upgrade is answered, then its connection is closed (not left open).
    const refused = new WebSocket(`${wsBase}/events?token=not-a-token-0123456789`);
    const closed = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the refused connection stayed open 5 s')), 5000);
      refused.once('open', () => reject(new Error('opened with an unknown token')));
      refused.once('unexpected-response', (req, res) => {
        res.resume();
        req.once('error', () => undefined);
        // The client does not end it: the server does.
        res.socket.once('close', () => {
          clearTimeout(timer);
          resolve(res.statusCode ?? 0);
        });
      });
    });
    assert.equal(closed, 401);
    const viaQuery = new WebSocket(`${wsBase}/events?token=${viewerToken}`);
    await new Promise<void>((resolve) => viaQuery.once('open', () => resolve()));
    viaQuery.close();
    // An upgrade to a route that is no WebSocket: the plugin logs the path it closed.
    const stray = new WebSocket(`${wsBase}/v1/alerts?token=${viewerToken}`);
    await new Promise<void>((resolve) => {
      stray.once('close', () => resolve());
      stray.once('error', () => resolve());
    });
    await waitFor(() => lines.some((l) => l.includes('closed incoming websocket connection')), {
      timeoutMs: 10_000,
      what: "the plugin's log line",
    });
    const withToken = lines.filter((l) => l.includes(viewerToken) || l.includes(token));
    assert.deepEqual(withToken, [], 'no line carries a token');
    assert.ok(
      lines.some((l) => l.includes('/events?token=[redacted]')),
      'the request line names the URL, its token redacted',
    );
    assert.ok(
      lines.some((l) => l.includes('"token_name":"viewer"')),
      'the lines name the token',
    );
  });
});

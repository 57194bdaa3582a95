// Two alert-manager replicas of one cluster on the real Kafka, Redis and S3, each a service
// built as main.ts builds it, on its own port: a silence made through one holds for the alerts
// the other routes, each alert is delivered once across both, and a WebSocket client of either
// sees every event, whichever partition it is on.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { consumerGroupId, loadConfig, topicNames } from '@scalewise/config';
import {
  type AnyScalewiseEvent,
  createEvent,
  type EventData,
  type EventType,
  sampleData,
  topicOf,
} from '@scalewise/events';
import { createService, type Service } from '@scalewise/service';
import { getStack, type StackEndpoints, uniqueName, waitFor } from '@scalewise/testing';
import { WebSocket } from 'ws';
import type { AlertManager } from './app.ts';
import { defineAlertManager } from './service.ts';
import { alertManagerYaml } from './test-support.ts';

const quiet = new Writable({ write: (_c, _e, done) => done() });
const token = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${token}` };
const PARTITIONS = 3;
let stack: StackEndpoints;
const running: Service[] = [];
const servers: Server[] = [];

before(async () => {
  stack = await getStack();
});
after(async () => {
  await Promise.all(running.map((s) => s.stop().catch(() => undefined)));
  for (const s of servers) s.close();
});

/** A local webhook receiver recording every notification it is sent. */
async function receiver(): Promise<{ url: string; hits: { alert: { key: string }; status: string }[] }> {
  const hits: { alert: { key: string }; status: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      hits.push(JSON.parse(data || '{}'));
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`, hits };
}

interface Replica {
  service: Service;
  am: AlertManager;
  base: string;
}

/** Two replicas of one cluster (one config), started one after the other like a rollout. */
async function twoReplicas(sinks: string) {
  const prefix = `${uniqueName('amr')}.`;
  const cid = uniqueName('c');
  const text = alertManagerYaml(stack, {
    clusterId: cid,
    prefix,
    sinks,
    partitions: PARTITIONS,
    servers: { apiToken: token },
  });
  const replicas: Replica[] = [];
  for (let i = 0; i < 2; i += 1) {
    const def = defineAlertManager({
      config: loadConfig({ text }),
      fromBeginning: true,
      telemetry: { logDestination: quiet },
    });
    const service = await createService(def);
    running.push(service);
    await service.start();
    const base = await service.listen();
    const am = def.alertManager();
    assert.ok(am, 'the alert manager is built at start');
    replicas.push({ service, am, base });
  }
  const [a, b] = replicas as [Replica, Replica];
  const config = a.service.config;
  // Both replicas in both shared groups before anything is published: each owns partitions.
  const admin = a.service.bus.kafka.admin();
  await admin.connect();
  const shared = [consumerGroupId(config, 'alert-manager')];
  // Without sinks there is nothing to notify, and no notification group.
  if (config.alerts.sinks.length > 0) shared.push(consumerGroupId(config, 'alert-manager-notify'));
  try {
    await waitFor(
      async () => {
        const { groups } = await admin.describeGroups(shared);
        return groups.every((g) => g.state === 'Stable' && g.members.length === 2);
      },
      { timeoutMs: 60_000, what: 'both replicas in the shared groups, stable' },
    );
  } finally {
    await admin.disconnect();
  }
  return { a, b, cid, config };
}

const ev = <T extends EventType>(type: T, data: Partial<EventData<T>>, cid: string) =>
  createEvent(type, { ...sampleData[type], ...data } as EventData<T>, {
    source: '/scalewise/test',
    clusterid: cid,
  }) as AnyScalewiseEvent;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A probe's "not yet", saying how far it got (the cause of waitFor's timeout error). */
const notYet = (progress: string): never => {
  throw new Error(progress);
};

/** Records per partition of one topic (a topic of this test's prefix: only its records). */
async function perPartition(service: Service, topic: string): Promise<number[]> {
  const admin = service.bus.kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((x, y) => x.partition - y.partition).map((o) => Number(o.high) - Number(o.low));
  } finally {
    await admin.disconnect();
  }
}

/** A WebSocket client with the filter {} (every event), subscribed. */
async function streamClient(base: string): Promise<{ ids: Set<string>; close(): void }> {
  const ids = new Set<string>();
  const ws = new WebSocket(`${base.replace('http', 'ws')}/events`, { headers: auth });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
  });
  const subscribed = new Promise<void>((resolve) =>
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { kind: string; event?: AnyScalewiseEvent };
      if (m.kind === 'subscribed') resolve();
      if (m.kind === 'event' && m.event) ids.add(m.event.id);
    }),
  );
  ws.send('{}');
  await subscribed;
  return { ids, close: () => ws.close() };
}

// Fixed pool names, so their partitions are the same every run (murmur2 of the key); the
// tests check that they cover every partition rather than trust it.
const pools = (stem: string) => Array.from({ length: 12 }, (_, i) => `${stem}-${i}`);

describe('alert-manager scaled out to two replicas', () => {
  test('a WebSocket client of each replica sees every event of a burst over every partition', async () => {
    const { a, b, cid, config } = await twoReplicas('[]');
    const onA = await streamClient(a.base);
    const onB = await streamClient(b.base);
    const burst = pools('burst').flatMap((pool) =>
      Array.from({ length: 5 }, (_, i) => ev('io.scalewise.PoolMetricsObserved', { pool, workers: i }, cid)),
    );
    await a.service.bus.publisher.publish(...burst);
    const spread = await perPartition(
      a.service,
      topicNames(config)[topicOf('io.scalewise.PoolMetricsObserved')],
    );
    assert.equal(spread.length, PARTITIONS);
    assert.ok(
      spread.every((n) => n > 0),
      `the burst is on every partition: ${spread}`,
    );
    const all = burst.map((e) => e.id);
    await waitFor(
      () =>
        all.every((id) => onA.ids.has(id) && onB.ids.has(id)) ||
        notYet(
          `A has ${all.filter((id) => onA.ids.has(id)).length}, ` +
            `B ${all.filter((id) => onB.ids.has(id)).length} of ${all.length}`,
        ),
      { timeoutMs: 30_000, what: 'every event of the burst on both clients' },
    );
    // Each replica reads the stream in a group of its own; the history is written once.
    assert.notEqual(a.am.liveFeed.groupId, b.am.liveFeed.groupId);
    const history = await waitFor(
      async () => {
        const r = await fetch(`${b.base}/v1/events?type=PoolMetricsObserved&limit=5000`, { headers: auth });
        const { events } = (await r.json()) as { events: AnyScalewiseEvent[] };
        return events.length >= all.length ? events : notYet(`${events.length} of ${all.length}`);
      },
      { timeoutMs: 30_000, what: 'the burst in the history' },
    );
    await settle(1000);
    const stored = (await (
      await fetch(`${b.base}/v1/events?type=PoolMetricsObserved&limit=5000`, { headers: auth })
    ).json()) as { events: AnyScalewiseEvent[] };
    assert.equal(history.length, all.length);
    assert.deepEqual(
      stored.events.map((e) => e.id).sort(),
      [...all].sort(),
      'each event in the history once',
    );
    onA.close();
    onB.close();
  });

  test('a silence made through one replica holds on the other; each alert is delivered once across both', async () => {
    const rx = await receiver();
    const { a, b, cid, config } = await twoReplicas(`[{ name: ops, kind: webhook, url: "${rx.url}" }]`);
    const silenced = pools('quiet');
    const created = await fetch(`${a.base}/v1/silences`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ endsAt: Date.now() + 3_600_000, pools: silenced, comment: 'maintenance' }),
    });
    assert.equal(created.status, 201);
    const silence = (await created.json()) as { id: string };
    const listed = (await (await fetch(`${b.base}/v1/silences`, { headers: auth })).json()) as {
      silences: { id: string }[];
    };
    assert.deepEqual(
      listed.silences.map((s) => s.id),
      [silence.id],
      'the other replica lists it',
    );

    const violation = (pool: string) => ev('io.scalewise.MinimumNodesViolation', { pool }, cid);
    const loud = pools('loud');
    await a.service.bus.publisher.publish(...silenced.map(violation), ...loud.map(violation));
    const topic = topicNames(config)[topicOf('io.scalewise.MinimumNodesViolation')];
    const spread = await perPartition(a.service, topic);
    assert.ok(
      spread.every((n) => n > 0),
      `the alerts are on every partition: ${spread}`,
    );

    await waitFor(() => rx.hits.length >= loud.length || notYet(`${rx.hits.length} of ${loud.length}`), {
      timeoutMs: 30_000,
      what: 'a notification per unsilenced pool',
    });
    await waitFor(
      () =>
        a.am.routing.silenced + b.am.routing.silenced >= silenced.length ||
        notYet(`A ${a.am.routing.silenced}, B ${b.am.routing.silenced} of ${silenced.length}`),
      { timeoutMs: 30_000, what: 'every silenced alert routed' },
    );
    // Redeliveries, a late duplicate: give them time to show.
    await settle(2000);
    const keys = rx.hits.map((h) => h.alert.key).sort();
    assert.deepEqual(
      keys,
      loud.map((p) => `${p}/io.scalewise.MinimumNodesViolation`).sort(),
      'once each, none silenced',
    );
    // Both replicas routed some of each: the silence made through A held on B.
    assert.equal(a.am.routing.silenced + b.am.routing.silenced, silenced.length);
    assert.ok(a.am.routing.silenced > 0 && b.am.routing.silenced > 0, 'both replicas routed silenced alerts');
    const sentBy = (r: Replica) => r.am.routing.sent.get('ops')?.length ?? 0;
    assert.ok(sentBy(a) > 0 && sentBy(b) > 0, `both replicas delivered: A ${sentBy(a)}, B ${sentBy(b)}`);
    assert.equal(sentBy(a) + sentBy(b), loud.length);

    // Deleted through B: gone for A, and audited (in the history both share).
    const del = await fetch(`${b.base}/v1/silences/${silence.id}`, { method: 'DELETE', headers: auth });
    assert.equal(del.status, 204);
    const after = (await (await fetch(`${a.base}/v1/silences`, { headers: auth })).json()) as {
      silences: unknown[];
    };
    assert.deepEqual(after.silences, []);
    const again = await fetch(`${a.base}/v1/silences/${silence.id}`, { method: 'DELETE', headers: auth });
    assert.equal(again.status, 404);
    const audits = await waitFor(
      async () => {
        const r = await fetch(`${a.base}/v1/events?type=AuditRecorded`, { headers: auth });
        const { events } = (await r.json()) as { events: AnyScalewiseEvent[] };
        return events.length >= 3 ? events : notYet(`${events.length} of 3`);
      },
      { timeoutMs: 30_000, what: 'the three audit records' },
    );
    assert.deepEqual(
      audits
        .map((e) => {
          const d = e.data as EventData<'io.scalewise.AuditRecorded'>;
          return [d.action, d.outcome, d.outcome === 'succeeded' ? d.target : '-'];
        })
        .sort(),
      [
        ['silence.create', 'succeeded', silence.id],
        ['silence.delete', 'failed', '-'],
        ['silence.delete', 'succeeded', silence.id],
      ],
    );
  });

  test('a silence ends at its endsAt on every replica', async () => {
    const rx = await receiver();
    const { a, b, cid } = await twoReplicas(`[{ name: ops, kind: webhook, url: "${rx.url}" }]`);
    const endsAt = Date.now() + 3000;
    const created = await fetch(`${b.base}/v1/silences`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ endsAt, pools: ['brief'], comment: 'a short one' }),
    });
    assert.equal(created.status, 201);
    const listed = async (r: Replica) =>
      ((await (await fetch(`${r.base}/v1/silences`, { headers: auth })).json()) as { silences: unknown[] })
        .silences.length;
    assert.equal(await listed(a), 1);
    await settle(Math.max(0, endsAt - Date.now()) + 100);
    assert.equal(await listed(a), 0, 'ended: not listed by A');
    assert.equal(await listed(b), 0, 'ended: not listed by B');
    await a.service.bus.publisher.publish(ev('io.scalewise.MinimumNodesViolation', { pool: 'brief' }, cid));
    await waitFor(() => rx.hits.length === 1, { timeoutMs: 30_000, what: 'the alert, no longer silenced' });
    assert.equal(rx.hits[0]?.alert.key, 'brief/io.scalewise.MinimumNodesViolation');
    assert.equal(a.am.routing.silenced + b.am.routing.silenced, 0);
  });
});

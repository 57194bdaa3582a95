// The bus against the real Kafka, Redis and S3 of the harness. Each test has its own topic
// prefix, consumer group and bucket.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import {
  type AnyScalewiseEvent,
  createEvent,
  type EventType,
  eventTypes,
  sampleData,
  sampleEvents,
  toKafkaMessage,
  topicName,
} from '@scalewise/events';
import { getStack, type StackEndpoints, uniqueName, waitFor } from '@scalewise/testing';
import { logLevel } from 'kafkajs';
import { type Bus, type BusConfig, createBus } from './bus.ts';
import type { HandlerRegistry } from './subscriber.ts';
import { startTcpProxy } from './test-support/tcp-proxy.ts';

let stack: StackEndpoints;
const buses: Bus[] = [];

before(async () => {
  stack = await getStack();
});
after(async () => {
  await Promise.all(buses.map((b) => b.stop(10_000).catch(() => undefined)));
});

function testBus(overrides: Partial<BusConfig> = {}): { bus: Bus; prefix: string } {
  const prefix = `${uniqueName('bus')}.`;
  const bus = createBus({
    service: 'bus-test',
    clusterid: 'local',
    kafka: { clientId: uniqueName('bus-client'), brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING },
    redis: { url: stack.redis.url },
    s3: { ...stack.s3, bucket: uniqueName('dlq') },
    topicPrefix: prefix,
    partitions: 3,
    retry: { maxAttempts: 3, baseMs: 10, maxMs: 50 },
    breakers: { resetTimeoutMs: 500, volumeThreshold: 2 },
    ...overrides,
  });
  buses.push(bus);
  return { bus, prefix };
}

/** A handler for every type that records what it got. */
function recordAll(into: AnyScalewiseEvent[]): HandlerRegistry<EventType> {
  return Object.fromEntries(
    eventTypes.map((t) => [
      t,
      (e: AnyScalewiseEvent) => {
        into.push(e);
      },
    ]),
  ) as unknown as HandlerRegistry<EventType>;
}

async function committedOffsets(bus: Bus, groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = bus.kafka.admin();
  await admin.connect();
  try {
    const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((res?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

async function rawProducer(bus: Bus) {
  const p = bus.kafka.producer();
  await p.connect();
  return p;
}

describe('bus', () => {
  test('every catalogue type round-trips through the codec and the broker', async () => {
    const { bus } = testBus();
    await bus.start();
    const got: AnyScalewiseEvent[] = [];
    const sub = bus.subscribe({
      groupId: uniqueName('g'),
      handlers: recordAll(got),
      fromBeginning: true,
      topics: ['metrics', 'signals', 'nodes', 'decisions', 'actions', 'state', 'triggers', 'dlq'],
    });
    await sub.start();
    const sent = sampleEvents();
    await bus.publisher.publish(...sent);
    await waitFor(() => got.length >= sent.length, { timeoutMs: 30_000, what: 'all events consumed' });
    const byId = new Map(got.map((e) => [e.id, e]));
    for (const e of sent) assert.deepEqual(byId.get(e.id), e, e.type);
  });

  test('a record written by kcat with ce_ headers is decoded and handled', async () => {
    const { bus, prefix } = testBus();
    await bus.start();
    const got: AnyScalewiseEvent[] = [];
    const sub = bus.subscribe({
      groupId: uniqueName('g'),
      fromBeginning: true,
      handlers: { 'io.scalewise.trigger.scale': (e) => void got.push(e as AnyScalewiseEvent) },
    });
    await sub.start();
    const payload = JSON.stringify({ pool: 'workers', action: 'scale_up', count: 2, task_id: 'task-123' });
    const topic = topicName('triggers', prefix);
    const headers = [
      'ce_specversion=1.0',
      'ce_id=kcat-1',
      'ce_type=io.scalewise.trigger.scale',
      'ce_source=/ops/kcat',
      'ce_clusterid=local',
      'content-type=application/json',
    ];
    const kcat = execFile('kcat', [
      '-P',
      '-b',
      stack.kafka.brokers[0] as string,
      '-t',
      topic,
      '-k',
      'workers',
      ...headers.flatMap((h) => ['-H', h]),
    ]);
    kcat.stdin?.end(payload);
    await new Promise<void>((resolve, reject) =>
      kcat.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited ${code}`)))),
    );
    await waitFor(() => got.length >= 1, { timeoutMs: 20_000, what: 'kcat record handled' });
    assert.equal(got[0]?.id, 'kcat-1');
    assert.deepEqual(got[0]?.data, { pool: 'workers', action: 'scale_up', count: 2, task_id: 'task-123' });
    assert.equal(got.length, 1);
  });

  test('poison records go to the DLQ with the reason, the offset advances and the next record is handled', async () => {
    const { bus, prefix } = testBus();
    await bus.start();
    const groupId = uniqueName('g');
    const got: AnyScalewiseEvent[] = [];
    const recorded: AnyScalewiseEvent[] = [];
    const sub = bus.subscribe({
      groupId,
      fromBeginning: true,
      handlers: { 'io.scalewise.trigger.pause': (e) => void got.push(e as AnyScalewiseEvent) },
    });
    const watcher = bus.subscribe({
      groupId: uniqueName('dlq-watch'),
      fromBeginning: true,
      handlers: { 'io.scalewise.DeadLetterRecorded': (e) => void recorded.push(e as AnyScalewiseEvent) },
    });
    await sub.start();
    await watcher.start();
    const topic = topicName('triggers', prefix);
    const good = toKafkaMessage(
      createEvent('io.scalewise.trigger.pause', { pool: 'workers' }, { source: '/t', clusterid: 'local' }),
    );
    const producer = await rawProducer(bus);
    // One partition key: all four land in one partition, in this order.
    await producer.send({
      topic,
      messages: [
        { ...good, value: Buffer.from('{"pool": ') },
        { ...good, headers: { ...good.headers, ce_id: 'u-1', ce_type: 'io.scalewise.Nope' } },
        { ...good, headers: { ...good.headers, ce_id: 's-1' }, value: Buffer.from('{"pool": ""}') },
        good,
      ],
    });
    await producer.disconnect();
    await waitFor(() => got.length === 1 && recorded.length === 3, {
      timeoutMs: 30_000,
      what: '3 dead letters and the good record',
    });
    const codes = recorded.map((e) => (e.data as { error_code: string }).error_code).sort();
    assert.deepEqual(codes, ['MALFORMED_RECORD', 'SCHEMA_VIOLATION', 'UNKNOWN_EVENT_TYPE']);
    const objects = await bus.dlq.list({ topic });
    assert.equal(objects.length, 3);
    const letters = await Promise.all(objects.map((o) => bus.dlq.get(o.key)));
    const bad = letters.find((l) => l.error.code === 'MALFORMED_RECORD');
    assert.match(bad?.error.message ?? '', /not valid JSON/);
    assert.equal(Buffer.from(bad?.record.value_base64 ?? '', 'base64').toString(), '{"pool": ');
    assert.equal(bad?.consumer_group, groupId);
    assert.match(letters.find((l) => l.error.code === 'SCHEMA_VIOLATION')?.error.message ?? '', /data\.pool/);
    await waitFor(
      async () => {
        const offsets = await committedOffsets(bus, groupId, topic);
        return [...offsets.values()].some((o) => o === '4');
      },
      { timeoutMs: 15_000, what: 'offset 4 committed' },
    );
  });

  test('a handler that fails twice then succeeds is handled once and nothing is dead-lettered', async () => {
    const { bus, prefix } = testBus();
    await bus.start();
    let calls = 0;
    let handled = 0;
    const sub = bus.subscribe({
      groupId: uniqueName('g'),
      fromBeginning: true,
      handlers: {
        'io.scalewise.trigger.resume': () => {
          calls += 1;
          if (calls <= 2) throw new Error(`flaky ${calls}`);
          handled += 1;
        },
      },
    });
    await sub.start();
    await bus.publisher.publish(
      createEvent('io.scalewise.trigger.resume', { pool: 'workers' }, { source: '/t', clusterid: 'local' }),
    );
    await waitFor(() => handled === 1, { timeoutMs: 20_000, what: 'handled after two failures' });
    assert.equal(calls, 3);
    assert.deepEqual(await bus.dlq.list({ topic: topicName('triggers', prefix) }), []);
  });

  test('a redelivered event runs its handler once', async () => {
    const { bus } = testBus();
    await bus.start();
    let handled = 0;
    const sub = bus.subscribe({
      groupId: uniqueName('g'),
      fromBeginning: true,
      handlers: {
        'io.scalewise.NodeReady': () => {
          handled += 1;
        },
      },
    });
    await sub.start();
    const e = createEvent('io.scalewise.NodeReady', sampleData['io.scalewise.NodeReady'], {
      source: '/t',
      clusterid: 'local',
    });
    const marker = createEvent(
      'io.scalewise.NodeReady',
      { ...sampleData['io.scalewise.NodeReady'], node_name: 'marker' },
      { source: '/t', clusterid: 'local' },
    );
    await bus.publisher.publish(e, e, e, marker);
    await waitFor(() => handled >= 2, { timeoutMs: 20_000, what: 'event and marker handled' });
    assert.equal(handled, 2);
  });

  test('S3 down while a poison record arrives: the partition pauses and nothing is committed; S3 back: stored and resumed', async () => {
    const s3url = new URL(stack.s3.endpoint);
    const proxy = await startTcpProxy({ host: s3url.hostname, port: Number(s3url.port) });
    try {
      const { bus, prefix } = testBus({
        s3: { ...stack.s3, endpoint: `http://${proxy.address}`, bucket: uniqueName('dlq') },
      });
      await bus.start();
      const groupId = uniqueName('g');
      const got: string[] = [];
      const sub = bus.subscribe({
        groupId,
        fromBeginning: true,
        handlers: { 'io.scalewise.trigger.pause': (e) => void got.push(e.id) },
      });
      await sub.start();
      const topic = topicName('triggers', prefix);
      await proxy.cut();
      const good = toKafkaMessage(
        createEvent('io.scalewise.trigger.pause', { pool: 'workers' }, { source: '/t', clusterid: 'local' }),
      );
      const producer = await rawProducer(bus);
      await producer.send({ topic, messages: [{ ...good, value: Buffer.from('not json') }, good] });
      await producer.disconnect();
      await waitFor(() => sub.paused().length === 1, { timeoutMs: 30_000, what: 'partition paused' });
      await new Promise((r) => setTimeout(r, 1500));
      const before = await committedOffsets(bus, groupId, topic);
      assert.ok(
        ![...before.values()].some((o) => Number(o) > 0),
        `nothing committed while S3 is down: ${[...before.values()]}`,
      );
      assert.deepEqual(got, [], 'the record behind the poison one waits');
      await proxy.restore();
      await waitFor(() => got.length === 1, { timeoutMs: 60_000, what: 'consumption resumed' });
      assert.equal(sub.paused().length, 0);
      const objects = await bus.dlq.list({ topic });
      assert.equal(objects.length, 1);
      await waitFor(async () => [...(await committedOffsets(bus, groupId, topic)).values()].includes('2'), {
        timeoutMs: 15_000,
        what: 'offset 2 committed',
      });
    } finally {
      await proxy.close();
    }
  });
});

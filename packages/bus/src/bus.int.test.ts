// The bus against the real Kafka, Redis and S3 of the harness. Each test has its own topic
// prefix, consumer group and bucket.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import {
  type AnyScalewiseEvent,
  createEvent,
  type EventType,
  eventTypes,
  sampleData,
  sampleEvents,
  toKafkaMessage,
  topicKeys,
  topicName,
} from '@scalewise/events';
import { integrationFixture, uniqueName, waitFor } from '@scalewise/testing';
import { type Bus, type BusConfig, createBus } from './bus.ts';
import { type HandlerRegistry, handlersFor } from './subscriber.ts';
import { startTcpProxy, type TcpProxy } from './test-support/tcp-proxy.ts';
import { subscribed, testBusConfig } from './test-support/test-bus.ts';

const fx = integrationFixture();

function testBus(overrides: Partial<BusConfig> = {}): { bus: Bus; prefix: string } {
  const config = testBusConfig(fx.stack, 'bus-test', 'bus', {
    retry: { maxAttempts: 3, baseMs: 10, maxMs: 50 },
    breakers: { resetTimeoutMs: 500, volumeThreshold: 2 },
    ...overrides,
  });
  const bus = createBus(config);
  fx.defer(() => bus.stop(10_000));
  return { bus, prefix: config.topicPrefix };
}

/**
 * Runs `body` with a bus of its own whose S3 (the dead letters) is reached through a TCP proxy
 * that the test cuts and restores; the proxy is closed when `body` ends.
 */
async function withS3Proxy(body: (t: { bus: Bus; prefix: string; proxy: TcpProxy }) => Promise<void>) {
  const s3url = new URL(fx.stack.s3.endpoint);
  const proxy = await startTcpProxy({ host: s3url.hostname, port: Number(s3url.port) });
  try {
    const { bus, prefix } = testBus({
      s3: { ...fx.stack.s3, endpoint: `http://${proxy.address}`, bucket: uniqueName('dlq') },
    });
    await bus.start();
    await body({ bus, prefix, proxy });
  } finally {
    await proxy.close();
  }
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

/** A subscription of a group of its own to `types` that keeps every event it handles in `got`. */
async function collecting(bus: Bus, types: readonly EventType[]) {
  const groupId = uniqueName('g');
  const got: AnyScalewiseEvent[] = [];
  const sub = await subscribed(
    bus,
    handlersFor(types, (e) => void got.push(e as AnyScalewiseEvent)),
    { groupId },
  );
  return { groupId, got, sub };
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
      topics: topicKeys,
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
    await subscribed(bus, {
      'io.scalewise.trigger.scale': (e) => void got.push(e as AnyScalewiseEvent),
    });
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
      fx.stack.kafka.brokers[0] as string,
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
    // One partition key: all five land in one partition, in this order.
    await producer.send({
      topic,
      messages: [
        { ...good, value: Buffer.from('{"pool": ') },
        { ...good, headers: { ...good.headers, ce_id: 'u-1', ce_type: 'io.scalewise.Nope' } },
        {
          ...good,
          headers: { ...good.headers, ce_id: 's-1', ce_type: 'io.scalewise.NodeUnexpectedlyLost' },
          value: Buffer.from('{"pool": ""}'),
        },
        // A trigger whose data breaks its schema is a trigger all the same: handled (the
        // decision-engine answers it with TriggerRejected), not dead-lettered.
        { ...good, headers: { ...good.headers, ce_id: 't-1' }, value: Buffer.from('{"pool": ""}') },
        good,
      ],
    });
    await producer.disconnect();
    await waitFor(() => got.length === 2 && recorded.length === 3, {
      timeoutMs: 30_000,
      what: '3 dead letters, the bad trigger and the good record',
    });
    assert.deepEqual(
      got.map((e) => [e.id, e.data]),
      [
        ['t-1', { pool: '' }],
        [good.headers.ce_id, { pool: 'workers' }],
      ],
    );
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
        return [...offsets.values()].some((o) => o === '5');
      },
      { timeoutMs: 15_000, what: 'offset 5 committed' },
    );
  });

  test('a handler that fails twice then succeeds is handled once and nothing is dead-lettered', async () => {
    const { bus, prefix } = testBus();
    await bus.start();
    let calls = 0;
    let handled = 0;
    await subscribed(bus, {
      'io.scalewise.trigger.resume': () => {
        calls += 1;
        if (calls <= 2) throw new Error(`flaky ${calls}`);
        handled += 1;
      },
    });
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
    await subscribed(bus, {
      'io.scalewise.NodeReady': () => {
        handled += 1;
      },
    });
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

  test('S3 down while a poison record arrives: the partition pauses and nothing is committed; S3 back: stored and resumed', () =>
    withS3Proxy(async ({ bus, prefix, proxy }) => {
      const { groupId, got, sub } = await collecting(bus, ['io.scalewise.trigger.pause']);
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
      // The handler runs before its batch is flushed; the partition counts as unblocked once
      // the record behind the poison one is marked and its offset resolved.
      await waitFor(() => sub.paused().length === 0, { timeoutMs: 15_000, what: 'partition unblocked' });
      const objects = await bus.dlq.list({ topic });
      assert.equal(objects.length, 1);
      await waitFor(async () => [...(await committedOffsets(bus, groupId, topic)).values()].includes('2'), {
        timeoutMs: 15_000,
        what: 'offset 2 committed',
      });
    }));

  test('S3 down while a poison record waits: other partitions and topics go on; S3 back: stored once, the rest handled', () =>
    withS3Proxy(async ({ bus, prefix, proxy }) => {
      const { groupId, got, sub } = await collecting(bus, [
        'io.scalewise.trigger.pause',
        'io.scalewise.NodeReady',
      ]);
      const triggers = topicName('triggers', prefix);
      const pause = (pool: string) =>
        toKafkaMessage(
          createEvent('io.scalewise.trigger.pause', { pool }, { source: '/t', clusterid: 'local' }),
        );
      await proxy.cut();
      const producer = await rawProducer(bus);
      // The poison record and the one behind it share pool a's partition; pool b and the
      // nodes topic are elsewhere.
      const [p0, p1, p2] = [0, 1, 2];
      await producer.send({
        topic: triggers,
        messages: [
          { ...pause('a'), value: Buffer.from('not json'), partition: p0 },
          { ...pause('a'), partition: p0 },
          { ...pause('b'), partition: p1 },
          { ...pause('c'), partition: p2 },
        ],
      });
      const ready = createEvent(
        'io.scalewise.NodeReady',
        { ...sampleData['io.scalewise.NodeReady'], pool: 'a' },
        { source: '/t', clusterid: 'local' },
      );
      await bus.publisher.publish(ready);
      await waitFor(() => got.length === 3, {
        timeoutMs: 30_000,
        what: 'the records not behind the poison one',
      });
      assert.deepEqual(
        got.map((e) => e.partitionkey).sort(),
        ['a', 'b', 'c'],
        'pool b and c triggers and the NodeReady of a handled while S3 is down',
      );
      assert.equal(
        got.filter((e) => e.type === 'io.scalewise.trigger.pause' && e.partitionkey === 'a').length,
        0,
      );
      const paused = sub.paused();
      assert.deepEqual(
        paused.map((p) => [p.topic, p.partition, p.offset, p.waiting]),
        [[triggers, p0, '0', 'storing a dead letter']],
      );
      const offsets = await committedOffsets(bus, groupId, triggers);
      assert.equal(offsets.get(p0) ?? '-1', '-1', 'nothing committed past the waiting record');
      await proxy.restore();
      await waitFor(() => got.length === 4, { timeoutMs: 60_000, what: 'the record behind the poison one' });
      assert.deepEqual(sub.paused(), []);
      assert.equal((await bus.dlq.list({ topic: triggers })).length, 1);
      await producer.disconnect();
    }));

  test('one dead letter per record: a group that does not own the topic skips the undecodable record', async () => {
    const { bus, prefix } = testBus();
    await bus.start();
    const owner: AnyScalewiseEvent[] = [];
    const observer: AnyScalewiseEvent[] = [];
    const recorded: AnyScalewiseEvent[] = [];
    const handlers = (into: AnyScalewiseEvent[]) => ({
      'io.scalewise.trigger.pause': (e: AnyScalewiseEvent) => void into.push(e),
    });
    const subs = [
      bus.subscribe({ groupId: uniqueName('owner'), fromBeginning: true, handlers: handlers(owner) }),
      bus.subscribe({
        groupId: uniqueName('observer'),
        fromBeginning: true,
        handlers: handlers(observer),
        ownsTopic: (t) => t !== 'triggers',
      }),
      bus.subscribe({
        groupId: uniqueName('dlq-watch'),
        fromBeginning: true,
        handlers: { 'io.scalewise.DeadLetterRecorded': (e) => void recorded.push(e as AnyScalewiseEvent) },
      }),
    ];
    for (const sub of subs) await sub.start();
    const topic = topicName('triggers', prefix);
    const good = toKafkaMessage(
      createEvent('io.scalewise.trigger.pause', { pool: 'workers' }, { source: '/t', clusterid: 'local' }),
    );
    const producer = await rawProducer(bus);
    await producer.send({ topic, messages: [{ ...good, value: Buffer.from('{"pool": ') }, good] });
    await producer.disconnect();
    await waitFor(() => owner.length === 1 && observer.length === 1 && recorded.length >= 1, {
      timeoutMs: 30_000,
      what: 'the good record in both groups and a dead letter',
    });
    // Time for a second dead letter, were there one.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(recorded.length, 1);
    assert.equal((await bus.dlq.list({ topic })).length, 1);
  });

  test('a handler failing on a dependency pauses its partition, never dead-letters; handled once it recovers', async () => {
    const { bus, prefix } = testBus();
    await bus.start();
    let down = true;
    const got: string[] = [];
    const sub = await subscribed(bus, {
      'io.scalewise.trigger.pause': (e) => {
        if (down) throw new ScalewiseError('CIRCUIT_OPEN', 'redis: circuit open');
        got.push(e.id);
      },
    });
    const e = createEvent(
      'io.scalewise.trigger.pause',
      { pool: 'workers' },
      { source: '/t', clusterid: 'local' },
    );
    await bus.publisher.publish(e);
    await waitFor(() => sub.paused().length === 1, { timeoutMs: 30_000, what: 'partition paused' });
    assert.equal(sub.paused()[0]?.waiting, 'handling io.scalewise.trigger.pause');
    down = false;
    await waitFor(() => got.length === 1, { timeoutMs: 30_000, what: 'handled after recovery' });
    assert.deepEqual(got, [e.id]);
    assert.deepEqual(sub.paused(), []);
    assert.equal((await bus.dlq.list({ topic: topicName('triggers', prefix) })).length, 0);
  });

  test('a batch stopped by a record that waits: the records before it are committed with their outputs, the rest wait behind it', async () => {
    const { bus, prefix } = testBus();
    await bus.start();
    const inputs = Array.from({ length: 5 }, (_, i) =>
      createEvent(
        'io.scalewise.trigger.pause',
        { pool: 'workers', reason: `r${i}` },
        { source: '/t', clusterid: 'local', id: `in-${uniqueName('e')}-${i}` },
      ),
    );
    const stopAt = inputs[2]?.id;
    let down = true;
    const got: string[] = [];
    const outputs: string[] = [];
    const groupId = uniqueName('g');
    const sub = bus.subscribe({
      groupId,
      fromBeginning: true,
      handlers: {
        'io.scalewise.trigger.pause': (e) => {
          if (down && e.id === stopAt) throw new ScalewiseError('CIRCUIT_OPEN', 'redis: circuit open');
          got.push(e.id);
          return [
            createEvent(
              'io.scalewise.NodeReady',
              { ...sampleData['io.scalewise.NodeReady'], node_name: e.id },
              { source: '/t', clusterid: 'local', id: `out-${e.id}` },
            ),
          ];
        },
      },
    });
    const watcher = bus.subscribe({
      groupId: uniqueName('watch'),
      fromBeginning: true,
      handlers: { 'io.scalewise.NodeReady': (e) => void outputs.push(e.id) },
    });
    await sub.start();
    await watcher.start();
    await bus.publisher.publish(...inputs);
    await waitFor(() => sub.paused().length === 1, { timeoutMs: 30_000, what: 'partition paused' });
    const ids = inputs.map((e) => e.id);
    assert.deepEqual(got, ids.slice(0, 2), 'the records before the one that waits were handled, none after');
    await waitFor(() => outputs.length >= 2, { timeoutMs: 30_000, what: 'the first two outputs' });
    assert.deepEqual(
      outputs.sort(),
      ids
        .slice(0, 2)
        .map((id) => `out-${id}`)
        .sort(),
    );
    const committed = await committedOffsets(bus, groupId, topicName('triggers', prefix));
    assert.deepEqual(
      [...committed.values()].filter((o) => o !== '-1'),
      ['2'],
      'committed up to the record that waits, not past it',
    );
    down = false;
    await waitFor(() => got.length === 5, { timeoutMs: 30_000, what: 'the rest handled once resumed' });
    assert.deepEqual(got, ids, 'in partition order, each once');
    await waitFor(() => outputs.length >= 5, { timeoutMs: 30_000, what: 'all outputs' });
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(outputs.sort(), ids.map((id) => `out-${id}`).sort(), 'each output once');
  });
});

// Replay against the real broker and S3.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AnyScalewiseEvent,
  createEvent,
  sampleData,
  toKafkaMessage,
  topicName,
} from '@scalewise/events';
import { integrationFixture, waitFor } from '@scalewise/testing';
import { createBus } from './bus.ts';
import { replay, replayDeadLetter, replayIntoTopic } from './replay.ts';
import { subscribed, testBusConfig } from './test-support/test-bus.ts';

const fx = integrationFixture();

function testBus() {
  const config = testBusConfig(fx.stack, 'replay-test', 'replay', {
    retry: { maxAttempts: 2, baseMs: 10, maxMs: 20 },
  });
  const bus = createBus(config);
  fx.defer(() => bus.stop(10_000));
  return { bus, prefix: config.topicPrefix };
}

const base = Date.now() - 3_600_000;
const at = (s: number) => new Date(base + s * 1000).toISOString();

test('replay of a time range re-delivers exactly the selected events, marked replayof', async () => {
  const { bus, prefix } = testBus();
  await bus.start();
  const topic = topicName('nodes', prefix);
  const events = [0, 1, 2, 3, 4, 5].map((s) =>
    createEvent(
      s % 2 === 0 ? 'io.scalewise.NodeReady' : 'io.scalewise.NodeCreated',
      (s % 2 === 0 ? sampleData['io.scalewise.NodeReady'] : sampleData['io.scalewise.NodeCreated']) as never,
      { source: '/t', clusterid: 'local', time: at(s), partitionkey: s < 4 ? 'workers' : 'gpu' },
    ),
  ) as AnyScalewiseEvent[];
  await bus.publisher.publish(...events);

  const seen: AnyScalewiseEvent[] = [];
  const stats = await replay(
    bus.kafka,
    { topic, from: base + 1000, to: base + 4000, types: ['NodeReady'] },
    async (e) => {
      seen.push(e);
    },
  );
  assert.deepEqual(seen.map((e) => e.id).sort(), [events[2]?.id, events[4]?.id].sort());
  assert.equal(stats.scanned, 4);
  assert.equal(stats.matched, 2);

  const byPool: AnyScalewiseEvent[] = [];
  await replay(bus.kafka, { topic, pools: ['gpu'] }, async (e) => void byPool.push(e));
  assert.deepEqual(byPool.map((e) => e.id).sort(), [events[4]?.id, events[5]?.id].sort());

  const got: AnyScalewiseEvent[] = [];
  await subscribed(bus, {
    'io.scalewise.NodeReady': (e) => void got.push(e as AnyScalewiseEvent),
    'io.scalewise.NodeCreated': (e) => void got.push(e as AnyScalewiseEvent),
  });
  await replayIntoTopic(bus.kafka, bus.publisher, { topic, from: base + 5000 });
  await waitFor(() => got.length >= 7, { timeoutMs: 20_000, what: 'originals and the replayed copy' });
  const replayed = got.filter((e) => e.replayof);
  assert.equal(replayed.length, 1);
  assert.equal(replayed[0]?.replayof, events[5]?.id);
  assert.notEqual(replayed[0]?.id, events[5]?.id);
  assert.equal(replayed[0]?.correlationid, events[5]?.correlationid);
});

test('a fixed dead letter replayed into its topic is handled', async () => {
  const { bus, prefix } = testBus();
  await bus.start();
  // Not a trigger: a trigger whose data breaks its schema is answered, not dead-lettered.
  const topic = topicName('nodes', prefix);
  const got: AnyScalewiseEvent[] = [];
  await subscribed(bus, {
    'io.scalewise.NodeReady': (e) => void got.push(e as AnyScalewiseEvent),
  });
  const good = sampleData['io.scalewise.NodeReady'];
  const bad = toKafkaMessage(
    createEvent('io.scalewise.NodeReady', good, { source: '/ci', clusterid: 'local' }),
  );
  const { node_name: _missing, ...broken } = good;
  const p = bus.kafka.producer();
  await p.connect();
  await p.send({ topic, messages: [{ ...bad, value: Buffer.from(JSON.stringify(broken)) }] });
  await p.disconnect();
  const [entry] = await waitFor(
    async () => {
      const l = await bus.dlq.list({ topic });
      return l.length > 0 ? l : undefined;
    },
    { timeoutMs: 20_000, what: 'the dead letter' },
  );
  assert.ok(entry);
  const letter = await bus.dlq.get(entry.key);
  assert.equal(letter.error.code, 'SCHEMA_VIOLATION');
  const fixed = Buffer.from(JSON.stringify(good));
  const res = await replayDeadLetter(bus.kafka, bus.dlq, entry.key, { value: fixed });
  assert.equal(res.topic, topic);
  await waitFor(() => got.length === 1, { timeoutMs: 20_000, what: 'the fixed record handled' });
  assert.deepEqual(got[0]?.data, good);
  assert.equal(got[0]?.replayof, letter.event_id);
});

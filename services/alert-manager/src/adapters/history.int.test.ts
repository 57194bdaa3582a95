// The event history against the real Redis of the stack.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type EventType, sampleChild, sampleEvent } from '@scalewise/events';
import { integrationFixture, uniqueName } from '@scalewise/testing';
import type { Redis } from 'ioredis';
import { createRedisHistory } from './history.ts';

const fx = integrationFixture();
let redis: Redis;
before(async () => {
  redis = await fx.redis();
});

const base = Date.now() - 60_000;
const at = (type: EventType, offsetMs: number, pool = 'workers') =>
  sampleEvent(
    type,
    { pool },
    {
      clusterid: 'local',
      time: new Date(base + offsetMs).toISOString(),
    },
  );

async function cleanup(prefix: string) {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
}

test('events are queryable by time range, pool, type and severity', async (t) => {
  const prefix = uniqueName('history');
  t.after(() => cleanup(prefix));
  const h = createRedisHistory(redis, { prefix });
  const events = [
    at('io.scalewise.PoolMetricsObserved', 0),
    at('io.scalewise.MinimumNodesViolation', 1000),
    at('io.scalewise.NodeReady', 2000, 'gpu'),
    at('io.scalewise.MinimumNodesRestored', 3000),
  ];
  for (const e of events) await h.append(e);
  assert.deepEqual(
    (await h.query({ from: base + 500, to: base + 2500 })).map((e) => e.id),
    [events[1]?.id, events[2]?.id],
  );
  assert.deepEqual(
    (await h.query({ pools: ['gpu'] })).map((e) => e.type),
    ['io.scalewise.NodeReady'],
  );
  assert.deepEqual(
    (await h.query({ severities: ['critical'] })).map((e) => e.type),
    ['io.scalewise.MinimumNodesViolation'],
  );
  assert.deepEqual(
    (await h.query({ types: ['MinimumNodesRestored'], reverse: true })).map((e) => e.id),
    [events[3]?.id],
  );
  assert.deepEqual(
    (await h.query({ reverse: true, limit: 2 })).map((e) => e.id),
    [events[3]?.id, events[2]?.id],
  );
});

test('a redelivered event is stored once, and found by id and by its chain', async (t) => {
  const prefix = uniqueName('history');
  t.after(() => cleanup(prefix));
  const h = createRedisHistory(redis, { prefix });
  const root = at('io.scalewise.NodeUnexpectedlyLost', 0);
  const child = sampleChild(
    root,
    'io.scalewise.MinimumNodesViolation',
    {},
    { source: '/scalewise/min-enforcer', time: new Date(base + 500).toISOString() },
  );
  await h.append(root);
  await h.append(child);
  await h.append(child);
  assert.equal((await h.query({})).length, 2);
  assert.deepEqual(await h.get(child.id), child);
  assert.equal(await h.get('no-such-id'), undefined);
  assert.deepEqual(
    (await h.chain(root.correlationid)).map((e) => e.id),
    [root.id, child.id],
  );
  assert.deepEqual(
    (await h.query({ correlationid: root.correlationid, types: ['MinimumNodesViolation'] })).map((e) => e.id),
    [child.id],
  );
});

test('retention by count keeps the newest events', async (t) => {
  const prefix = uniqueName('history');
  t.after(() => cleanup(prefix));
  const h = createRedisHistory(redis, { prefix, maxEvents: 10 });
  for (let i = 0; i < 400; i++) await h.append(at('io.scalewise.PoolMetricsObserved', i));
  const len = await redis.xlen(`${prefix}:all`);
  // MAXLEN ~ trims whole radix-tree nodes (100 entries by default): approximately 10.
  assert.ok(len < 400 && len >= 10, `stream length ${len}`);
  const newest = await h.query({ reverse: true, limit: 1 });
  assert.equal(Date.parse(newest[0]?.time ?? ''), base + 399);
});

test('retention by age drops events older than the limit', async (t) => {
  const prefix = uniqueName('history');
  t.after(() => cleanup(prefix));
  let clock = base;
  const h = createRedisHistory(redis, { prefix, maxAgeSeconds: 10 }, () => clock);
  for (let i = 0; i < 300; i++) await h.append(at('io.scalewise.PoolMetricsObserved', i));
  clock = base + 3_600_000;
  await h.append(at('io.scalewise.PoolMetricsObserved', 3_600_000));
  const kept = await redis.xlen(`${prefix}:all`);
  assert.ok(kept < 301, `old entries trimmed (approximately, by node): ${kept} left`);
});

// The state store against the real Redis of the stack: many writers at once, redeliveries,
// and Redis gone.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { integrationFixture, uniqueName, unreachableRedis } from '@scalewise/testing';
import { Redis } from 'ioredis';
import { createStateStore, type StepResult } from './store.ts';

const fx = integrationFixture();
let redis: Redis;
before(async () => {
  redis = await fx.redis();
});

interface Counter {
  total: number;
  seen: string[];
}

/** A step that adds the input's amount and emits one output naming the total it saw. */
const add =
  (id: string, amount: number) =>
  (s: Counter | null): StepResult<Counter, string> => {
    const cur = s ?? { total: 0, seen: [] };
    return { state: { total: cur.total + amount, seen: [...cur.seen, id] }, outputs: [`${id}:${cur.total}`] };
  };

test('concurrent writers from separate connections serialise: every input applied once, none lost', async (t) => {
  const namespace = uniqueName('state-test');
  // Four "replicas", each with its own connection, apply 25 inputs each to one key at once.
  const clients = await Promise.all(
    [1, 2, 3, 4].map(async () => {
      const c = new Redis(redis.options.port ?? 6379, redis.options.host ?? '127.0.0.1', {
        lazyConnect: true,
      });
      await c.connect();
      return c;
    }),
  );
  t.after(() => Promise.all(clients.map((c) => c.quit())));
  const stores = clients.map((c) => createStateStore<Counter, string>({ redis: c, namespace }));
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => stores[i % 4]?.apply('workers', `in-${i}`, add(`in-${i}`, 1))),
  );
  const final = await stores[0]?.get('workers');
  assert.equal(final?.state.total, 100);
  assert.equal(final?.version, 100);
  assert.equal(new Set(final?.state.seen).size, 100);
  // The totals the outputs saw are exactly 0..99: no two writers stepped from the same state.
  const saw = results.map((r) => Number(r?.outputs[0]?.split(':')[1])).sort((a, b) => a - b);
  assert.deepEqual(
    saw,
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.ok(
    results.some((r) => (r?.attempts ?? 0) > 1),
    'with 4 writers at once some compare-and-set must have been retried',
  );
  t.diagnostic(`compare-and-set attempts: max ${Math.max(...results.map((r) => r?.attempts ?? 0))}`);
  await stores[0]?.delete('workers');
});

test('a redelivered input is not applied again: the stored outputs come back', async () => {
  const store = createStateStore<Counter, string>({ redis, namespace: uniqueName('state-test') });
  const first = await store.apply('p', 'e-1', add('e-1', 5));
  await store.apply('p', 'e-2', add('e-2', 1));
  let ran = false;
  const again = await store.apply('p', 'e-1', (s) => {
    ran = true;
    return add('e-1', 5)(s);
  });
  assert.equal(ran, false);
  assert.equal(again.replayed, true);
  assert.deepEqual(again.outputs, first.outputs);
  assert.equal((await store.get('p'))?.state.total, 6);
  // The same input at once from two writers: applied once.
  const [a, b] = await Promise.all([
    store.apply('p', 'e-3', add('e-3', 10)),
    store.apply('p', 'e-3', add('e-3', 10)),
  ]);
  assert.deepEqual(a.outputs, b.outputs);
  assert.equal([a, b].filter((r) => r.replayed).length, 1);
  assert.equal((await store.get('p'))?.state.total, 16);
  await store.delete('p');
});

test('the outputs of an input are kept for the outbox TTL only', async () => {
  const store = createStateStore<Counter, string>({
    redis,
    namespace: uniqueName('state-test'),
    outboxTtlSeconds: 1,
  });
  await store.apply('p', 'e-0', add('e-0', 1));
  assert.equal((await store.apply('p', 'e-0', add('e-0', 1))).replayed, true);
  await new Promise((r) => setTimeout(r, 2100));
  // Past the TTL it would be applied again: the bus's idempotency store (a longer TTL) is the
  // first line against redeliveries; the outbox covers a crash between state and publish.
  assert.equal((await store.apply('p', 'e-0', add('e-0', 1))).replayed, false);
  assert.equal((await store.get('p'))?.state.total, 2);
  await store.delete('p');
});

test('Redis unreachable: a retriable DEPENDENCY_UNAVAILABLE naming Redis, nothing applied', async (t) => {
  const down = await unreachableRedis(t);
  const store = createStateStore<Counter, string>({ redis: down, namespace: 'unused' });
  let ran = false;
  await assert.rejects(
    store.apply('p', 'e-1', (s) => {
      ran = true;
      return add('e-1', 1)(s);
    }),
    (err: unknown) =>
      err instanceof ScalewiseError &&
      err.code === 'DEPENDENCY_UNAVAILABLE' &&
      err.retriable &&
      /redis/.test(err.message),
  );
  assert.equal(ran, false);
});

test('an input that changes nothing and outputs nothing writes nothing', async () => {
  const store = createStateStore<Counter, string>({ redis, namespace: uniqueName('state-test') });
  await store.apply('p', 'e-1', add('e-1', 1));
  const before = await store.get('p');
  const same = await store.apply('p', 'check-1', (s) => ({ state: s as Counter, outputs: [] }));
  assert.equal(same.version, before?.version);
  assert.equal((await store.get('p'))?.version, before?.version, 'no new version');
  // A step with outputs is recorded even when the state stays the same.
  const said = await store.apply('p', 'check-2', (s) => ({ state: s as Counter, outputs: ['hello'] }));
  assert.equal(said.version, (before?.version ?? 0) + 1);
  assert.equal(
    (await store.apply('p', 'check-2', (s) => ({ state: s as Counter, outputs: ['again'] }))).replayed,
    true,
  );
  await store.delete('p');
});

// One sync round of state-sync's shell against packages/providers' in-memory fake provider
// and in-memory stores: what it lists, publishes and copies, and how it carries an outage.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, type PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { type AnyScalewiseEvent, shortName } from '@scalewise/events';
import { memberNames } from '@scalewise/pool';
import { type FakeProvider, fakeProvider } from '@scalewise/providers/fake';
import { createInstanceSource } from '../adapters/instances.ts';
import type { KubeNode } from '../core/index.ts';
import { memoryPoolRecords, memoryReadModel } from '../test-support/memory.ts';
import { createSyncRound } from './sync-round.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const quiet = { info() {}, warn() {} };

const poolOf = (): PoolConfig => {
  const yaml =
    'autoscaler:\n  pools:\n    - name: workers\n      provider: kwok\n      min: 0\n      max: 10\n';
  const [pool] = loadConfig({ text: yaml, env: {} }).config.autoscaler.pools;
  assert.ok(pool);
  return pool;
};

const node = (name: string): KubeNode => ({
  name,
  ready: true,
  since: T0 - 600_000,
  createdAt: T0 - 600_000,
});

function round(provider: FakeProvider, kube: KubeNode[]) {
  const pool = poolOf();
  const records = memoryPoolRecords();
  const store = memoryReadModel();
  const published: AnyScalewiseEvent[] = [];
  let refuse = false;
  const instances = createInstanceSource({
    providers: { kwok: provider },
    breaker: {},
    retry: { maxAttempts: 2, baseMs: 1, maxMs: 1 },
    sleep: async () => undefined,
  });
  let now = T0;
  const sync = createSyncRound({
    pools: [pool],
    views: { views: () => [{ pool, completed: [], kube }], taken() {} },
    instances,
    records,
    store,
    publisher: {
      async publish(...events) {
        if (refuse) throw new ScalewiseError('DEPENDENCY_UNAVAILABLE', 'broker down');
        published.push(...events);
      },
    },
    policyOf: () => ({ notReadyTimeoutSeconds: 300, registrationGraceSeconds: 120, actionTimeoutMs: 60_000 }),
    source: '/scalewise/test/state-sync',
    clusterId: 'test',
    now: () => now,
    log: quiet,
  });
  return {
    pool,
    records,
    store,
    published,
    instances,
    refuse: (on: boolean) => {
      refuse = on;
    },
    next: async () => {
      now += 30_000;
      return sync();
    },
  };
}

describe('a sync round with the fake provider', () => {
  test('Given Kubernetes and the provider agree, When two rounds run, Then the empty ledger is repaired, then the pool is in sync and its copy written', async () => {
    const fake = fakeProvider('kwok');
    await fake.create(poolOf(), ['workers-1', 'workers-2'], 'a-0');
    const r = round(fake, [node('workers-1'), node('workers-2')]);
    const first = await r.next();
    assert.deepEqual(
      first.map((e) => shortName(e.type)),
      ['StateDriftDetected'],
    );
    assert.deepEqual(memberNames((await r.records.get('workers')).ledger), ['workers-1', 'workers-2']);
    const second = await r.next();
    assert.deepEqual(
      second.map((e) => [shortName(e.type), (e.data as { workers?: number }).workers]),
      [['ClusterStateSynced', 2]],
    );
    assert.deepEqual(r.published, [...first, ...second]);
    assert.equal(fake.calls.filter((c) => c.op === 'list').length, 2, 'one listing per round');
    assert.equal(r.store.copies.get('workers')?.state.lastSync, T0 + 60_000);
    r.instances.shutdown();
  });

  test('Given the provider down, When a round runs, Then it is retried, and the pool judged from Kubernetes alone without a throw', async () => {
    const fake = fakeProvider('kwok');
    fake.failNext('list', new ScalewiseError('DEPENDENCY_UNAVAILABLE', 'down'));
    fake.failNext('list', new ScalewiseError('DEPENDENCY_UNAVAILABLE', 'down'));
    const r = round(fake, [node('workers-1')]);
    const out = await r.next();
    assert.equal(fake.calls.length, 2, 'retried by the policy');
    assert.deepEqual(r.published, out);
    assert.ok(
      out.every((e) => e.type !== 'io.scalewise.ClusterStateSynced'),
      'not in sync without the provider',
    );
    r.instances.shutdown();
  });

  test('Given the broker refuses, When a round runs, Then it throws and the next round sends the kept events first', async () => {
    const fake = fakeProvider('kwok');
    await fake.create(poolOf(), ['workers-1'], 'a-0');
    const r = round(fake, [node('workers-1')]);
    r.refuse(true);
    await assert.rejects(r.next(), /broker down/);
    r.refuse(false);
    await r.next();
    assert.deepEqual(
      r.published.map((e) => shortName(e.type)),
      ['StateDriftDetected', 'ClusterStateSynced'],
    );
    r.instances.shutdown();
  });
});

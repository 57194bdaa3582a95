// node-manager's shell, wired as app.ts wires it, against the in-memory fake provider and
// in-memory stores: decisions in, the provider's calls and the published events out.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, type PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { type AnyScalewiseEvent, shortName } from '@scalewise/events';
import type { Kube } from '@scalewise/kube';
import { resilient } from '@scalewise/providers';
import { type FakeProvider, fakeProvider } from '@scalewise/providers/fake';
import { createCommandRunner } from './adapters/commands.ts';
import { createTracker } from './adapters/running.ts';
import type { Command } from './core/index.ts';
import { createDecisionHandler, type Decision } from './handlers/decisions.ts';
import { createObservations } from './handlers/observations.ts';
import { createWorkerWatches } from './loops/worker-watch.ts';
import { decision } from './test-support/decision.ts';
import {
  memoryActionStore,
  memoryRunningIndex,
  passThroughLedger,
  recordingPublisher,
  silentLog,
} from './test-support/memory.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const retry = { maxAttempts: 3, baseMs: 1, maxMs: 1 };
const sleep = async () => undefined;

const poolOf = (provider: string): PoolConfig => {
  const yaml = `autoscaler:\n  pools:\n    - name: workers\n      provider: ${provider}\n      min: 0\n      max: 10\n${provider === 'pods' ? '      provider_options:\n        image: busybox\n' : ''}`;
  const [pool] = loadConfig({ text: yaml, env: {} }).config.autoscaler.pools;
  assert.ok(pool);
  return pool;
};

/** The shell's parts, wired as app.ts wires them; commands run when the test settles them. */
function shell(provider: FakeProvider, kind: 'kwok' | 'pods' = 'kwok') {
  const pool = poolOf(kind);
  const pools = new Map([[pool.name, pool]]);
  const providers = { [kind]: resilient(provider, { name: kind, retry, sleep }) };
  const store = memoryActionStore();
  const ledger = passThroughLedger();
  const index = memoryRunningIndex();
  const tracker = createTracker(index);
  const publisher = recordingPublisher();
  const ready = new Set<string>();
  const running: Promise<void>[] = [];
  const run = (c: Command) => void running.push(commands.run(c));
  const source = '/scalewise/test/node-manager';
  const now = () => T0;
  const observations = createObservations({
    store,
    ledger,
    tracker,
    publisher,
    retry,
    run,
    source,
    now,
    log: silentLog,
  });
  const commands = createCommandRunner({
    pools,
    providers,
    kube: {} as Kube,
    tracker,
    isReady: (_pool, worker) => ready.has(worker),
    observed: observations.apply,
    retry,
    log: silentLog,
  });
  const onDecision = createDecisionHandler({
    pools,
    providers,
    store,
    ledger,
    tracker,
    recheck: async () => ({ nodes: [] }),
    runLater: (cs) => cs.forEach(run),
    source,
    now,
    log: silentLog,
  });
  return {
    pool,
    store,
    index,
    tracker,
    publisher,
    ready,
    observations,
    onDecision: async (e: AnyScalewiseEvent) => (await onDecision(e as Decision)) ?? [],
    /** Runs every command started so far, and those they start. */
    async settle() {
      while (running.length > 0) await running.shift();
    },
    types: () => publisher.published.map((e) => shortName(e.type)),
  };
}

describe('a scale-up through the shell, with the fake provider', () => {
  test('Given a decision for 2, When handled, Then the start is returned, the workers created once by name and said created', async () => {
    const fake = fakeProvider('kwok');
    const s = shell(fake);
    const up = decision('io.scalewise.ScaleUpDecision', 'workers', 0, 2);
    const outputs = await s.onDecision(up);
    assert.deepEqual(
      outputs.map((e) => shortName(e.type)),
      ['ScaleUpStarted'],
    );
    await s.settle();
    const creates = fake.calls.filter((c) => c.op === 'create');
    assert.equal(creates.length, 1);
    assert.deepEqual(s.types(), ['NodeCreated', 'NodeCreated']);
    assert.deepEqual([...s.index.ids], [up.id], 'indexed while it runs');
    assert.deepEqual([...s.tracker.waiting.values()], [up.id, up.id], 'it waits for both');

    // Redelivered: the same start, nothing created again.
    const again = await s.onDecision(up);
    assert.deepEqual(
      again.map((e) => e.id),
      outputs.map((e) => e.id),
    );
    await s.settle();
    assert.equal(fake.calls.filter((c) => c.op === 'create').length, 1);
  });

  test('Given the workers turn Ready, Then NodeReady for each and the action completes, leaving the index', async () => {
    const fake = fakeProvider('kwok');
    const s = shell(fake);
    const up = decision('io.scalewise.ScaleUpDecision', 'workers', 0, 2);
    await s.onDecision(up);
    await s.settle();
    for (const node of [...s.tracker.waiting.keys()]) {
      await s.observations.apply(up.id, { kind: 'ready', node }, `ready/${node}`);
    }
    assert.deepEqual(s.types(), [
      'NodeCreated',
      'NodeCreated',
      'NodeReady',
      'NodeReady',
      'ScalingActionCompleted',
    ]);
    assert.deepEqual([...s.index.ids], []);
    const completed = s.publisher.published.at(-1);
    assert.equal(
      completed?.causationid,
      s.publisher.published.at(-2)?.id,
      'caused by the last event before it',
    );
  });

  test('Given a worker the watch saw Ready before its creation was recorded, Then it is Ready at once', async () => {
    const fake = fakeProvider('kwok');
    const s = shell(fake);
    const up = decision('io.scalewise.ScaleUpDecision', 'workers', 0, 1);
    await s.onDecision(up);
    const nodes = Object.keys((await s.store.get(up.id))?.state.action.nodes ?? {});
    for (const node of nodes) s.ready.add(node);
    await s.settle();
    assert.deepEqual(s.types(), ['NodeCreated', 'NodeReady', 'ScalingActionCompleted']);
  });

  test('Given a provider that fails once, Then the bus policy retries it and the scale-up goes on', async () => {
    const fake = fakeProvider('kwok');
    fake.failNext('create', new ScalewiseError('DEPENDENCY_UNAVAILABLE', 'engine restarting'));
    const s = shell(fake);
    await s.onDecision(decision('io.scalewise.ScaleUpDecision', 'workers', 0, 1));
    await s.settle();
    assert.equal(fake.calls.length, 2);
    assert.deepEqual(s.types(), ['NodeCreated']);
  });

  test('Given a provider that fails for good, Then the action fails with its reason, not retried', async () => {
    const fake = fakeProvider('kwok');
    fake.failNext(
      'create',
      new ScalewiseError('DOCKER_API', 'no image', {
        retriable: false,
        details: { reason: 'DOCKER_IMAGE_MISSING' },
      }),
    );
    const s = shell(fake);
    await s.onDecision(decision('io.scalewise.ScaleUpDecision', 'workers', 0, 1));
    await s.settle();
    assert.equal(fake.calls.filter((c) => c.op === 'create').length, 1);
    const failed = s.publisher.published.find((e) => e.type === 'io.scalewise.ScalingActionFailed');
    assert.equal((failed?.data as { error_code?: string } | undefined)?.error_code, 'DOCKER_IMAGE_MISSING');
  });

  test('Given a programming error in the provider, Then it is not retried: the action fails at once', async () => {
    const fake = fakeProvider('kwok');
    fake.failNext('create', new TypeError("cannot read properties of undefined (reading 'name')"));
    const s = shell(fake);
    await s.onDecision(decision('io.scalewise.ScaleUpDecision', 'workers', 0, 1));
    await s.settle();
    assert.equal(fake.calls.filter((c) => c.op === 'create').length, 1);
    assert.ok(s.types().includes('ScalingActionFailed'));
  });

  test('Given a dry-run decision or one for a pool not configured, Then nothing is started', async () => {
    const fake = fakeProvider('kwok');
    const s = shell(fake);
    const dry = decision('io.scalewise.ScaleUpDecision', 'workers', 0, 1);
    (dry.data as { dry_run?: boolean }).dry_run = true;
    assert.deepEqual(await s.onDecision(dry), []);
    assert.deepEqual(await s.onDecision(decision('io.scalewise.ScaleUpDecision', 'elsewhere', 0, 1)), []);
    await s.settle();
    assert.deepEqual(fake.calls, []);
  });
});

describe('worker pods through the shell, with the fake provider', () => {
  test('Given idle workers, When a scale-down comes, Then only idle ones go, neither cordoned nor drained, and are removed', async () => {
    const fake = fakeProvider('pods', { workers: true });
    fake.workers?.idleWorkers.set('workers', ['workers-a', 'workers-b']);
    const s = shell(fake, 'pods');
    const down = decision('io.scalewise.ScaleDownDecision', 'workers', 2, 1);
    const outputs = await s.onDecision(down);
    assert.deepEqual((outputs[0]?.data as { nodes?: string[] } | undefined)?.nodes, ['workers-a']);
    await s.settle();
    assert.deepEqual(
      fake.calls.map((c) => `${c.op}:${'node' in c ? c.node : ''}`),
      ['remove:workers-a'],
    );
    assert.deepEqual(s.types(), ['NodeDrained', 'NodeRemoved', 'ScalingActionCompleted']);
  });

  test('Given a worker that finished, When its watch says so, Then NodeRemoved completed, caused by its last event', async () => {
    const fake = fakeProvider('pods', { workers: true });
    const s = shell(fake, 'pods');
    const up = decision('io.scalewise.ScaleUpDecision', 'workers', 0, 1);
    await s.onDecision(up);
    await s.settle();
    const [worker] = [...s.tracker.waiting.keys()];
    assert.ok(worker);
    createWorkerWatches({
      watches: fake.workers ? [fake.workers] : [],
      pools: new Map([['workers', s.pool]]),
      waiting: s.tracker.waiting,
      store: s.store,
      observations: s.observations,
      source: '/scalewise/test/node-manager',
      clusterId: 'test',
      log: silentLog,
    });
    await fake.workers?.emit({ kind: 'ready', pool: 'workers', worker });
    await fake.workers?.emit({
      kind: 'finished',
      pool: 'workers',
      worker,
      phase: 'Succeeded',
      actionId: up.id,
    });
    assert.deepEqual(s.types(), ['NodeCreated', 'NodeReady', 'ScalingActionCompleted', 'NodeRemoved']);
    const removed = s.publisher.published.at(-1);
    assert.equal((removed?.data as { reason?: string } | undefined)?.reason, 'completed');
    assert.equal(removed?.causationid, s.publisher.published[1]?.id, "caused by the worker's NodeReady");
  });
});

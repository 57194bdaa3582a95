// The pool store against the real Redis of the stack: two services writing one pool's record
// at once, redeliveries, a claim and the state it was decided from written together, and
// Redis gone.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { integrationFixture, uniqueName, unreachableRedis } from '@scalewise/testing';
import type { Redis } from 'ioredis';
import { claim, desiredOf, inFlightOf, type Ledger, listed } from './ledger.ts';
import { createPoolStore, type PoolStep, type PoolStore } from './store.ts';

const fx = integrationFixture();
let redis: Redis;
before(async () => {
  redis = await fx.redis();
});

/** A connection of its own, as a replica of a service has. */
const connection = (t: { after: (fn: () => unknown) => void }): Promise<Redis> => fx.redis(t);

const T0 = 1_750_000_000_000;
const TIMEOUT = 600_000;

interface Part {
  applied: string[];
}

/**
 * An input of `service`: claims an action named after it in the ledger, adds its id to the
 * service's part, and says how many actions the ledger held when it stepped.
 */
const claimAndNote =
  (service: string, id: string) =>
  (ledger: Ledger, part: Part | null): PoolStep<Part, number> => ({
    ledger: claim(ledger, {
      id: `${service}:${id}`,
      direction: 'up',
      count: 1,
      origin: 'decision',
      now: T0,
      timeoutMs: TIMEOUT,
    }),
    part: { applied: [...(part?.applied ?? []), id] },
    outputs: [Object.keys(ledger.actions).length],
  });

test('two services with their own parts write one pool at once: every input applied exactly once', async (t) => {
  const clusterId = uniqueName('pool-test');
  const N = 40;
  // Two replicas of each service, each with its own connection.
  const stores = await Promise.all(
    ['min-enforcer', 'min-enforcer', 'decision-engine', 'decision-engine'].map(async (service) => ({
      service,
      store: createPoolStore<Part, number>({ redis: await connection(t), clusterId, service }),
    })),
  );
  // Input ids repeat across the two services (in-0-0 is one input of each): the outbox is
  // per service, so both are applied.
  const inputs = stores.flatMap(({ service, store }, r) =>
    Array.from({ length: N / 2 }, (_, i) => ({ service, store, id: `in-${r % 2}-${i}` })),
  );
  const results = await Promise.all(
    inputs.map(({ service, store, id }) => store.apply('workers', id, claimAndNote(service, id))),
  );

  const enforcer = await stores[0]!.store.get('workers');
  const engine = await stores[2]!.store.get('workers');
  // Every input's claim is in the ledger once, and each service's part lists its inputs once.
  assert.equal(Object.keys(enforcer.ledger.actions).length, 2 * N);
  for (const { service, id } of inputs)
    assert.ok(enforcer.ledger.actions[`${service}:${id}`], `${service} ${id}`);
  assert.equal(enforcer.ledgerVersion, 2 * N);
  assert.deepEqual(engine.ledger, enforcer.ledger);
  for (const part of [enforcer.part, engine.part]) {
    assert.equal(part?.applied.length, N);
    assert.equal(new Set(part?.applied).size, N);
  }
  // The ledgers the steps that were written saw held 0, 1, ..., 2N-1 actions: no two writers,
  // of one service or of two, stepped from the same ledger.
  assert.deepEqual(
    results.map((r) => r.outputs[0]).sort((a, b) => (a ?? 0) - (b ?? 0)),
    Array.from({ length: 2 * N }, (_, i) => i),
  );
  assert.ok(
    results.some((r) => r.attempts > 1),
    'with four writers at once some compare-and-set must have been retried',
  );
  t.diagnostic(`compare-and-set attempts: max ${Math.max(...results.map((r) => r.attempts))}`);
  await stores[0]!.store.delete('workers');
});

test("a service's part-only writes do not move the ledger's version, nor another service's part", async () => {
  const clusterId = uniqueName('pool-test');
  const a = createPoolStore<Part, string>({ redis, clusterId, service: 'state-sync' });
  const b = createPoolStore<Part, string>({ redis, clusterId, service: 'node-manager' });
  await a.apply('workers', 'l-1', (l) => ({
    ledger: listed(l, [{ name: 'w1', ready: true }], T0).ledger,
    outputs: [],
  }));
  await b.apply('workers', 'p-1', (l) => ({ ledger: l, part: { applied: ['p-1'] }, outputs: [] }));
  const seenByA = await a.get('workers');
  const seenByB = await b.get('workers');
  assert.equal(seenByA.ledgerVersion, 1);
  assert.equal(seenByA.part, null);
  assert.deepEqual(seenByB.part, { applied: ['p-1'] });
  assert.deepEqual(Object.keys(seenByB.ledger.members), ['w1']);
  await a.delete('workers');
  assert.equal((await b.get('workers')).part, null, 'delete removes every service part');
});

test('a replayed input id returns the stored outputs without stepping again', async () => {
  const store = createPoolStore<Part, number>({ redis, clusterId: uniqueName('pool-test'), service: 'svc' });
  const first = await store.apply('workers', 'e-1', claimAndNote('svc', 'e-1'));
  await store.apply('workers', 'e-2', claimAndNote('svc', 'e-2'));
  let ran = false;
  const again = await store.apply('workers', 'e-1', (l, p) => {
    ran = true;
    return claimAndNote('svc', 'e-1')(l, p);
  });
  assert.equal(ran, false);
  assert.equal(again.replayed, true);
  assert.deepEqual(again.outputs, first.outputs);
  const rec = await store.get('workers');
  assert.equal(rec.ledgerVersion, 2);
  assert.deepEqual(rec.part?.applied, ['e-1', 'e-2']);

  await store.delete('workers');
});

test('the same input from two replicas at once, with outputs only, is applied once', async (t) => {
  const clusterId = uniqueName('pool-test');
  const replicas = await Promise.all(
    [1, 2, 3, 4].map(async () =>
      createPoolStore<Part, string>({ redis: await connection(t), clusterId, service: 'alert-manager' }),
    ),
  );
  let steps = 0;
  const results = await Promise.all(
    replicas.map((r, i) =>
      r.apply('workers', 'e-1', (l) => {
        steps += 1;
        // Nothing to change, something to say: no version moves.
        return { ledger: l, outputs: [`from replica ${i}`] };
      }),
    ),
  );
  const written = results.filter((r) => !r.replayed);
  assert.equal(written.length, 1, `${written.length} replicas wrote the outputs of one input`);
  for (const r of results) assert.deepEqual(r.outputs, written[0]?.outputs);
  t.diagnostic(`steps run: ${steps}`);
  await replicas[0]!.delete('workers');
});

interface Floor {
  /** The repair this service claimed, or the actions that already covered the deficit. */
  claimed?: string;
  coveredBy?: string[];
}

/** A decider with a floor of 3: claims the deficit (3 - desired) unless actions in flight cover it. */
const repairFloor =
  (id: string) =>
  (ledger: Ledger): PoolStep<Floor, string> => {
    const deficit = 3 - (desiredOf(ledger, T0) ?? 0);
    if (deficit <= 0) {
      return { ledger, part: { coveredBy: inFlightOf(ledger, T0).map((a) => a.id) }, outputs: [] };
    }
    return {
      ledger: claim(ledger, {
        id,
        direction: 'up',
        count: deficit,
        origin: 'floor',
        now: T0,
        timeoutMs: TIMEOUT,
      }),
      part: { claimed: id },
      outputs: [`AutoScaleUpToMinimum ${id} +${deficit}`],
    };
  };

test("a claim and the part it was decided from are written together: the loser steps again and sees the winner's claim", async (t) => {
  const clusterId = uniqueName('pool-test');
  const setup = createPoolStore<Floor, string>({ redis, clusterId, service: 'state-sync' });
  await setup.apply('workers', 'listing-1', (l) => ({
    ledger: listed(l, [{ name: 'w1', ready: true }], T0).ledger,
    outputs: [],
  }));
  const winner = createPoolStore<Floor, string>({
    redis: await connection(t),
    clusterId,
    service: 'decision-engine',
  });
  // The loser has read the ledger and stepped (it would claim 2): just before its
  // compare-and-set, the winner applies its own decision in full.
  let calls = 0;
  let winnerDone: Promise<unknown> | undefined;
  const loser = createPoolStore<Floor, string>({
    redis: await connection(t),
    clusterId,
    service: 'min-enforcer',
    call: async (fn) => {
      calls += 1;
      if (calls === 2) {
        winnerDone = winner.apply('workers', 'decision-1', repairFloor('decision-1'));
        await winnerDone;
      }
      return fn();
    },
  });
  const lost = await loser.apply('workers', 'tick-1', repairFloor('repair-1'));
  assert.ok(winnerDone, 'the winner ran inside the race');
  assert.equal(lost.attempts, 2);
  assert.deepEqual(lost.outputs, [], 'the loser claims nothing');

  const theLoser = await loser.get('workers');
  const theWinner = await winner.get('workers');
  // Only the winner's claim is in the ledger; the loser's part says it found the deficit
  // covered by it, never that it claimed: its first step was written neither in part nor whole.
  assert.deepEqual(Object.keys(theLoser.ledger.actions), ['decision-1']);
  assert.equal(theLoser.ledger.actions['decision-1']?.count, 2);
  assert.deepEqual(theLoser.part, { coveredBy: ['decision-1'] });
  assert.deepEqual(theWinner.part, { claimed: 'decision-1' });
  assert.equal(theLoser.ledgerVersion, 2);
  await setup.delete('workers');
});

test('Redis unreachable: a retriable DEPENDENCY_UNAVAILABLE naming Redis, nothing stepped', async (t) => {
  const down = await unreachableRedis(t);
  const store: PoolStore<Part, number> = createPoolStore({
    redis: down,
    clusterId: 'unused',
    service: 'svc',
  });
  let ran = false;
  const isRedisDown = (err: unknown) =>
    err instanceof ScalewiseError &&
    err.code === 'DEPENDENCY_UNAVAILABLE' &&
    err.retriable &&
    /redis/.test(err.message);
  await assert.rejects(
    store.apply('workers', 'e-1', (l, p) => {
      ran = true;
      return claimAndNote('svc', 'e-1')(l, p);
    }),
    isRedisDown,
  );
  assert.equal(ran, false);
  await assert.rejects(store.get('workers'), isRedisDown);
});

test('an input that changes nothing and says nothing writes nothing', async () => {
  const store = createPoolStore<Part, number>({ redis, clusterId: uniqueName('pool-test'), service: 'svc' });
  await store.apply('workers', 'e-1', claimAndNote('svc', 'e-1'));
  const before = await store.get('workers');
  const same = await store.apply('workers', 'tick-1', (l, p) => ({
    ledger: l,
    part: p ?? undefined,
    outputs: [],
  }));
  assert.equal(same.replayed, false);
  const after = await store.get('workers');
  assert.equal(after.ledgerVersion, before.ledgerVersion);
  // No outbox entry either: applied again, it steps again.
  let ran = false;
  await store.apply('workers', 'tick-1', (l) => {
    ran = true;
    return { ledger: l, outputs: [] };
  });
  assert.equal(ran, true);
  await store.delete('workers');
});

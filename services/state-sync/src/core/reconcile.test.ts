import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseData, shortName } from '@scalewise/events';
import {
  actionEnded,
  actionStarted,
  emptyLedger,
  type Ledger,
  lossesSince,
  memberNames,
  nodeJoined,
  nodeLeft,
  RETENTION_MS,
  recordFacts,
  removedByUs,
  workersOf,
} from '@scalewise/pool';
import fc from 'fast-check';
import {
  type CompletedWorker,
  type Instance,
  type KubeNode,
  type PoolStore,
  type ProviderView,
  reconcile,
  type SyncIntent,
  type SyncOutcome,
} from './reconcile.ts';

const POOL = 'workers';
const T0 = Date.parse('2026-11-22T11:00:00Z');
const at = (s: number) => T0 + s * 1000;
const policy = { notReadyTimeoutSeconds: 300, registrationGraceSeconds: 120, actionTimeoutMs: 600_000 };
const kn = (name: string, ready = true, since = at(-600)): KubeNode => ({ name, ready, since });
const inst = (node: string, alive = true, extra: Partial<Instance> = {}): Instance => ({
  id: `id-${node}`,
  node,
  alive,
  createdAt: at(-600),
  ...extra,
});
const types = (e: SyncIntent[]) => e.map((x) => shortName(x.type));
const of = <T extends SyncIntent['type']>(e: SyncIntent[], t: T) =>
  e.filter((x) => x.type === t).map((x) => x.data) as Extract<SyncIntent, { type: T }>['data'][];

/** What state-sync holds of a pool between cycles: the ledger and its part. */
interface World {
  ledger: Ledger;
  stored: PoolStore | null;
}
const fresh = (): World => ({ ledger: emptyLedger(POOL), stored: null });

/** One cycle at `s` seconds. */
function cycle(
  w: World,
  nodes: readonly KubeNode[],
  provider: ProviderView,
  s: number,
  completed: readonly CompletedWorker[] = [],
): SyncOutcome & { world: World } {
  const r = reconcile({
    pool: POOL,
    ledger: w.ledger,
    stored: w.stored,
    nodes,
    provider,
    completed,
    now: at(s),
    policy,
  });
  return { ...r, world: { ledger: r.ledger, stored: r.store } };
}

/** A pool listed once with nodes `names` (each with a live instance), at -10 s. */
function synced(names = ['a', 'b', 'c']): World {
  return cycle(
    fresh(),
    names.map((n) => kn(n)),
    names.map((n) => inst(n)),
    -10,
  ).world;
}

/** The ledger with a fact applied, as node-manager writes it. */
const withLedger = (w: World, f: (l: Ledger) => Ledger): World => ({ ...w, ledger: f(w.ledger) });

/** A ledger behind the world: it never heard of member `name`. */
const forgetting = (name: string) => (l: Ledger) => {
  const members = { ...l.members };
  delete members[name];
  return { ...l, members };
};

/** node-manager's scale-down start, its victims with it (what it writes before touching them). */
const scaleDownStarted = (id: string, victims: string[], s: number) => (l: Ledger) =>
  actionStarted(l, {
    id,
    direction: 'down',
    count: victims.length,
    nodes: victims,
    now: at(s),
    timeoutMs: 600_000,
  });

describe('ClusterStateSynced', () => {
  test('Given all three views agree, Then ClusterStateSynced with the seed fields, one number in all four', () => {
    const { events, store } = cycle(
      synced(),
      [kn('a'), kn('b'), kn('c')],
      [inst('a'), inst('b'), inst('c')],
      0,
    );
    assert.deepEqual(types(events), ['ClusterStateSynced']);
    const d = of(events, 'io.scalewise.ClusterStateSynced')[0];
    assert.deepEqual([d?.k8s_nodes, d?.docker_containers, d?.db_workers, d?.workers], [3, 3, 3, 3]);
    assert.equal(d?.last_sync, new Date(at(0)).toISOString());
    assert.equal(store.workers, 3);
  });

  test('never "in sync: 0 workers (kubernetes 0, provider 0, store 2)": the two losses are said, no ClusterStateSynced; the next cycle is in sync at 0', () => {
    const { events, world } = cycle(synced(['a', 'b']), [], [], 0);
    assert.deepEqual(types(events), ['NodeUnexpectedlyLost', 'NodeUnexpectedlyLost']);
    assert.deepEqual(of(events, 'io.scalewise.ClusterStateSynced'), []);
    assert.equal(workersOf(world.ledger), 0);
    const next = cycle(world, [], [], 10);
    assert.deepEqual(types(next.events), ['ClusterStateSynced']);
    const d = of(next.events, 'io.scalewise.ClusterStateSynced')[0];
    assert.deepEqual([d?.k8s_nodes, d?.docker_containers, d?.db_workers, d?.workers], [0, 0, 0, 0]);
  });

  test('Given equal counts but different names (the ledger holds b, Kubernetes and the provider c), Then no ClusterStateSynced', () => {
    // The ledger knew a, b; b is deleted and c created (more than the lag ago) between two listings.
    const { events } = cycle(synced(['a', 'b']), [kn('a'), kn('c')], [inst('a'), inst('c')], 0);
    assert.deepEqual(of(events, 'io.scalewise.ClusterStateSynced'), []);
    assert.deepEqual(
      of(events, 'io.scalewise.NodeUnexpectedlyLost').map((l) => l.node_name),
      ['b'],
    );
    assert.deepEqual(of(events, 'io.scalewise.StateDriftDetected')[0]?.drift, [
      { kind: 'state_stale', name: 'c' },
    ]);
  });

  test('Given the provider lists one instance more than Kubernetes (within the registration grace), Then neither synced nor drift', () => {
    const { events } = cycle(
      synced(['a']),
      [kn('a')],
      [inst('a'), inst('b', true, { createdAt: at(-5) })],
      0,
    );
    assert.deepEqual(events, []);
  });
});

describe('the ledger is the store view', () => {
  test('Given the first listing (the ledger never listed), Then drift state_stale store, db_workers 0, repaired; the ledger knows the size; the next cycle is in sync', () => {
    const first = cycle(fresh(), [kn('a'), kn('b')], [inst('a'), inst('b')], 0);
    const d = of(first.events, 'io.scalewise.StateDriftDetected')[0];
    assert.deepEqual(d?.drift, [{ kind: 'state_stale', name: 'store' }]);
    assert.deepEqual([d?.k8s_nodes, d?.docker_containers, d?.db_workers, d?.repaired], [2, 2, 0, true]);
    assert.equal(workersOf(first.ledger), 2);
    const second = cycle(first.world, [kn('a'), kn('b')], [inst('a'), inst('b')], 10);
    assert.deepEqual(types(second.events), ['ClusterStateSynced']);
  });

  test('Given the first listing of an empty pool (nothing in any view), Then in sync at 0 at once: nothing was missed', () => {
    const first = cycle(fresh(), [], [], 0);
    assert.deepEqual(types(first.events), ['ClusterStateSynced']);
    const d = of(first.events, 'io.scalewise.ClusterStateSynced')[0];
    assert.deepEqual([d?.k8s_nodes, d?.docker_containers, d?.db_workers, d?.workers], [0, 0, 0, 0]);
    assert.equal(workersOf(first.ledger), 0);
  });

  test('Given the pool record deleted in Redis (tampering), Then the same: drift state_stale store, repaired, then in sync', () => {
    const tampered = fresh();
    const r = cycle(tampered, [kn('a'), kn('b'), kn('c')], [inst('a'), inst('b'), inst('c')], 0);
    assert.deepEqual(types(r.events), ['StateDriftDetected']);
    assert.equal(r.store.workers, 3);
    assert.deepEqual(
      types(cycle(r.world, [kn('a'), kn('b'), kn('c')], [inst('a'), inst('b'), inst('c')], 10).events),
      ['ClusterStateSynced'],
    );
  });

  test('Given a member missing from the ledger that Kubernetes listed long ago, Then drift state_stale names it, repaired: a member again', () => {
    const { events, ledger } = cycle(
      withLedger(synced(), forgetting('b')),
      [kn('a'), kn('b'), kn('c')],
      [inst('a'), inst('b'), inst('c')],
      0,
    );
    const d = of(events, 'io.scalewise.StateDriftDetected')[0];
    assert.deepEqual(d?.drift, [{ kind: 'state_stale', name: 'b' }]);
    assert.deepEqual([d?.db_workers, d?.repaired], [2, true]);
    assert.deepEqual(memberNames(ledger), ['a', 'b', 'c']);
  });

  test('Given a node created within the listing lag, Then it joins without drift; in sync at the next cycle', () => {
    const nodes = [kn('a'), { ...kn('b'), createdAt: at(-2) }];
    const r = cycle(synced(['a']), nodes, [inst('a'), inst('b', true, { createdAt: at(-2) })], 0);
    assert.deepEqual(r.events, [], 'churn: neither drift nor in sync');
    assert.deepEqual(memberNames(r.ledger), ['a', 'b']);
    assert.deepEqual(
      types(cycle(r.world, nodes, [inst('a'), inst('b', true, { createdAt: at(-2) })], 10).events),
      ['ClusterStateSynced'],
    );
  });

  test('Given a node that node-manager reported Ready that the listing does not show yet, Then not lost, no drift, not in sync', () => {
    const w = withLedger(synced(['a']), (l) => nodeJoined(l, 'b', 'up-1', at(-1), 600_000));
    const r = cycle(w, [kn('a')], [inst('a')], 0);
    assert.deepEqual(r.events, []);
    assert.deepEqual(memberNames(r.ledger), ['a', 'b']);
  });

  test('Given a node node-manager removed (NodeRemoved in the ledger) that the API still lists, Then churn: no drift, not a worker, not lost when it goes', () => {
    const w = withLedger(synced(), (l) =>
      nodeLeft(scaleDownStarted('down-1', ['c'], -5)(l), 'c', 'down-1', at(-1)),
    );
    const still = cycle(w, [kn('a'), kn('b'), kn('c')], [inst('a'), inst('b')], 0);
    assert.deepEqual(still.events, []);
    assert.equal(still.store.workers, 2);
    const gone = cycle(still.world, [kn('a'), kn('b')], [inst('a'), inst('b')], 10);
    assert.deepEqual(types(gone.events), ['ClusterStateSynced']);
  });
});

describe('NodeUnexpectedlyLost', () => {
  test('Given a node deleted that no action of ours removes, Then lost with node_deleted, last seen, and the workers left in the ledger', () => {
    const { events, ledger, store } = cycle(
      synced(),
      [kn('a'), kn('b')],
      [inst('a'), inst('b'), inst('c')],
      0,
    );
    const l = of(events, 'io.scalewise.NodeUnexpectedlyLost');
    assert.deepEqual(
      l.map((x) => [x.node_name, x.cause, x.remaining_workers, x.last_seen]),
      [['c', 'node_deleted', 2, new Date(at(-10)).toISOString()]],
    );
    assert.equal(workersOf(ledger), 2);
    assert.equal(store.workers, 2);
    assert.deepEqual(lossesSince(ledger, at(0)), [{ node: 'c', at: at(0) }]);
  });

  test('Given two nodes deleted within one cycle, Then each lost in turn, with the workers left after it: 1, then 0', () => {
    const { events } = cycle(synced(['a', 'b']), [], [], 0);
    assert.deepEqual(
      of(events, 'io.scalewise.NodeUnexpectedlyLost').map((l) => [l.node_name, l.remaining_workers]),
      [
        ['a', 1],
        ['b', 0],
      ],
    );
  });

  test('Given a scale-down whose victims node-manager wrote in the ledger, Then their deletion is no loss, though state-sync never saw ScaleDownStarted', () => {
    const w = withLedger(synced(), scaleDownStarted('down-1', ['c'], -5));
    const { events, ledger } = cycle(w, [kn('a'), kn('b')], [inst('a'), inst('b')], 0);
    assert.deepEqual(of(events, 'io.scalewise.NodeUnexpectedlyLost'), []);
    assert.deepEqual(of(events, 'io.scalewise.StateDriftDetected'), []);
    assert.equal(removedByUs(ledger, 'c'), 'down-1');
    assert.equal(workersOf(ledger), 2);
  });

  test('Given the scale-down ended after removing its victim while the API still listed it, Then its going later is no loss', () => {
    const w = withLedger(synced(), (l) =>
      actionEnded(
        nodeLeft(scaleDownStarted('down-1', ['c'], -5)(l), 'c', 'down-1', at(-2)),
        'down-1',
        'done',
        at(-1),
      ),
    );
    const still = cycle(w, [kn('a'), kn('b'), kn('c')], [inst('a'), inst('b')], 0);
    assert.deepEqual(still.events, [], 'listed late: churn');
    const { events } = cycle(still.world, [kn('a'), kn('b')], [inst('a'), inst('b')], 10);
    assert.deepEqual(types(events), ['ClusterStateSynced']);
  });

  test('Given a scale-down that ended without removing a victim, Then a later loss of that node counts', () => {
    const w = withLedger(synced(), (l) =>
      actionEnded(scaleDownStarted('down-1', ['c'], -5)(l), 'down-1', 'failed', at(-1)),
    );
    const { events } = cycle(w, [kn('a'), kn('b')], [inst('a'), inst('b')], 0);
    assert.deepEqual(
      of(events, 'io.scalewise.NodeUnexpectedlyLost').map((l) => l.node_name),
      ['c'],
    );
  });

  test('Given a container that died under a Ready node, Then lost with the provider cause; not a worker, and not lost again while the node stays', () => {
    const nodes = [kn('a'), kn('b'), kn('c')];
    const provider = [inst('a'), inst('b'), inst('c', false, { cause: 'container_crash' })];
    const r = cycle(synced(), nodes, provider, 0);
    assert.deepEqual(
      of(r.events, 'io.scalewise.NodeUnexpectedlyLost').map((l) => [
        l.node_name,
        l.cause,
        l.remaining_workers,
      ]),
      [['c', 'container_crash', 2]],
    );
    assert.equal(r.store.nodes.c?.lostReported, true);
    const again = cycle(r.world, nodes, provider, 10);
    assert.deepEqual(again.events, [], 'said once; the node lingering is churn, not in sync');
    assert.equal(workersOf(again.ledger), 2);
  });

  test('Given a scale-down removing a node whose container went first, Then neither drift nor a loss while it lingers, in sync once it is gone', () => {
    let w = withLedger(synced(['a', 'b']), scaleDownStarted('decision-7', ['b'], -5));
    for (const s of [0, 10]) {
      const r = cycle(w, [kn('a'), kn('b', false)], [inst('a'), inst('b', false)], s);
      assert.deepEqual(r.events, [], `at ${s} s`);
      w = r.world;
    }
    const gone = cycle(w, [kn('a')], [inst('a')], 20);
    assert.deepEqual(types(gone.events), []);
    assert.deepEqual(types(cycle(gone.world, [kn('a')], [inst('a')], 30).events), ['ClusterStateSynced']);
  });

  test('Given a node NotReady for 300 s, Then lost once with not_ready_timeout; after the ledger forgot its tombstone it is still neither a worker nor lost again', () => {
    let w = synced();
    const notReady = kn('c', false, at(5));
    let lost = 0;
    for (const s of [10, 200, 305, 400]) {
      const r = cycle(w, [kn('a'), kn('b'), notReady], [inst('a'), inst('b'), inst('c')], s);
      w = r.world;
      const l = of(r.events, 'io.scalewise.NodeUnexpectedlyLost');
      if (s < 305) assert.equal(l.length, 0, `not yet at ${s} s`);
      if (l.length) assert.deepEqual([l[0]?.cause, l[0]?.remaining_workers], ['not_ready_timeout', 2]);
      lost += l.length;
    }
    assert.equal(lost, 1);
    assert.equal(w.stored?.readyWorkers, 2);
    const later = cycle(
      w,
      [kn('a'), kn('b'), notReady],
      [inst('a'), inst('b'), inst('c')],
      305 + RETENTION_MS / 1000 + 60,
    );
    assert.deepEqual(later.events, []);
    assert.equal(workersOf(later.ledger), 2);
  });

  test('Given a node said lost that is Ready with a live instance again, Then its mark goes', () => {
    const w = cycle(
      synced(),
      [kn('a'), kn('b'), kn('c', false, at(-400))],
      [inst('a'), inst('b'), inst('c')],
      0,
    );
    assert.equal(w.store.nodes.c?.lostReported, true);
    const back = cycle(w.world, [kn('a'), kn('b'), kn('c')], [inst('a'), inst('b'), inst('c')], 10);
    assert.equal(back.store.nodes.c?.lostReported, undefined);
  });
});

describe('the provider view differs from Kubernetes', () => {
  test('Given an orphan instance (no node past the registration grace) in two cycles, Then drift instance_without_node, no ClusterStateSynced', () => {
    let w = synced(['a']);
    const seen: string[][] = [];
    for (const s of [10, 20, 30]) {
      const r = cycle(w, [kn('a')], [inst('a'), inst('orphan')], s);
      seen.push(types(r.events));
      w = r.world;
      if (s > 10) {
        assert.deepEqual(of(r.events, 'io.scalewise.StateDriftDetected')[0]?.drift, [
          { kind: 'instance_without_node', name: 'orphan' },
        ]);
      }
    }
    assert.deepEqual(seen, [[], ['StateDriftDetected'], ['StateDriftDetected']]);
    // The orphan goes: in sync again, no suspects left.
    const r = cycle(w, [kn('a')], [inst('a')], 40);
    assert.deepEqual(types(r.events), ['ClusterStateSynced']);
    assert.deepEqual(r.store.suspects, {});
  });

  test('a node without an instance, and an instance without a node past the grace, seen twice: drift that cannot be repaired here', () => {
    const nodes = [kn('a'), kn('b')];
    const provider = [inst('a'), inst('x'), inst('y', true, { createdAt: at(0) })];
    const first = cycle(synced(['a', 'b']), nodes, provider, 10);
    // One look is not enough: the two views are read at different moments.
    assert.deepEqual(types(first.events), []);
    assert.deepEqual(first.store.suspects, {
      'node_without_instance/b': at(10),
      'instance_without_node/x': at(10),
    });
    const { events, ledger } = cycle(first.world, nodes, provider, 20);
    const d = of(events, 'io.scalewise.StateDriftDetected')[0];
    assert.deepEqual(d?.drift, [
      { kind: 'node_without_instance', name: 'b' },
      { kind: 'instance_without_node', name: 'x' },
    ]);
    assert.equal(d?.repaired, false);
    assert.deepEqual([d?.k8s_nodes, d?.docker_containers, d?.db_workers], [2, 3, 2]);
    assert.deepEqual(memberNames(ledger), ['a', 'b'], 'a node without an instance is still a worker');
  });

  test('Given a node deleted between the node read and the provider list, Then no drift: a loss next cycle', () => {
    // Cycle 1: the watch still had b, the provider no longer did.
    const first = cycle(synced(['a', 'b']), [kn('a'), kn('b')], [inst('a')], 10);
    assert.deepEqual(first.events, []);
    // Cycle 2 (the deletion's own): b is gone from both.
    const second = cycle(first.world, [kn('a')], [inst('a')], 10.2);
    assert.deepEqual(types(second.events), ['NodeUnexpectedlyLost']);
    assert.deepEqual(second.store.suspects, {});
    assert.deepEqual(types(cycle(second.world, [kn('a')], [inst('a')], 20).events), ['ClusterStateSynced']);
  });
});

describe('provider unavailable', () => {
  const down = {
    unavailable: true,
    code: 'CIRCUIT_OPEN',
    message: "circuit breaker 'provider-docker' is open",
  } as const;

  test('Given the provider cannot be listed, Then no instance is lost, no ClusterStateSynced, the failure is in the store', () => {
    const { events, store, world } = cycle(synced(), [kn('a'), kn('b'), kn('c')], down, 10);
    assert.deepEqual(events, []);
    assert.deepEqual(store.providerError, { code: 'CIRCUIT_OPEN', message: down.message, since: at(10) });
    assert.equal(store.instances, 3, 'the last count listed is kept');
    assert.equal(store.workers, 3);
    // Still down later: `since` is when it started.
    const later = cycle(world, [kn('a'), kn('b'), kn('c')], down, 20);
    assert.equal(later.store.providerError?.since, at(10));
  });

  test('Given the provider down and a node deleted, Then the node is still lost (Kubernetes says so)', () => {
    const { events } = cycle(synced(), [kn('a'), kn('b')], down, 10);
    assert.deepEqual(
      of(events, 'io.scalewise.NodeUnexpectedlyLost').map((l) => [l.node_name, l.cause, l.remaining_workers]),
      [['c', 'node_deleted', 2]],
    );
    assert.deepEqual(of(events, 'io.scalewise.ClusterStateSynced'), []);
  });

  test('Given the provider down and a ledger behind, Then drift state_stale repaired with the last instance count', () => {
    const { events, store } = cycle(
      withLedger(synced(), forgetting('b')),
      [kn('a'), kn('b'), kn('c')],
      down,
      10,
    );
    const d = of(events, 'io.scalewise.StateDriftDetected')[0];
    assert.deepEqual(d?.drift, [{ kind: 'state_stale', name: 'b' }]);
    assert.deepEqual([d?.docker_containers, d?.repaired], [3, true]);
    assert.equal(store.workers, 3);
  });

  test('Given pending suspects when the provider goes down, Then they wait (neither confirmed nor cleared); back up, synced and the error cleared', () => {
    const first = cycle(synced(['a', 'b']), [kn('a'), kn('b')], [inst('a')], 10);
    const during = cycle(first.world, [kn('a'), kn('b')], down, 20);
    assert.deepEqual(during.store.suspects, first.store.suspects);
    assert.deepEqual(during.events, []);
    const back = cycle(during.world, [kn('a'), kn('b')], [inst('a'), inst('b')], 30);
    assert.deepEqual(types(back.events), ['ClusterStateSynced']);
    assert.equal(back.store.providerError, null);
    assert.equal(back.store.instances, 2);
  });
});

describe('worker pods that completed (pods pools)', () => {
  test('Given a worker pod seen completed, Then leaving the view is not a loss: it left by the scale-up that made it', () => {
    const { events, ledger, store } = cycle(synced(['p1', 'p2']), [kn('p1')], [inst('p1')], 10, [
      { name: 'p2', actionId: 'up-1' },
    ]);
    assert.deepEqual(types(events), ['ClusterStateSynced']);
    assert.equal(removedByUs(ledger, 'p2'), 'up-1');
    assert.equal(store.workers, 1);
  });

  test("Given node-manager's NodeRemoved (completed) in the ledger before the pod goes, Then no loss either", () => {
    const removed = recordFacts(
      synced(['p1', 'p2']).ledger,
      [
        {
          type: 'io.scalewise.NodeRemoved',
          data: { pool: POOL, node_name: 'p2', action_id: 'up-1', reason: 'completed' },
        },
      ],
      at(5),
      600_000,
    ).ledger;
    const { events } = cycle({ ledger: removed, stored: null }, [kn('p1')], [inst('p1')], 10);
    assert.deepEqual(of(events, 'io.scalewise.NodeUnexpectedlyLost'), []);
  });

  test('Given a worker pod deleted while it ran, Then lost with node_deleted', () => {
    const { events } = cycle(synced(['p1', 'p2']), [kn('p1')], [inst('p1')], 10);
    assert.deepEqual(
      of(events, 'io.scalewise.NodeUnexpectedlyLost').map((l) => [l.node_name, l.cause, l.remaining_workers]),
      [['p2', 'node_deleted', 1]],
    );
  });
});

describe('properties', () => {
  const names = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 5 });
  const step = fc.record({
    nodes: names,
    instances: names,
    ready: names,
    victims: names,
    joined: names,
    forget: fc.boolean(),
    down: fc.boolean(),
  });

  test('ClusterStateSynced only when the names agree in every view, before and after; losses count down to the ledger; never ours; every event validates', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 10 }), (steps) => {
        let w = fresh();
        steps.forEach((st, i) => {
          const t = i * 100;
          // Facts of other writers between two listings.
          if (st.victims.length > 0) w = withLedger(w, scaleDownStarted(`down-${i}`, st.victims, t - 50));
          for (const n of st.joined)
            w = withLedger(w, (l) => nodeJoined(l, n, `up-${i}`, at(t - 1), 600_000));
          if (st.forget) w = { ...w, ledger: { ...w.ledger, members: {} } };
          const before = memberNames(w.ledger);
          const provider: ProviderView = st.down
            ? { unavailable: true, code: 'CIRCUIT_OPEN', message: 'open' }
            : st.instances.map((n) => inst(n, n !== 'd'));
          const r = cycle(
            w,
            st.nodes.map((n) => ({ ...kn(n, st.ready.includes(n), at(t - 600)), createdAt: at(-1000) })),
            provider,
            t,
          );
          for (const e of r.events) parseData(e.type, e.data);
          const lost = of(r.events, 'io.scalewise.NodeUnexpectedlyLost');
          lost.forEach((l, k) => {
            assert.equal(removedByUs(r.ledger, l.node_name), null, `${l.node_name} lost, yet ours`);
            assert.equal(l.remaining_workers, (workersOf(r.ledger) ?? 0) + lost.length - 1 - k);
          });
          for (const d of of(r.events, 'io.scalewise.ClusterStateSynced')) {
            const kube = [...st.nodes].sort();
            assert.deepEqual(before, kube);
            assert.deepEqual(memberNames(r.ledger), kube);
            assert.ok(!st.down);
            assert.deepEqual(
              st.instances.filter((n) => n !== 'd').sort(),
              kube,
              'the provider lists the same live instances',
            );
            assert.deepEqual(
              [d.docker_containers, d.db_workers, d.workers],
              [d.k8s_nodes, d.k8s_nodes, d.k8s_nodes],
            );
          }
          assert.equal(r.store.workers, workersOf(r.ledger));
          w = r.world;
        });
      }),
      { numRuns: 500 },
    );
  });
});

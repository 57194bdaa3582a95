import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseData } from '@scalewise/events';
import fc from 'fast-check';
import {
  actionEnded,
  COMPLETED,
  type Instance,
  type KubeNode,
  type PoolStore,
  reconcile,
  removingNodes,
  type SyncIntent,
  workersCompleted,
} from './reconcile.ts';

const T0 = Date.parse('2026-11-22T11:00:00Z');
const at = (s: number) => T0 + s * 1000;
const policy = { notReadyTimeoutSeconds: 300, registrationGraceSeconds: 120 };
const kn = (name: string, ready = true, since = at(-600)): KubeNode => ({ name, ready, since });
const inst = (node: string, alive = true, extra: Partial<Instance> = {}): Instance => ({
  id: `id-${node}`,
  node,
  alive,
  createdAt: at(-600),
  ...extra,
});
const types = (e: SyncIntent[]) => e.map((x) => x.type.replace('io.scalewise.', ''));
const of = <T extends SyncIntent['type']>(e: SyncIntent[], t: T) =>
  e.filter((x) => x.type === t).map((x) => x.data) as Extract<SyncIntent, { type: T }>['data'][];

/** A store in agreement with nodes a, b, c. */
function synced(names = ['a', 'b', 'c']): PoolStore {
  return reconcile(
    'workers',
    null,
    names.map((n) => kn(n)),
    names.map((n) => inst(n)),
    at(0),
    policy,
  ).store;
}

describe('ClusterStateSynced', () => {
  test('Given all three views agree, Then ClusterStateSynced with the seed fields', () => {
    const { events, store } = reconcile(
      'workers',
      synced(),
      [kn('a'), kn('b'), kn('c')],
      [inst('a'), inst('b'), inst('c')],
      at(10),
      policy,
    );
    assert.deepEqual(types(events), ['ClusterStateSynced']);
    const d = of(events, 'io.scalewise.ClusterStateSynced')[0];
    assert.deepEqual([d?.k8s_nodes, d?.docker_containers, d?.db_workers, d?.workers], [3, 3, 3, 3]);
    assert.equal(d?.last_sync, new Date(at(10)).toISOString());
    assert.equal(store.workers, 3);
  });
});

describe('StateDriftDetected', () => {
  test('Given the store key was deleted (tampering), Then drift state_stale, repaired; the next cycle is synced', () => {
    const first = reconcile('workers', null, [kn('a'), kn('b')], [inst('a'), inst('b')], at(0), policy);
    const d = of(first.events, 'io.scalewise.StateDriftDetected')[0];
    assert.deepEqual(d?.drift, [{ kind: 'state_stale', name: 'store' }]);
    assert.equal(d?.repaired, true);
    assert.equal(d?.db_workers, 0);
    const second = reconcile(
      'workers',
      first.store,
      [kn('a'), kn('b')],
      [inst('a'), inst('b')],
      at(10),
      policy,
    );
    assert.deepEqual(types(second.events), ['ClusterStateSynced']);
  });

  test('Given one worker deleted from the store, Then drift names it and the store is repaired', () => {
    const tampered = synced();
    delete tampered.nodes.b;
    tampered.workers = 2;
    const { events, store } = reconcile(
      'workers',
      tampered,
      [kn('a'), kn('b'), kn('c')],
      [inst('a'), inst('b'), inst('c')],
      at(10),
      policy,
    );
    const d = of(events, 'io.scalewise.StateDriftDetected')[0];
    assert.deepEqual(d?.drift, [{ kind: 'state_stale', name: 'b' }]);
    assert.equal(d?.repaired, true);
    assert.equal(store.workers, 3);
    assert.ok(store.nodes.b);
  });

  test('a node without an instance, and an instance without a node past the grace, seen twice: drift that cannot be repaired here', () => {
    const views = [
      [kn('a'), kn('b')],
      [inst('a'), inst('x'), inst('y', true, { createdAt: at(0) })],
    ] as const;
    const first = reconcile('workers', synced(['a', 'b']), views[0], views[1], at(10), policy);
    // One look is not enough: the two views are read at different moments.
    assert.deepEqual(types(first.events), []);
    assert.deepEqual(first.store.suspects, {
      'node_without_instance/b': at(10),
      'instance_without_node/x': at(10),
    });
    const { events } = reconcile('workers', first.store, views[0], views[1], at(20), policy);
    const d = of(events, 'io.scalewise.StateDriftDetected')[0];
    assert.deepEqual(d?.drift, [
      { kind: 'node_without_instance', name: 'b' },
      { kind: 'instance_without_node', name: 'x' },
    ]);
    assert.equal(d?.repaired, false);
    assert.deepEqual([d?.k8s_nodes, d?.docker_containers, d?.db_workers], [2, 3, 2]);
  });
});

describe('the store out of date is not the churn', () => {
  test('Given a node that joined after the last sync, Then it is added without drift: ClusterStateSynced', () => {
    const { events, store } = reconcile(
      'workers',
      synced(['a']),
      [kn('a'), { ...kn('b'), createdAt: at(5) }],
      [inst('a'), inst('b', true, { createdAt: at(5) })],
      at(10),
      policy,
    );
    assert.deepEqual(types(events), ['ClusterStateSynced']);
    assert.equal(store.workers, 2);
  });

  test('Given a node older than the last sync missing from the store (its key deleted), Then drift state_stale names it', () => {
    const tampered = synced(['a', 'b']);
    delete tampered.nodes.b;
    const { events } = reconcile(
      'workers',
      tampered,
      [kn('a'), { ...kn('b'), createdAt: at(-600) }],
      [inst('a'), inst('b')],
      at(10),
      policy,
    );
    assert.deepEqual(of(events, 'io.scalewise.StateDriftDetected')[0]?.drift, [
      { kind: 'state_stale', name: 'b' },
    ]);
  });

  test('Given a node removed by a scale-down or lost, Then its own event says it, not a drift', () => {
    const removed = reconcile(
      'workers',
      removingNodes(synced(), 'd-1', ['c']),
      [kn('a'), kn('b')],
      [inst('a'), inst('b')],
      at(10),
      policy,
    );
    assert.deepEqual(types(removed.events), ['ClusterStateSynced']);
    const lost = reconcile('workers', synced(), [kn('a'), kn('b')], [inst('a'), inst('b')], at(10), policy);
    assert.deepEqual(types(lost.events), ['NodeUnexpectedlyLost', 'ClusterStateSynced']);
  });
});

describe('the provider view differs from Kubernetes', () => {
  test('Given an orphan instance (no node past the registration grace) in two cycles, Then drift instance_without_node, no ClusterStateSynced', () => {
    let store = synced(['a']);
    const seen: string[][] = [];
    for (const s of [10, 20, 30]) {
      const r = reconcile('workers', store, [kn('a')], [inst('a'), inst('orphan')], at(s), policy);
      seen.push(types(r.events));
      store = r.store;
      if (s > 10) {
        assert.deepEqual(of(r.events, 'io.scalewise.StateDriftDetected')[0]?.drift, [
          { kind: 'instance_without_node', name: 'orphan' },
        ]);
      }
    }
    assert.deepEqual(seen, [[], ['StateDriftDetected'], ['StateDriftDetected']]);
    // The orphan goes: in sync again, no suspects left.
    const r = reconcile('workers', store, [kn('a')], [inst('a')], at(40), policy);
    assert.deepEqual(types(r.events), ['ClusterStateSynced']);
    assert.deepEqual(r.store.suspects, {});
  });

  test('Given a node without an instance in two cycles, Then drift node_without_instance; the node stays in the store', () => {
    const first = reconcile('workers', synced(['a', 'b']), [kn('a'), kn('b')], [inst('a')], at(10), policy);
    const second = reconcile('workers', first.store, [kn('a'), kn('b')], [inst('a')], at(20), policy);
    assert.deepEqual(of(second.events, 'io.scalewise.StateDriftDetected')[0]?.drift, [
      { kind: 'node_without_instance', name: 'b' },
    ]);
    assert.deepEqual(of(second.events, 'io.scalewise.NodeUnexpectedlyLost'), []);
    assert.deepEqual(Object.keys(second.store.nodes).sort(), ['a', 'b']);
  });

  test('Given a node deleted between the node read and the provider list, Then no drift: a loss next cycle', () => {
    // Cycle 1: the watch still had b, the provider no longer did.
    const first = reconcile('workers', synced(['a', 'b']), [kn('a'), kn('b')], [inst('a')], at(10), policy);
    assert.deepEqual(of(first.events, 'io.scalewise.StateDriftDetected'), []);
    // Cycle 2 (the deletion's own): b is gone from both.
    const second = reconcile('workers', first.store, [kn('a')], [inst('a')], at(10.2), policy);
    assert.deepEqual(types(second.events), ['NodeUnexpectedlyLost', 'ClusterStateSynced']);
    assert.deepEqual(second.store.suspects, {});
  });

  test('Given a scale-down removing a node whose container went first, Then neither drift nor a loss, before or after the node goes', () => {
    let store = removingNodes(synced(['a', 'b']), 'decision-7', ['b']);
    for (const s of [10, 20]) {
      const r = reconcile(
        'workers',
        store,
        [kn('a'), kn('b', false)],
        [inst('a'), inst('b', false)],
        at(s),
        policy,
      );
      assert.deepEqual(types(r.events), ['ClusterStateSynced'], `at ${s} s`);
      assert.equal(r.store.removing.b, 'decision-7', 'the mark stays while the node does');
      store = r.store;
    }
    const gone = reconcile('workers', store, [kn('a')], [inst('a')], at(30), policy);
    assert.deepEqual(types(gone.events), ['ClusterStateSynced']);
    assert.deepEqual(gone.store.removing, {});
  });
});

describe('provider unavailable', () => {
  const down = {
    unavailable: true,
    code: 'CIRCUIT_OPEN',
    message: "circuit breaker 'provider-docker' is open",
  } as const;

  test('Given the provider cannot be listed, Then no instance is lost, no ClusterStateSynced, the failure is in the store', () => {
    const { events, store } = reconcile(
      'workers',
      synced(),
      [kn('a'), kn('b'), kn('c')],
      down,
      at(10),
      policy,
    );
    assert.deepEqual(events, []);
    assert.deepEqual(store.providerError, { code: 'CIRCUIT_OPEN', message: down.message, since: at(10) });
    assert.equal(store.instances, 3, 'the last count listed is kept');
    assert.equal(store.workers, 3);
    // Still down later: `since` is when it started.
    const later = reconcile('workers', store, [kn('a'), kn('b'), kn('c')], down, at(20), policy);
    assert.equal(later.store.providerError?.since, at(10));
  });

  test('Given the provider down and a node deleted, Then the node is still lost (Kubernetes says so)', () => {
    const { events } = reconcile('workers', synced(), [kn('a'), kn('b')], down, at(10), policy);
    assert.deepEqual(
      of(events, 'io.scalewise.NodeUnexpectedlyLost').map((l) => [l.node_name, l.cause, l.remaining_workers]),
      [['c', 'node_deleted', 2]],
    );
    assert.deepEqual(of(events, 'io.scalewise.ClusterStateSynced'), []);
  });

  test('Given the provider down and the store tampered, Then drift state_stale repaired with the last instance count', () => {
    const tampered = synced();
    delete tampered.nodes.b;
    const { events, store } = reconcile(
      'workers',
      tampered,
      [kn('a'), kn('b'), kn('c')],
      down,
      at(10),
      policy,
    );
    const d = of(events, 'io.scalewise.StateDriftDetected')[0];
    assert.deepEqual(d?.drift, [{ kind: 'state_stale', name: 'b' }]);
    assert.deepEqual([d?.docker_containers, d?.repaired], [3, true]);
    assert.equal(store.workers, 3);
  });

  test('Given pending suspects when the provider goes down, Then they wait (neither confirmed nor cleared); back up, synced and the error cleared', () => {
    const first = reconcile('workers', synced(['a', 'b']), [kn('a'), kn('b')], [inst('a')], at(10), policy);
    const during = reconcile('workers', first.store, [kn('a'), kn('b')], down, at(20), policy);
    assert.deepEqual(during.store.suspects, first.store.suspects);
    assert.deepEqual(during.events, []);
    const back = reconcile(
      'workers',
      during.store,
      [kn('a'), kn('b')],
      [inst('a'), inst('b')],
      at(30),
      policy,
    );
    assert.deepEqual(types(back.events), ['ClusterStateSynced']);
    assert.equal(back.store.providerError, null);
    assert.equal(back.store.instances, 2);
  });
});

describe('worker pods that completed (pods pools)', () => {
  test('Given a worker pod marked completed, Then leaving the view is not a loss; the mark is spent', () => {
    const store = workersCompleted(synced(['p1', 'p2']), ['p2']);
    const { events, store: after } = reconcile('otto', store, [kn('p1')], [inst('p1')], at(10), policy);
    assert.deepEqual(types(events), ['ClusterStateSynced']);
    assert.deepEqual(after.removing, {});
    assert.equal(after.workers, 1);
  });

  test('Given a worker pod deleted with no mark, Then lost with node_deleted', () => {
    const { events } = reconcile('otto', synced(['p1', 'p2']), [kn('p1')], [inst('p1')], at(10), policy);
    assert.deepEqual(
      of(events, 'io.scalewise.NodeUnexpectedlyLost').map((l) => [l.node_name, l.cause, l.remaining_workers]),
      [['p2', 'node_deleted', 1]],
    );
  });

  test('a completed mark survives the end of the scale-up that made the worker', () => {
    const store = workersCompleted(synced(['p1']), ['p1']);
    const ended = actionEnded(removingNodes(store, 'decision-3', []), 'decision-3');
    assert.equal(ended.removing.p1, COMPLETED);
    assert.equal(workersCompleted(store, ['p1']), store, 'marking again changes nothing');
  });
});

describe('NodeUnexpectedlyLost', () => {
  test('Given a node deleted with no scale-down in flight, Then lost with cause node_deleted, last seen and remaining workers', () => {
    const { events } = reconcile(
      'workers',
      synced(),
      [kn('a'), kn('b')],
      [inst('a'), inst('b'), inst('c')],
      at(10),
      policy,
    );
    const l = of(events, 'io.scalewise.NodeUnexpectedlyLost');
    assert.equal(l.length, 1);
    assert.deepEqual(
      [l[0]?.node_name, l[0]?.cause, l[0]?.remaining_workers, l[0]?.last_seen],
      ['c', 'node_deleted', 2, new Date(at(0)).toISOString()],
    );
  });

  test('Given two nodes deleted within one cycle, Then each lost one after the other: remaining 1, then 0', () => {
    const { events } = reconcile('workers', synced(['a', 'b']), [], [], at(10), policy);
    assert.deepEqual(
      of(events, 'io.scalewise.NodeUnexpectedlyLost').map((l) => [l.node_name, l.remaining_workers]),
      [
        ['a', 1],
        ['b', 0],
      ],
    );
  });

  test('Given a container that died, Then lost with the provider cause', () => {
    const { events } = reconcile(
      'workers',
      synced(),
      [kn('a'), kn('b'), kn('c', false)],
      [inst('a'), inst('b'), inst('c', false, { cause: 'container_crash' })],
      at(10),
      policy,
    );
    assert.deepEqual(
      of(events, 'io.scalewise.NodeUnexpectedlyLost').map((l) => [l.node_name, l.cause, l.remaining_workers]),
      [['c', 'container_crash', 2]],
    );
  });

  test('Given a scale-down removing the node, Then its disappearance is not a loss', () => {
    const store = removingNodes(synced(), 'decision-9', ['c']);
    const { events, store: after } = reconcile(
      'workers',
      store,
      [kn('a'), kn('b')],
      [inst('a'), inst('b')],
      at(10),
      policy,
    );
    assert.deepEqual(of(events, 'io.scalewise.NodeUnexpectedlyLost'), []);
    assert.deepEqual(after.removing, {});
  });

  test('Given a scale-down that ended without removing its node, Then a later loss of that node counts', () => {
    const ended = actionEnded(removingNodes(synced(), 'decision-9', ['c']), 'decision-9');
    assert.deepEqual(ended.removing, {});
    const { events } = reconcile(
      'workers',
      ended,
      [kn('a'), kn('b')],
      [inst('a'), inst('b')],
      at(10),
      policy,
    );
    assert.equal(of(events, 'io.scalewise.NodeUnexpectedlyLost').length, 1);
  });

  test('Given a node NotReady for 300 s, Then lost once with not_ready_timeout', () => {
    let store = synced();
    const notReady = kn('c', false, at(5));
    let lost = 0;
    for (const s of [10, 200, 305, 400]) {
      const r = reconcile(
        'workers',
        store,
        [kn('a'), kn('b'), notReady],
        [inst('a'), inst('b'), inst('c')],
        at(s),
        policy,
      );
      store = r.store;
      const l = of(r.events, 'io.scalewise.NodeUnexpectedlyLost');
      if (s < 305) assert.equal(l.length, 0, `not yet at ${s} s`);
      lost += l.length;
      if (l.length) assert.equal(l[0]?.cause, 'not_ready_timeout');
    }
    assert.equal(lost, 1);
    assert.equal(store.readyWorkers, 2);
  });
});

describe('properties', () => {
  test('every event validates; the repaired store always matches the live nodes; never throws', () => {
    const names = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 5 });
    fc.assert(
      fc.property(fc.array(fc.tuple(names, names, fc.boolean()), { minLength: 1, maxLength: 8 }), (steps) => {
        let store: PoolStore | null = null;
        steps.forEach(([nodes, instances, tamper], i) => {
          if (tamper && store) store = { ...store, workers: store.workers + 1 };
          const r = reconcile(
            'workers',
            store,
            nodes.map((n) => kn(n, n !== 'e')),
            instances.map((n) => inst(n, n !== 'd')),
            at(i * 100),
            policy,
          );
          for (const e of r.events) parseData(e.type, e.data);
          const live = nodes.filter((n) => !(instances.includes(n) && n === 'd'));
          assert.deepEqual(Object.keys(r.store.nodes).sort(), [...live].sort());
          assert.equal(r.store.workers, live.length);
          store = r.store;
        });
      }),
      { numRuns: 500 },
    );
  });
});

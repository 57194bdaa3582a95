import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseData } from '@scalewise/events';
import fc from 'fast-check';
import {
  actionEnded,
  type Instance,
  type KubeNode,
  type PoolStore,
  reconcile,
  removingNodes,
  type SyncIntent,
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

  test('a node without an instance, and an instance without a node past the grace, cannot be repaired here', () => {
    const { events } = reconcile(
      'workers',
      synced(['a', 'b']),
      [kn('a'), kn('b')],
      [inst('a'), inst('x'), inst('y', true, { createdAt: at(0) })],
      at(10),
      policy,
    );
    const d = of(events, 'io.scalewise.StateDriftDetected')[0];
    assert.deepEqual(d?.drift, [
      { kind: 'node_without_instance', name: 'b' },
      { kind: 'instance_without_node', name: 'x' },
    ]);
    assert.equal(d?.repaired, false);
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

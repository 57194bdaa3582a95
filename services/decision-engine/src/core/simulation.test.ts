import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { desiredOf as ledgerDesired } from '@scalewise/pool';
import { at, given, names, one, pool, quiet, validateAll, when } from './fixtures.ts';
import { ev, simulatedPending, simulatedUnderutilized, synced } from './inputs.ts';
import { desiredOf } from './state.ts';

describe('scale-up sized by the scheduling simulation', () => {
  test('Given 3 pods that fit one per new node, When reported, Then one decision buys 3', () => {
    const { state } = quiet(2, pool({ max: 10 }));
    const { events } = when(state, simulatedPending(3, { pool_nodes: 2, new_nodes: 3 }), 1);
    const d = one(events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.current_workers, 2);
    assert.equal(d.desired_workers, 5);
    assert.equal(d.count, 3);
    assert.equal(d.explanation.inputs.new_nodes, 3);
    assert.match(d.explanation.summary, /packed onto 3 new nodes of 4000m CPU/);
    validateAll(events);
  });

  test('Given pods that all fit the nodes there, When reported, Then nothing is bought', () => {
    const { state } = quiet(3);
    const { events } = when(
      state,
      simulatedPending(2, {
        pool_nodes: 3,
        in_flight_nodes: 1,
        fit_existing: 2,
        new_nodes: 0,
        pods_on_new_nodes: 0,
      }),
      1,
    );
    assert.deepEqual(names(events), []);
  });

  test('Given a decision in flight whose nodes do not exist yet, When the same pods are reported again, Then nothing more is bought', () => {
    const { state } = given(pool({ max: 10 }), [
      [0, synced(2)],
      [1, simulatedPending(3, { pool_nodes: 2, new_nodes: 3 })],
    ]);
    assert.equal(desiredOf(state.pools.workers!), 5);
    const again = when(state, simulatedPending(3, { pool_nodes: 2, new_nodes: 3 }), 2);
    assert.deepEqual(names(again.events), []);
    // One more pod needing a fourth node asks for the difference only.
    const more = one(
      when(state, simulatedPending(4, { pool_nodes: 2, new_nodes: 4 }), 2).events,
      'io.scalewise.ScaleUpDecision',
    );
    assert.equal(more.count, 1);
  });

  test('Given an action in flight whose node the simulation already saw, When a new pod needs a node, Then one is bought at once', () => {
    const { state, events } = given(pool({ max: 10 }), [
      [0, synced(3)],
      [1, simulatedPending(1, { pool_nodes: 3, new_nodes: 1 })],
    ]);
    const first = one(events, 'io.scalewise.ScaleUpDecision');
    assert.equal(first.count, 1);
    const id = events.find((e) => e.type === 'io.scalewise.ScaleUpDecision')?.id as string;
    // The first decision's node exists (counted in pool_nodes, made by that action), the pods
    // it was for run there, and a new pod fits nowhere: the action in flight covers nothing more.
    const next = when(
      state,
      simulatedPending(1, { pool_nodes: 4, in_flight_nodes: 0, new_nodes: 1, action_nodes: { [id]: 1 } }),
      2,
    );
    const d = one(next.events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.count, 1);
    // Without the counts, the node of the action in flight is taken as still to come.
    assert.deepEqual(names(when(state, simulatedPending(1, { pool_nodes: 4, new_nodes: 1 }), 2).events), []);
  });

  test('Given the nodes turned Ready and the pods fit them, When reported before they are bound, Then nothing is bought (no grace period)', () => {
    const { state } = given(pool({ max: 10 }), [
      [0, synced(2)],
      [1, simulatedPending(3, { pool_nodes: 2, new_nodes: 3 })],
      [2, synced(5)],
    ]);
    const { events } = when(
      state,
      simulatedPending(3, { pool_nodes: 5, fit_existing: 3, new_nodes: 0, pods_on_new_nodes: 0 }),
      3,
    );
    assert.deepEqual(names(events), []);
  });
});

describe('zones of new nodes', () => {
  test('Given the simulation placed new nodes in zones, Then the decision names them; with some in flight, the last ones', () => {
    // min 0: a pool under its minimum grows to it at least, more nodes than the zones name.
    const { state } = quiet(0, pool({ min: 0, max: 10 }));
    const sim = {
      new_nodes: 2,
      new_node_pods: [
        { zone: 'z1', pods: 1 },
        { zone: 'z3', pods: 1 },
      ],
    };
    const d = one(when(state, simulatedPending(2, sim), 1).events, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual(d.zones, ['z1', 'z3']);
    assert.equal(d.explanation.inputs.new_node_zones, 'z1, z3');
    const first = given(pool({ min: 0, max: 10 }), [
      [0, synced(0)],
      [1, simulatedPending(1, { new_nodes: 1, new_node_pods: [{ zone: 'z1', pods: 1 }] })],
    ]);
    const more = one(when(first.state, simulatedPending(2, sim), 2).events, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([more.count, more.zones], [1, ['z3']]);
  });

  test('Given a pool without zones, Then the decision names none', () => {
    const { state } = quiet(0, pool({ max: 10 }));
    const d = one(
      when(state, simulatedPending(1, { new_nodes: 1, new_node_pods: [{ pods: 1 }] }), 1).events,
      'io.scalewise.ScaleUpDecision',
    );
    assert.equal(d.zones, undefined);
  });
});

describe('scale-down node by node from the simulation', () => {
  test('Given 2 removable nodes of 5, When underutilised long enough, Then the decision names them and claims them in the ledger', () => {
    const { state } = quiet(5, pool({ max: 10 }));
    const { events, state: after } = when(state, simulatedUnderutilized(5, ['workers-4', 'workers-5']), 1);
    const d = one(events, 'io.scalewise.ScaleDownDecision');
    assert.equal(d.current_workers, 5);
    assert.equal(d.desired_workers, 3);
    assert.deepEqual(d.nodes, ['workers-4', 'workers-5']);
    assert.match(d.explanation.summary, /workers-4 .*workers-5/);
    validateAll(events);
    const id = events.find((e) => e.type === 'io.scalewise.ScaleDownDecision')!.id;
    const a = after.ledgers.workers!.actions[id]!;
    assert.deepEqual(
      [a.direction, a.count, a.nodes, a.state],
      ['down', 2, ['workers-4', 'workers-5'], 'claimed'],
    );
    assert.equal(ledgerDesired(after.ledgers.workers!, at(1)), 3);
  });

  test('Given removable nodes beyond the floor, Then only down to min and only the first nodes', () => {
    const { state } = quiet(3, pool({ min: 2, max: 10 }));
    const d = one(
      when(state, simulatedUnderutilized(3, ['workers-3', 'workers-2', 'workers-1']), 1).events,
      'io.scalewise.ScaleDownDecision',
    );
    assert.equal(d.desired_workers, 2);
    assert.deepEqual(d.nodes, ['workers-3']);
  });

  test('Given no node can go, Then ScaleDownBlocked names each node with its pod and constraint', () => {
    const blocked = [
      {
        node: 'n-1',
        pod: 'default/web-1',
        constraint: 'pod_anti_affinity' as const,
        message: 'pod default/web-1: anti-affinity (app=web, kubernetes.io/hostname) on all 3 other nodes',
      },
      {
        node: 'n-2',
        pod: 'default/web-2',
        constraint: 'pdb' as const,
        message: 'pod default/web-2: PodDisruptionBudget default/web allows no more disruptions',
      },
    ];
    const { state } = quiet(4, pool({ max: 10 }));
    const { events } = when(state, simulatedUnderutilized(4, [], blocked), 1);
    assert.deepEqual(names(events), ['ScaleDownBlocked']);
    const b = one(events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'pods_cannot_move');
    assert.deepEqual(b.blocked_nodes, blocked);
    assert.match(b.explanation.summary, /n-1 must stay: pod default\/web-1: anti-affinity/);
    validateAll(events);
  });

  test('Given the nodes have not been low for underutilized_for_seconds, Then nothing yet', () => {
    const { state } = quiet(5, pool({ max: 10, underutilizedForSeconds: 300 }));
    assert.deepEqual(names(when(state, simulatedUnderutilized(5, ['x'], [], 100), 1).events), []);
  });
});

describe('pressure as headroom', () => {
  test('Given pods waiting for the pool, Then pressure buys no headroom: the pods size the growth', () => {
    const { state } = given(pool({ max: 10 }), [
      [0, synced(4)],
      [1, simulatedPending(3, { pool_nodes: 4, fit_existing: 3, new_nodes: 0, pods_on_new_nodes: 0 })],
    ]);
    const alert = ev('io.scalewise.ResourcePressureAlert', {
      workers: 4,
      cpu_avg: 95,
      memory_avg: 40,
      resource: 'cpu',
      headroom: {
        typical_pod: { cpu_millicores: 1000, memory_bytes: 2 ** 30 },
        wanted: 4,
        fit_now: 0,
        new_nodes: 1,
      },
    });
    assert.deepEqual(names(when(state, alert, 100).events), []);
  });

  test('Given pressure with the simulation wanting 2 new nodes for the typical pods, Then the scale-up gives that room and says so', () => {
    const { state } = quiet(4, pool({ max: 10 }));
    const alert = ev('io.scalewise.ResourcePressureAlert', {
      workers: 4,
      cpu_avg: 85,
      memory_avg: 40,
      resource: 'cpu',
      headroom: {
        typical_pod: { cpu_millicores: 2000, memory_bytes: 2 ** 30 },
        wanted: 2,
        fit_now: 0,
        new_nodes: 2,
      },
    });
    const d = one(when(state, alert, 100).events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.desired_workers, 6);
    assert.equal(d.explanation.inputs.headroom_new_nodes, 2);
    assert.match(
      d.explanation.summary,
      /headroom.*room for 2 more pods like the typical one \(2000m CPU, 1024 MiB\), 0 of which fit the nodes there; 2 new nodes/,
    );
  });
});

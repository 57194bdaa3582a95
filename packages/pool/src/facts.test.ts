/**
 * recordFacts: Given the pool's ledger, When a producer's events are recorded, Then the ledger
 * holds their facts and the events state the ledger's numbers. The event data follow the
 * samples of packages/events.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordFacts } from './facts.ts';
import { emptyLedger, type Ledger, listed, lossesSince, removedByUs, workersOf } from './ledger.ts';

interface Ev {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

const T0 = 1_750_000_000_000;
const at = (s: number): number => T0 + s * 1_000;
const TIMEOUT = 600_000;

let seq = 0;
const ev = (type: string, data: Record<string, unknown>): Ev => ({
  id: `e${++seq}`,
  type: `io.scalewise.${type}`,
  data: { pool: 'workers', ...data },
});

/** The pool listed with these workers, a minute ago. */
const pool = (names: string[]): Ledger =>
  listed(
    emptyLedger('workers'),
    names.map((name) => ({ name, ready: true })),
    at(-60),
  ).ledger;

const upStarted = (count: number) =>
  ev('ScaleUpStarted', { action_id: 'up-1', count, previous_workers: 0, target_workers: 0 });

describe('recordFacts', () => {
  test('scale-up: the start states the workers then, the completion those after its nodes joined', () => {
    let l = pool(['w1', 'w2']);
    const start = recordFacts(l, [upStarted(2)], at(0), TIMEOUT);
    assert.deepEqual(start.events[0]?.data, {
      pool: 'workers',
      action_id: 'up-1',
      count: 2,
      previous_workers: 2,
      target_workers: 4,
    });
    l = start.ledger;
    for (const [i, node] of ['w3', 'w4'].entries()) {
      const ready = ev('NodeReady', { node_name: node, action_id: 'up-1', ready_after: 1.2 });
      const r = recordFacts(l, [ready], at(10 + i), TIMEOUT);
      assert.deepEqual(r.events, [ready], 'NodeReady is stated as it is');
      l = r.ledger;
    }
    const done = recordFacts(
      l,
      [ev('ScalingActionCompleted', { action_id: 'up-1', action: 'scale_up', count: 2, duration: 12 })],
      at(20),
      TIMEOUT,
    );
    assert.equal(done.events[0]?.data.new_workers, workersOf(done.ledger));
    assert.equal(done.events[0]?.data.new_workers, 4);
    assert.equal(done.events[0]?.data.previous_workers, 2);
    assert.equal(done.ledger.actions['up-1']?.state, 'done');
  });

  test('a start, its nodes and its completion in one batch: each event states the ledger as it is at that event', () => {
    const r = recordFacts(
      pool(['w1']),
      [
        upStarted(1),
        ev('NodeReady', { node_name: 'w2', action_id: 'up-1' }),
        ev('ScalingActionCompleted', { action_id: 'up-1', action: 'scale_up', count: 1 }),
      ],
      at(0),
      TIMEOUT,
    );
    assert.equal(r.events[0]?.data.previous_workers, 1);
    assert.equal(r.events[0]?.data.target_workers, 2);
    assert.equal(r.events[2]?.data.previous_workers, 1);
    assert.equal(r.events[2]?.data.new_workers, 2);
  });

  test('a redelivered start keeps the numbers it was first stated with', () => {
    const first = recordFacts(pool(['w1', 'w2']), [upStarted(2)], at(0), TIMEOUT);
    const joined = recordFacts(
      first.ledger,
      [ev('NodeReady', { node_name: 'w3', action_id: 'up-1' })],
      at(10),
      TIMEOUT,
    );
    const again = recordFacts(joined.ledger, [upStarted(2)], at(20), TIMEOUT);
    assert.equal(again.events[0]?.data.previous_workers, 2);
    assert.equal(again.events[0]?.data.target_workers, 4);
    assert.deepEqual(again.ledger, joined.ledger, 'the ledger does not change');
  });

  test('a start of a claimed action states the workers at the start (the claim had none)', () => {
    const l = {
      ...pool(['w1']),
      actions: {
        'up-1': {
          id: 'up-1',
          direction: 'up' as const,
          count: 1,
          origin: 'decision' as const,
          state: 'claimed' as const,
          at: at(-5),
          expiresAt: at(-5) + TIMEOUT,
          nodes: [],
          removed: [],
        },
      },
    };
    const r = recordFacts(l, [upStarted(1)], at(0), TIMEOUT);
    assert.equal(r.events[0]?.data.previous_workers, 1);
    assert.equal(r.ledger.actions['up-1']?.state, 'started');
    assert.equal(r.ledger.actions['up-1']?.origin, 'decision');
  });

  test('scale-down: the start names its victims, so their removal is never a loss', () => {
    const start = ev('ScaleDownStarted', {
      action_id: 'down-1',
      count: 1,
      previous_workers: 0,
      target_workers: 0,
      nodes: ['w3'],
    });
    const r = recordFacts(
      pool(['w1', 'w2', 'w3']),
      [start, ev('NodeRemoved', { node_name: 'w3', provider: 'kwok', action_id: 'down-1' })],
      at(0),
      TIMEOUT,
    );
    assert.equal(r.events[0]?.data.previous_workers, 3);
    assert.equal(r.events[0]?.data.target_workers, 2);
    assert.equal(workersOf(r.ledger), 2);
    assert.equal(removedByUs(r.ledger, 'w3'), 'down-1');
    assert.deepEqual(lossesSince(r.ledger, 0), []);
  });

  test('NodeUnexpectedlyLost states the workers remaining in the ledger after it', () => {
    const lost = ev('NodeUnexpectedlyLost', {
      node_name: 'w2',
      last_seen: '2026-11-22T11:00:00.000Z',
      cause: 'node_deleted',
      remaining_workers: 99,
    });
    const r = recordFacts(pool(['w1', 'w2', 'w3']), [lost], at(0), TIMEOUT);
    assert.equal(r.events[0]?.data.remaining_workers, 2);
    assert.equal(r.events[0]?.id, lost.id);
    assert.deepEqual(lossesSince(r.ledger, at(0)), [{ node: 'w2', at: at(0) }]);
  });

  test('before the first listing the numbers are unknown: the events go as they are', () => {
    const lost = ev('NodeUnexpectedlyLost', { node_name: 'w2', remaining_workers: 1 });
    const start = upStarted(1);
    const r = recordFacts(emptyLedger('workers'), [start, lost], at(0), TIMEOUT);
    assert.deepEqual(r.events, [start, lost]);
    assert.equal(r.ledger.actions['up-1']?.state, 'started');
  });

  test('events of other pools, and events with no facts, pass through untouched', () => {
    const other = {
      id: 'x1',
      type: 'io.scalewise.NodeUnexpectedlyLost',
      data: { pool: 'gpu', node_name: 'g1', remaining_workers: 7 },
    };
    const otherStart = {
      id: 'x2',
      type: 'io.scalewise.ScaleUpStarted',
      data: { pool: 'gpu', action_id: 'up-9', count: 1, previous_workers: 0, target_workers: 1 },
    };
    const decision = ev('ScaleUpDecision', { current_workers: 3, desired_workers: 5, count: 2 });
    const l = pool(['w1']);
    const r = recordFacts(l, [other, otherStart, decision], at(0), TIMEOUT);
    assert.equal(r.ledger, l);
    assert.equal(r.events[0], other);
    assert.equal(r.events[1], otherStart);
    assert.equal(r.events[2], decision);
  });

  test('recorded again (a redelivery of the batch), the ledger does not change', () => {
    const batch = [
      upStarted(1),
      ev('NodeReady', { node_name: 'w2', action_id: 'up-1' }),
      ev('NodeUnexpectedlyLost', { node_name: 'w1', remaining_workers: 0 }),
      ev('ScalingActionCompleted', { action_id: 'up-1', action: 'scale_up', count: 1 }),
    ];
    const once = recordFacts(pool(['w1']), batch, at(0), TIMEOUT);
    const twice = recordFacts(once.ledger, batch, at(0), TIMEOUT);
    assert.deepEqual(twice.ledger, once.ledger);
    assert.equal(twice.events[0]?.data.previous_workers, 1);
  });
});

describe('a completion recorded before a sibling node fact (node-manager writes each node from its own step)', () => {
  test('scale-down: the victims whose NodeRemoved has not reached the ledger are gone at the completion', () => {
    let l = pool(['w1', 'w2', 'w3']);
    l = recordFacts(
      l,
      [
        ev('ScaleDownStarted', {
          action_id: 'down-1',
          count: 2,
          nodes: ['w1', 'w2'],
          previous_workers: 3,
          target_workers: 1,
        }),
      ],
      at(0),
      TIMEOUT,
    ).ledger;
    l = recordFacts(
      l,
      [ev('NodeRemoved', { action_id: 'down-1', node_name: 'w1', provider: 'kwok' })],
      at(1),
      TIMEOUT,
    ).ledger;
    const done = recordFacts(
      l,
      [
        ev('ScalingActionCompleted', {
          action_id: 'down-1',
          action: 'scale_down',
          count: 2,
          previous_workers: 3,
          new_workers: 0,
        }),
      ],
      at(2),
      TIMEOUT,
    );
    assert.equal(done.events[0]?.data.new_workers, 1);
    assert.equal(workersOf(done.ledger), 1);
    assert.equal(removedByUs(done.ledger, 'w2'), 'down-1');
    // w2's own NodeRemoved, read after, changes nothing.
    const late = recordFacts(
      done.ledger,
      [ev('NodeRemoved', { action_id: 'down-1', node_name: 'w2', provider: 'kwok' })],
      at(3),
      TIMEOUT,
    );
    assert.equal(workersOf(late.ledger), 1);
  });

  test('scale-up: the nodes whose NodeReady has not reached the ledger are counted at the completion', () => {
    let l = pool(['w1']);
    l = recordFacts(l, [upStarted(2)], at(0), TIMEOUT).ledger;
    l = recordFacts(
      l,
      [ev('NodeReady', { action_id: 'up-1', node_name: 'n1', ready_after: 1 })],
      at(1),
      TIMEOUT,
    ).ledger;
    const done = recordFacts(
      l,
      [
        ev('ScalingActionCompleted', {
          action_id: 'up-1',
          action: 'scale_up',
          count: 2,
          previous_workers: 1,
          new_workers: 0,
        }),
      ],
      at(2),
      TIMEOUT,
    );
    assert.equal(done.events[0]?.data.new_workers, 3);
    const late = recordFacts(
      done.ledger,
      [ev('NodeReady', { action_id: 'up-1', node_name: 'n2', ready_after: 1 })],
      at(3),
      TIMEOUT,
    );
    assert.equal(workersOf(late.ledger), 3);
  });
});

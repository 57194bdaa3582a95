import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { type EventData, parseData, sampleData, shortName } from '@scalewise/events';
import {
  claim,
  desiredOf,
  emptyLedger,
  inFlightOf,
  type Ledger,
  listed,
  lossesSince,
  recordFacts,
  withLimits,
  workersOf,
} from '@scalewise/pool';
import {
  type EnforcerEvent,
  type EnforcerEventType,
  type EnforcerInput,
  type EnforcerIntent,
  type EnforcerState,
  enforce,
  initialEnforcerState,
} from './enforce.ts';
import { defineFloorPolicy, type FloorPolicy, type FloorPolicyInput, sourceAllowed } from './policy.ts';

const T0 = Date.parse('2026-11-22T11:20:00.000Z');
/** Epoch ms of `s` seconds after T0. */
const at = (s: number) => T0 + s * 1000;
let seq = 0;

const floor = (o: Partial<FloorPolicyInput> = {}): FloorPolicy =>
  defineFloorPolicy({ name: 'workers', min: 2, max: 6, ...o });

function ev<T extends EnforcerEventType>(type: T, data: Partial<EventData<T>> = {}): EnforcerEvent {
  return {
    id: `e${++seq}`,
    type,
    source: '/scalewise/test',
    data: { ...sampleData[type], ...data },
  } as EnforcerEvent;
}
const lost = (node: string) =>
  ev('io.scalewise.NodeUnexpectedlyLost', { node_name: node, cause: 'container_crash' });
const upStarted = (action: string, count: number) =>
  ev('io.scalewise.ScaleUpStarted', { action_id: action, count });
const downStarted = (action: string, nodes: string[]) =>
  ev('io.scalewise.ScaleDownStarted', { action_id: action, count: nodes.length, nodes });
const ready = (node: string, action: string) =>
  ev('io.scalewise.NodeReady', { node_name: node, action_id: action });
const removed = (node: string, action: string) =>
  ev('io.scalewise.NodeRemoved', { node_name: node, action_id: action });
const completed = (action: string, kind: 'scale_up' | 'scale_down' = 'scale_up') =>
  ev('io.scalewise.ScalingActionCompleted', { action_id: action, action: kind });
const failed = (action: string) =>
  ev('io.scalewise.ScalingActionFailed', { action_id: action, action: 'scale_up' });
const update = (data: object, source = '/ci/x') =>
  ({
    id: `u${++seq}`,
    type: 'io.scalewise.trigger.update',
    source,
    data: { pool: 'workers', ...data },
  }) as EnforcerEvent;
const tick = (): EnforcerInput => ({ type: 'tick', id: `tick-${++seq}` });

/** `w-1` .. `w-n`. */
const nodes = (n: number) => Array.from({ length: n }, (_, i) => `w-${i + 1}`);
const ready$ = (names: readonly string[]) => names.map((name) => ({ name, ready: true }));

/** A ledger that has listed these nodes. */
const ledgerOf = (pool: string, names: readonly string[]): Ledger =>
  listed(emptyLedger(pool), ready$(names), at(0)).ledger;

const names = (events: readonly { type: string }[]) => events.map((e) => shortName(e.type));

function one<T extends EnforcerIntent['type']>(events: readonly EnforcerIntent[], type: T): EventData<T> {
  const found = events.filter((e) => e.type === type);
  assert.equal(found.length, 1, `one ${type} in ${names(events).join(', ')}`);
  return found[0]!.data as EventData<T>;
}

const dataOf = <T extends EnforcerEventType>(e: EnforcerEvent, type: T): EventData<T> => {
  assert.equal(e.type, type);
  return e.data as EventData<T>;
};

/**
 * One pool as the services share it: its ledger, written by the producers before they publish
 * (node-manager and state-sync, with `recordFacts` and `listed`) and by the deciders' claims,
 * and the min-enforcer core reading events. Times are seconds after T0.
 */
function pool(o: Partial<FloorPolicyInput> = {}) {
  const policy = floor(o);
  const timeoutMs = policy.actionTimeoutSeconds * 1000;
  let ledger: Ledger = emptyLedger(policy.name);
  let state: EnforcerState = initialEnforcerState([policy]);
  const out: EnforcerIntent[] = [];
  const w = {
    policy,
    get ledger() {
      return ledger;
    },
    get state() {
      return state;
    },
    /** Everything min-enforcer published so far. */
    out,
    /** A producer writes the event's facts at `t`; returns the event as it publishes it (the ledger's numbers). */
    fact(t: number, e: EnforcerEvent): EnforcerEvent {
      const r = recordFacts(ledger, [e], at(t), timeoutMs);
      ledger = r.ledger;
      return r.events[0] as EnforcerEvent;
    },
    /** state-sync lists the pool's Ready nodes at `t`; returns what it publishes: the losses found, then the sync. */
    list(t: number, names: readonly string[]): EnforcerEvent[] {
      const l = listed(ledger, ready$(names), at(t));
      const losses = recordFacts(l.ledger, l.lost.map(lost), at(t), timeoutMs);
      ledger = losses.ledger;
      const n = workersOf(ledger) ?? 0;
      return [
        ...losses.events,
        ev('io.scalewise.ClusterStateSynced', {
          workers: n,
          k8s_nodes: n,
          docker_containers: n,
          db_workers: n,
          last_sync: new Date(at(t)).toISOString(),
        }),
      ];
    },
    /** The decision engine claims a scale-up in the ledger. */
    claim(t: number, id: string, count: number) {
      ledger = claim(ledger, { id, direction: 'up', count, origin: 'decision', now: at(t), timeoutMs });
    },
    /** Another service writes the ledger. */
    write(f: (l: Ledger) => Ledger) {
      ledger = f(ledger);
    },
    /**
     * min-enforcer reads inputs at `t`: the core steps from the ledger as it is now and its claim
     * is written back (the shell's one compare-and-set). Returns what it published.
     */
    read(t: number, ...inputs: EnforcerInput[]): EnforcerIntent[] {
      const events: EnforcerIntent[] = [];
      for (const input of inputs) {
        const r = enforce({ ...state, ledgers: { ...state.ledgers, [policy.name]: ledger } }, input, at(t));
        state = r.state;
        ledger = r.state.ledgers[policy.name] ?? ledger;
        for (const e of r.events) parseData(e.type, e.data);
        events.push(...(r.events as EnforcerIntent[]));
      }
      out.push(...events);
      return events;
    },
    tick(t: number) {
      return w.read(t, tick());
    },
    /** A fact written and its event read at the same moment. */
    happen(t: number, e: EnforcerEvent) {
      return w.read(t, w.fact(t, e));
    },
  };
  return w;
}

/** A pool whose nodes state-sync listed at 0, the listing read. */
function listedPool(o: Partial<FloorPolicyInput>, members: readonly string[]) {
  const w = pool(o);
  w.read(0, ...w.list(0, members));
  return w;
}

describe('seed 000 flow 2: minimum node violation recovery', () => {
  test('lost -> Violation, AutoScaleUpToMinimum; started, ready; completed -> Restored; listed -> nothing', () => {
    const w = listedPool({}, ['k3s-worker-1', 'k3s-worker-3']);
    assert.deepEqual(w.out, []);
    const loss = w.fact(1, lost('k3s-worker-3'));
    assert.equal(dataOf(loss, 'io.scalewise.NodeUnexpectedlyLost').remaining_workers, 1);
    const first = w.read(1, loss);
    assert.deepEqual(names(first), ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    assert.deepEqual(one(first, 'io.scalewise.MinimumNodesViolation'), {
      pool: 'workers',
      current_workers: 1,
      min_workers: 2,
      violation_time: '2026-11-22T11:20:01.000Z',
    });
    assert.deepEqual(one(first, 'io.scalewise.AutoScaleUpToMinimum'), {
      pool: 'workers',
      current_workers: 1,
      min_workers: 2,
      scale_up_count: 1,
      reason: 'minimum_violation',
    });
    const repair = first[1]!.id;
    // node-manager carries it out, writing each fact before it publishes it.
    const started = w.fact(2, upStarted(repair, 1));
    const s = dataOf(started, 'io.scalewise.ScaleUpStarted');
    assert.deepEqual([s.previous_workers, s.target_workers], [1, 2]);
    const rest = [
      ...w.read(2, started),
      ...w.tick(10),
      ...w.happen(20, ready('k3s-worker-14', repair)),
      ...w.tick(20.5), // a check between NodeReady and the completion must not restore early
      ...w.happen(21, completed(repair)),
      ...w.read(22, ...w.list(22, ['k3s-worker-1', 'k3s-worker-14'])),
      ...w.tick(30),
    ];
    assert.deepEqual(
      names(rest),
      ['MinimumNodesRestored'],
      'restored after the completion, not at NodeReady',
    );
    assert.deepEqual(one(rest, 'io.scalewise.MinimumNodesRestored'), {
      pool: 'workers',
      current_workers: 2,
      min_workers: 2,
      restore_time: '2026-11-22T11:20:21.000Z',
      violation_duration: 20,
    });
    assert.equal(w.ledger.actions[repair]?.state, 'done');
  });
});

describe('the floor reads the ledger', () => {
  test('before the pool has been listed nothing is decided: a tick, a loss, an update', () => {
    const w = pool();
    const events = [...w.tick(0), ...w.happen(1, lost('w-1')), ...w.read(2, update({ min: 4 }))];
    assert.deepEqual(events, []);
    assert.equal(workersOf(w.ledger), null);
  });

  test('a listing below min: the violation, and a repair of exactly the deficit, with the ledger’s workers', () => {
    const w = pool({ min: 4 });
    const events = w.read(0, ...w.list(0, nodes(1)));
    assert.deepEqual(names(events), ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    const repair = one(events, 'io.scalewise.AutoScaleUpToMinimum');
    assert.equal(repair.current_workers, workersOf(w.ledger));
    assert.equal(repair.scale_up_count, 3);
    assert.deepEqual(
      inFlightOf(w.ledger, at(0)).map((a) => [a.id, a.origin, a.state, a.count]),
      [[events[1]!.id, 'floor', 'claimed', 3]],
      'claimed in the ledger under its id',
    );
    assert.equal(desiredOf(w.ledger, at(0)), 4);
  });

  test('facts read newest first: restored once, at the first one read, with the ledger’s workers', () => {
    const w = listedPool({}, nodes(1));
    const repair = w.out[1]!.id;
    const started = w.fact(2, upStarted(repair, 1));
    const joined = w.fact(3, ready('w-9', repair));
    const done = w.fact(4, completed(repair));
    const events = [...w.read(5, done), ...w.read(5.1, joined), ...w.read(5.2, started), ...w.tick(6)];
    assert.deepEqual(names(events), ['MinimumNodesRestored']);
    assert.equal(one(events, 'io.scalewise.MinimumNodesRestored').current_workers, 2);
    assert.equal(workersOf(w.ledger), 2);
  });

  test('a node a scale-down removes is no loss: one loss beside it is an ordinary repair', () => {
    const w = listedPool({ emergencyScaleThreshold: 2 }, nodes(3));
    const early = [
      ...w.happen(1, downStarted('d-1', ['w-3'])),
      ...w.happen(2, lost('w-1')), // 2 left: at the floor
    ];
    assert.deepEqual(early, []);
    const events = w.happen(3, removed('w-3', 'd-1'));
    assert.deepEqual(names(events), ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 1);
    assert.deepEqual(
      lossesSince(w.ledger, at(0)).map((l) => l.node),
      ['w-1'],
    );
  });
});

describe('one repair per deficit', () => {
  test('no second repair while one is in flight: ticks, the loss read again, a second report of it, its start', () => {
    const w = listedPool({}, nodes(2));
    const loss = w.fact(1, lost('w-2'));
    const first = w.read(1, loss);
    assert.deepEqual(names(first), ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    const repair = first[1]!.id;
    const again = [
      ...w.tick(10),
      ...w.read(11, loss), // redelivered
      ...w.happen(12, lost('w-2')), // reported again by another producer
      ...w.read(13, ...w.list(13, ['w-1'])),
      ...w.happen(14, upStarted(repair, 1)),
      ...w.tick(20),
    ];
    assert.deepEqual(names(again), []);
    assert.deepEqual(
      inFlightOf(w.ledger, at(20)).map((a) => a.id),
      [repair],
    );
    assert.equal(lossesSince(w.ledger, at(0)).length, 1, 'one loss');
  });

  test('a scale-up the decision engine claimed covering the deficit: the violation is reported, no repair', () => {
    const w = listedPool({ min: 3 }, nodes(3));
    w.claim(1, 'decision-7', 1);
    const events = [...w.happen(2, lost('w-3')), ...w.tick(10), ...w.tick(20)];
    assert.deepEqual(names(events), ['MinimumNodesViolation']);
    assert.equal(desiredOf(w.ledger, at(20)), 3);
  });

  test('a decision’s scale-up covering part of the deficit: the repair is for the rest', () => {
    const w = pool({ min: 4 });
    w.list(0, nodes(1)); // not read yet
    w.claim(0.5, 'decision-7', 1);
    const events = w.tick(1);
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 2);
    assert.equal(desiredOf(w.ledger, at(1)), 4);
  });

  test('node-manager starting a repair for fewer nodes than claimed: the rest is repaired when its start is read', () => {
    const w = listedPool({ min: 4 }, nodes(1));
    const repair = w.out[1]!.id;
    const events = w.happen(2, upStarted(repair, 1));
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 2);
    assert.equal(desiredOf(w.ledger, at(2)), 4);
  });

  test('a repair lost without start or completion expires: the next check repairs again, with no new violation', () => {
    const w = listedPool({ actionTimeoutSeconds: 60 }, nodes(1));
    const events = [...w.tick(50), ...w.tick(61)];
    assert.deepEqual(names(w.out), ['MinimumNodesViolation', 'AutoScaleUpToMinimum', 'AutoScaleUpToMinimum']);
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 1);
  });
});

describe('EmergencyScaleUp', () => {
  test('threshold losses within the window: twice the deficit, the target and the rule stated', () => {
    const w = listedPool({ min: 3, max: 8 }, nodes(4));
    assert.deepEqual(w.happen(1, lost('w-1')), [], 'still at the floor');
    const events = w.happen(2, lost('w-2'));
    assert.deepEqual(names(events), ['MinimumNodesViolation', 'EmergencyScaleUp']);
    assert.deepEqual(one(events, 'io.scalewise.EmergencyScaleUp'), {
      pool: 'workers',
      lost_count: 2,
      remaining_workers: 2,
      min_workers: 3,
      emergency_scale: 2,
      target_workers: 4,
      rule: '2 nodes lost unexpectedly within 60s (threshold 2): twice the deficit of 1 below the minimum of 3: 2 -> 4',
    });
    assert.deepEqual(
      inFlightOf(w.ledger, at(2)).map((a) => [a.origin, a.count]),
      [['floor', 2]],
    );
  });

  test('two lost in one listing: one emergency for twice their deficit, whichever event is read first', () => {
    const w = listedPool({ min: 3, max: 8 }, nodes(3));
    const published = w.list(5, ['w-1']);
    assert.deepEqual(names(published), [
      'NodeUnexpectedlyLost',
      'NodeUnexpectedlyLost',
      'ClusterStateSynced',
    ]);
    const events = w.read(5, ...published.reverse());
    assert.deepEqual(names(events), ['MinimumNodesViolation', 'EmergencyScaleUp']);
    const e = one(events, 'io.scalewise.EmergencyScaleUp');
    assert.deepEqual([e.lost_count, e.remaining_workers, e.emergency_scale, e.target_workers], [2, 1, 4, 5]);
  });

  test('the emergency stops at max, and the rule says so', () => {
    const w = listedPool({ min: 3, max: 4 }, nodes(3));
    const e = one(w.read(5, ...w.list(5, ['w-1'])), 'io.scalewise.EmergencyScaleUp');
    assert.equal(e.emergency_scale, 3);
    assert.equal(e.target_workers, 4);
    assert.match(
      e.rule ?? '',
      /twice the deficit of 2 below the minimum of 3, cut to 3 by the maximum of 4: 1 -> 4$/,
    );
  });

  test('losses older than the window do not count: an ordinary repair', () => {
    const w = listedPool({ min: 3, emergencyWindowSeconds: 30 }, nodes(4));
    w.happen(1, lost('w-1'));
    const events = w.happen(40, lost('w-2'));
    assert.deepEqual(names(events), ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 1);
  });

  test('a pool of 5 (min 3, max 5): one loss, two more a window later: 2 left, deficit 1, +2 -> 4, never 2 -> 5', () => {
    for (const together of [false, true]) {
      const w = listedPool({ min: 3, max: 5 }, nodes(5));
      assert.deepEqual(w.happen(1, lost('w-1')), []);
      const events = together
        ? w.read(100, ...w.list(100, ['w-4', 'w-5'])) // state-sync finds both gone at once
        : [...w.happen(100, lost('w-2')), ...w.happen(101, lost('w-3'))];
      assert.deepEqual(names(events), ['MinimumNodesViolation', 'EmergencyScaleUp'], `together: ${together}`);
      const e = one(events, 'io.scalewise.EmergencyScaleUp');
      assert.deepEqual(
        [e.lost_count, e.remaining_workers, e.min_workers, e.emergency_scale, e.target_workers],
        [2, 2, 3, 2, 4],
      );
      assert.match(e.rule ?? '', /twice the deficit of 1 below the minimum of 3: 2 -> 4$/);
      assert.equal(desiredOf(w.ledger, at(101)), 4);
    }
  });

  test('emergency_scale_threshold 3: two losses are an ordinary repair', () => {
    const w = listedPool({ min: 3, emergencyScaleThreshold: 3 }, nodes(3));
    const events = w.read(1, ...w.list(1, ['w-1']));
    assert.deepEqual(names(events), ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 2);
  });

  test('a second loss while the first is repaired: an emergency for what the repair does not cover', () => {
    const w = listedPool({}, nodes(2));
    assert.deepEqual(names(w.happen(1, lost('w-2'))), ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    const events = w.happen(5, lost('w-1'));
    assert.deepEqual(names(events), ['EmergencyScaleUp']);
    const e = one(events, 'io.scalewise.EmergencyScaleUp');
    assert.deepEqual([e.remaining_workers, e.emergency_scale, e.target_workers], [0, 2, 3]);
  });

  test('losses above the floor are not the floor’s business', () => {
    const w = listedPool({}, nodes(6));
    assert.deepEqual([...w.happen(1, lost('w-5')), ...w.happen(1, lost('w-6')), ...w.tick(2)], []);
  });
});

describe('MinimumNodesRestored', () => {
  test('only after the completion: the last NodeReady is not enough while the action is in flight', () => {
    const w = listedPool({ min: 3, max: 8 }, nodes(4));
    w.happen(1, lost('w-1'));
    const emergency = w.happen(2, lost('w-2'))[1]!.id;
    const before = [
      ...w.happen(3, upStarted(emergency, 2)),
      ...w.happen(4, ready('w-7', emergency)), // 3: the floor
      ...w.tick(5),
      ...w.happen(6, ready('w-8', emergency)), // 4: all it adds
      ...w.tick(7),
    ];
    assert.deepEqual(before, []);
    const events = w.happen(8, completed(emergency));
    assert.deepEqual(names(events), ['MinimumNodesRestored']);
    const r = one(events, 'io.scalewise.MinimumNodesRestored');
    assert.equal(r.current_workers, workersOf(w.ledger));
    assert.equal(r.current_workers, 4);
    assert.equal(r.violation_duration, 6);
  });

  test('a repair that never completes: restored once it expires, its node there', () => {
    const w = listedPool({ actionTimeoutSeconds: 120 }, nodes(1));
    const repair = w.out[1]!.id;
    const events = [
      ...w.happen(20, ready('w-14', repair)),
      ...w.tick(30),
      ...w.read(40, ...w.list(40, ['w-1', 'w-14'])),
      ...w.tick(130),
    ];
    assert.deepEqual(names(events), ['MinimumNodesRestored']);
    assert.equal(one(events, 'io.scalewise.MinimumNodesRestored').restore_time, '2026-11-22T11:22:10.000Z');
  });

  test('autoScaleToMin false: the violation and the restoration are reported, nothing is acted on', () => {
    const w = listedPool({ autoScaleToMin: false }, nodes(2));
    const events = [...w.happen(1, lost('w-2')), ...w.tick(10), ...w.read(20, ...w.list(20, ['w-1', 'w-5']))];
    assert.deepEqual(names(events), ['MinimumNodesViolation', 'MinimumNodesRestored']);
    assert.equal(one(events, 'io.scalewise.MinimumNodesRestored').current_workers, 2);
    assert.deepEqual(inFlightOf(w.ledger, at(20)), []);
  });
});

describe('failed floor actions', () => {
  test('a failed floor action is retried one check interval after the failure, not at once', () => {
    const w = listedPool({}, nodes(1));
    const repair = w.out[1]!.id;
    const events = [
      ...w.happen(5, failed(repair)),
      ...w.read(6, ...w.list(6, nodes(1))),
      ...w.tick(10),
      ...w.tick(15),
    ];
    assert.deepEqual(names(events), ['AutoScaleUpToMinimum'], 'at 15 s, 10 s after the failure');
    assert.ok(events[0]!.id.startsWith('tick-'));
  });

  test('a check that finds the failure in the ledger before its event is read waits too', () => {
    const w = listedPool({}, nodes(1));
    const repair = w.out[1]!.id;
    const failure = w.fact(5, failed(repair));
    assert.deepEqual(w.tick(6), []);
    assert.equal(w.state.pools.workers?.retryAt, at(15));
    assert.deepEqual(names(w.tick(15)), ['AutoScaleUpToMinimum']);
    assert.deepEqual(w.read(16, failure), [], 'read late: the new repair covers the deficit');
  });

  test('a failed scale-up of the decision engine does not hold the floor back', () => {
    const w = listedPool({ min: 3 }, nodes(3));
    w.claim(1, 'decision-7', 1);
    assert.deepEqual(names(w.happen(2, lost('w-3'))), ['MinimumNodesViolation']);
    const events = w.happen(3, failed('decision-7'));
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 1);
  });

  test('a loss read again after its repair failed issues nothing under the used id; the next check repairs', () => {
    const w = listedPool({}, nodes(2));
    const loss = w.fact(1, lost('w-2'));
    const repair = w.read(1, loss)[1]!.id;
    w.happen(2, failed(repair));
    assert.deepEqual(w.read(20, loss), [], 'redelivered after the back-off');
    const events = w.tick(21);
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 1);
    assert.deepEqual(
      inFlightOf(w.ledger, at(21)).map((a) => a.id),
      [events[0]!.id],
    );
  });
});

describe('limits at run time', () => {
  test('trigger.update raising min: the limits are written into the ledger and the repair uses them', () => {
    const w = listedPool({}, nodes(2));
    const events = w.read(1, update({ min: 4 }));
    assert.deepEqual(names(events), ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    assert.equal(one(events, 'io.scalewise.MinimumNodesViolation').min_workers, 4);
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 2);
    assert.deepEqual(w.ledger.limits, {
      min: 4,
      max: 6,
      source: '/ci/x',
      at: at(1),
      base: { min: 2, max: 6 },
    });
  });

  test('limits another service wrote into the ledger are in force; a changed configuration overrides them', () => {
    const limits = { min: 3, max: 6, source: '/ci/x', at: at(0), base: { min: 2, max: 6 } };
    const w = listedPool({}, nodes(2));
    w.write((l) => withLimits(l, limits));
    const events = w.tick(1);
    assert.equal(one(events, 'io.scalewise.MinimumNodesViolation').min_workers, 3);
    // The configured min changed since the update was accepted: the configuration wins.
    const changed = listedPool({ min: 1 }, nodes(2));
    changed.write((l) => withLimits(l, limits));
    assert.deepEqual(changed.tick(1), []);
  });

  test('trigger.update lowering min under the workers ends a violation', () => {
    const w = listedPool({ autoScaleToMin: false }, nodes(1));
    const events = w.read(1, update({ min: 1 }));
    assert.deepEqual(names(w.out), ['MinimumNodesViolation', 'MinimumNodesRestored']);
    assert.equal(one(events, 'io.scalewise.MinimumNodesRestored').min_workers, 1);
  });

  test('a refused update changes nothing: a source outside the allowlist, min above max, no source', () => {
    const w = listedPool({ allowedTriggerSources: ['/ci/*'] }, nodes(2));
    const before = w.state;
    for (const u of [update({ min: 4 }, '/evil'), update({ min: 7 }), update({ min: 3 }, '')]) {
      const r = enforce(before, u, at(1));
      assert.equal(r.state, before, JSON.stringify(u));
      assert.deepEqual(r.events, []);
    }
    assert.equal(w.ledger.limits, null);
  });
});

describe('dry_run pools', () => {
  test('Given a dry-run pool below its floor, When a tick checks, Then the repair is reported marked dry_run, once', () => {
    const state = initialEnforcerState([floor({ dryRun: true })], { workers: ledgerOf('workers', nodes(1)) });
    const first = enforce(state, tick(), at(0));
    const repair = first.events.find((e) => e.type === 'io.scalewise.AutoScaleUpToMinimum');
    assert.equal(repair?.type, 'io.scalewise.AutoScaleUpToMinimum');
    assert.equal(repair.data.dry_run, true);
    assert.equal(repair.data.scale_up_count, 1);
    parseData(repair.type, repair.data);
    // Claimed like a real one: the next tick does not repeat it.
    assert.deepEqual(enforce(first.state, tick(), at(10)).events, []);
  });

  test('Given a dry-run pool losing two nodes at once, Then EmergencyScaleUp is marked dry_run', () => {
    const w = listedPool({ dryRun: true, min: 3 }, nodes(3));
    const e = one(w.read(1, ...w.list(1, ['w-1'])), 'io.scalewise.EmergencyScaleUp');
    assert.equal(e.dry_run, true);
  });

  test('Given an ordinary pool, Then floor actions carry no dry_run field', () => {
    const { events } = enforce(
      initialEnforcerState([floor()], { workers: ledgerOf('workers', nodes(1)) }),
      tick(),
      at(0),
    );
    const repair = events.find((e) => e.type === 'io.scalewise.AutoScaleUpToMinimum');
    assert.equal(repair?.type, 'io.scalewise.AutoScaleUpToMinimum');
    assert.equal(repair.data.dry_run, undefined);
    assert.throws(
      () => defineFloorPolicy({ name: 'p', min: 0, max: 1, dryRun: 1 as unknown as boolean }),
      /dryRun must be a boolean/,
    );
  });
});

describe('robustness and purity', () => {
  test('a tick checks every pool; ids carry the pool and are unique', () => {
    const gpu = floor({ name: 'gpu', min: 1, max: 2 });
    const s = initialEnforcerState([floor(), gpu], {
      workers: ledgerOf('workers', nodes(1)),
      gpu: ledgerOf('gpu', []),
    });
    const t = tick();
    const r = enforce(s, t, at(0));
    assert.deepEqual(
      r.events.map((e) => e.id),
      [
        `${t.id}/workers/MinimumNodesViolation`,
        `${t.id}/workers/AutoScaleUpToMinimum`,
        `${t.id}/gpu/MinimumNodesViolation`,
        `${t.id}/gpu/AutoScaleUpToMinimum`,
      ],
    );
    assert.ok(r.events.every((e) => e.causedBy === t));
    assert.equal(desiredOf(r.state.ledgers.gpu!, at(0)), 1);
    assert.equal(desiredOf(r.state.ledgers.workers!, at(0)), 2);
  });

  test('inputs it cannot use change nothing, and it never throws', () => {
    const s = listedPool({}, nodes(2)).state;
    const synced = (pool: string) => ({
      ...ev('io.scalewise.ClusterStateSynced'),
      data: { ...sampleData['io.scalewise.ClusterStateSynced'], pool },
    });
    const junk: unknown[] = [
      null,
      42,
      { type: 'tick' },
      { type: 'tick', id: '' },
      {
        id: 'x',
        type: 'io.scalewise.PoolMetricsObserved',
        source: 's',
        data: sampleData['io.scalewise.PoolMetricsObserved'],
      },
      { id: 'x', type: 'io.scalewise.NodeReady', source: 's', data: { pool: 'workers' } },
      synced('elsewhere'),
      synced('constructor'),
      { ...synced('workers'), data: { pool: 'workers' } },
    ];
    for (const input of junk) {
      const r = enforce(s, input as EnforcerInput, at(1));
      assert.equal(r.state, s, JSON.stringify(input));
      assert.deepEqual(r.events, []);
    }
    assert.equal(enforce(s, tick(), Number.NaN).state, s);
    const below = listedPool({ min: 3 }, nodes(2));
    assert.deepEqual(enforce(below.state, tick(), 1e300).events, [], 'a time Date cannot hold');
  });

  test('the input state is never changed', () => {
    const w = listedPool({}, nodes(2));
    const loss = w.fact(1, lost('w-1'));
    const s = { ...w.state, ledgers: { workers: w.ledger } };
    const copy = structuredClone(s);
    const freeze = (o: unknown): void => {
      if (typeof o === 'object' && o !== null) {
        Object.freeze(o);
        for (const v of Object.values(o)) freeze(v);
      }
    };
    freeze(s);
    assert.equal(enforce(s, loss, at(1)).events.length, 2);
    enforce(s, tick(), at(2));
    enforce(s, update({ min: 4 }), at(3));
    assert.deepEqual(s, copy);
  });

  test('defineFloorPolicy: seed defaults, and errors naming the key', () => {
    const p = defineFloorPolicy({ name: 'workers', min: 2, max: 6 });
    assert.equal(p.checkIntervalSeconds, 10);
    assert.equal(p.emergencyScaleThreshold, 2);
    assert.equal(p.autoScaleToMin, true);
    const cases: Array<[Partial<FloorPolicyInput>, RegExp]> = [
      [{ min: 7 }, /min \(7\) must not exceed max/],
      [{ emergencyScaleThreshold: 0 }, /emergencyScaleThreshold/],
      [{ checkIntervalSeconds: 0 }, /checkIntervalSeconds/],
      [{ name: '' }, /name/],
    ];
    for (const [o, m] of cases) {
      assert.throws(
        () => defineFloorPolicy({ name: 'workers', min: 2, max: 6, ...o }),
        (e: unknown) => e instanceof ScalewiseError && e.code === 'INVALID_CONFIG' && m.test(e.message),
      );
    }
    assert.ok(sourceAllowed('/ci/a', ['/ci/*']) && !sourceAllowed('/cd/a', ['/ci/*']));
  });
});

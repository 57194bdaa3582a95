import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { desiredOf as ledgerDesired } from '@scalewise/pool';
import { at, floorClaimed, given, names, one, pool, quiet, validateAll, when } from './fixtures.ts';
import { completed, ev, GiB, metrics, pending, pressure, synced, trigger } from './inputs.ts';

describe('scale-up on pending pods', () => {
  test('pending pods scale up at once, sized by CPU: 6000m on 4000m workers needs 2', () => {
    const { state } = quiet(3);
    const { events } = when(state, pending(3, 6000, 3 * GiB), 1);
    const d = one(events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.reason, 'pending_pods');
    assert.equal(d.current_workers, 3);
    assert.equal(d.desired_workers, 5);
    assert.equal(d.count, 2);
    assert.equal(d.explanation.rule, 'pending_pods');
    assert.equal(d.explanation.inputs.workers_needed, 2);
    assert.equal(d.explanation.inputs.workers_for_cpu, 2);
    assert.equal(d.explanation.inputs.workers_for_memory, 1);
    assert.equal(d.explanation.clamped, undefined);
    assert.match(d.explanation.summary, /3 pods pending .* scale up from 3 to 5 \(\+2\)/);
    validateAll(events);
  });

  test('sized by memory when memory needs more workers: 20 GiB on 8 GiB workers needs 3', () => {
    const { state } = quiet(2);
    const d = one(when(state, pending(4, 1000, 20 * GiB), 1).events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.count, 3);
    assert.equal(d.explanation.inputs.workers_for_memory, 3);
  });

  test('at least one worker, even for pods without requests', () => {
    const { state } = quiet(2);
    assert.equal(one(when(state, pending(1, 0, 0), 1).events, 'io.scalewise.ScaleUpDecision').count, 1);
  });

  test('a pod larger than a node is left out of the sizing', () => {
    const { state } = quiet(2);
    const d = one(
      when(state, pending(2, 6000, 2 * GiB, { cpu: 5000, memory: GiB }), 1).events,
      'io.scalewise.ScaleUpDecision',
    );
    assert.equal(d.count, 1, '1000m left after the 5000m pod');
    assert.equal(d.explanation.inputs.largest_pod_fits, false);
    assert.match(d.explanation.summary, /fits no node/);
  });

  test('when the only pending pod fits no node, nothing is decided', () => {
    const { state } = quiet(2);
    assert.deepEqual(when(state, pending(1, 9000, GiB, { cpu: 9000, memory: GiB }), 1).events, []);
  });

  test('never above max: clamped, with the clamp in the explanation', () => {
    const { state } = quiet(5);
    const d = one(when(state, pending(6, 12000, 6 * GiB), 1).events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.desired_workers, 6);
    assert.equal(d.count, 1);
    assert.deepEqual(d.explanation.clamped, { wanted: 8, got: 6, by: 'max_workers' });
    assert.ok(d.explanation.comparisons.some((c) => c.metric === 'desired_workers' && c.threshold === 6));
  });

  test('at max, pending pods decide nothing', () => {
    const { state } = quiet(6);
    assert.deepEqual(when(state, pending(2, 2000, GiB), 1).events, []);
  });

  test('the same pods again while their workers are in flight decide nothing; more pods add the difference', () => {
    const { state } = given(pool(), [
      [0, synced(2)],
      [1, pending(2, 4000, GiB)],
    ]);
    assert.deepEqual(when(state, pending(2, 4000, GiB), 5).events, []);
    const d = one(when(state, pending(4, 8000, GiB), 5).events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.current_workers, 3, 'the in-flight worker counts');
    assert.equal(d.desired_workers, 4);
  });

  test('under its minimum, pods for 1 node grow the pool to min: 0 workers, min 2, the decision targets 2', () => {
    const { state } = quiet(0);
    const { events, state: after } = when(state, pending(1, 1000, GiB), 1);
    const d = one(events, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d.current_workers, d.desired_workers, d.count], [0, 2, 2]);
    assert.deepEqual(d.explanation.clamped, { wanted: 1, got: 2, by: 'min_workers' });
    // Claimed: the pool heads for its minimum, so min-enforcer finds no deficit to repair.
    assert.equal(ledgerDesired(after.ledgers.workers!, at(1)), 2);
  });

  test('a floor repair min-enforcer claimed covers the deficit: the pods it fits decide nothing (one action per deficit)', () => {
    const base = quiet(0).state;
    const floor = ev(
      'io.scalewise.AutoScaleUpToMinimum',
      { current_workers: 0, scale_up_count: 2 },
      'floor-1',
    );
    const claimed = floorClaimed(base, 'floor-1', 2, 1);
    // Read before or after the floor event: the claim is what counts.
    for (const state of [claimed, when(claimed, floor, 1).state]) {
      const { events, state: after } = when(state, pending(1, 1000, GiB), 2);
      assert.deepEqual(events, []);
      assert.deepEqual(Object.keys(after.ledgers.workers!.actions), ['floor-1']);
    }
    // Pods that need more than the repair brings ask only for the rest.
    const d = one(when(claimed, pending(3, 12000, GiB), 2).events, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d.current_workers, d.desired_workers], [2, 3]);
  });

  test('pending pods are not held back by the cooldown', () => {
    const { state, events } = given(pool(), [
      [0, synced(2)],
      [1, pending(1, 1000, GiB)],
    ]);
    const first = events[0]!.id;
    const after = when(state, completed(first, 'scale_up', 2, 3), 20).state;
    assert.equal(one(when(after, pending(1, 1000, GiB), 21).events, 'io.scalewise.ScaleUpDecision').count, 1);
  });

  test('the size must be known: before any report, nothing is decided', () => {
    const { state } = given(pool());
    assert.deepEqual(when(state, pending(3, 6000, GiB), 1).events, []);
  });

  test('a paused pool decides nothing on pending pods', () => {
    const { state } = given(pool(), [
      [0, synced(2)],
      [1, trigger('io.scalewise.trigger.pause', { pool: 'workers' })],
    ]);
    assert.deepEqual(when(state, pending(3, 6000, GiB), 2).events, []);
  });
});

describe('scale-up on resource pressure', () => {
  test('CPU 90% on 3 workers: to the CPU target of 60%, i.e. 5', () => {
    const { state } = quiet(3);
    const { events } = when(state, pressure(3, 90, 50), 1);
    const d = one(events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.reason, 'resource_pressure');
    assert.equal(d.desired_workers, 5);
    assert.deepEqual(
      d.explanation.comparisons.filter((c) => c.metric === 'cpu_avg' || c.metric === 'memory_avg'),
      [
        { metric: 'cpu_avg', value: 90, operator: '>', threshold: 80, result: true },
        { metric: 'memory_avg', value: 50, operator: '>', threshold: 85, result: false },
      ],
    );
    validateAll(events);
  });

  test('mild pressure still adds at least one worker', () => {
    const { state } = quiet(4);
    assert.equal(one(when(state, pressure(4, 10, 86), 1).events, 'io.scalewise.ScaleUpDecision').count, 1);
  });

  test('within the cooldown after an action, pressure waits; after it, it scales', () => {
    const { state, events } = given(pool({ cooldownSeconds: 60 }), [
      [0, synced(2)],
      [1, pending(1, 1000, GiB)],
    ]);
    const s1 = when(state, completed(events[0]!.id, 'scale_up', 2, 3), 10).state;
    assert.deepEqual(when(s1, pressure(3, 95, 50), 30).events, []);
    assert.equal(
      one(when(s1, pressure(3, 95, 50), 71).events, 'io.scalewise.ScaleUpDecision').reason,
      'resource_pressure',
    );
  });
});

describe('scale-up behaviour (HPA v2)', () => {
  test('rate policy Pods 1 per 60 s: clamped to +1, then nothing until the period has passed', () => {
    const p = pool({
      max: 10,
      behavior: { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
    });
    const { state, events } = given(p, [
      [0, synced(2)],
      [1, pending(3, 12000, GiB)],
    ]);
    const d = one(events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.count, 1);
    assert.equal(d.explanation.clamped?.wanted, 5);
    assert.equal(d.explanation.clamped?.got, 3);
    assert.match(d.explanation.clamped?.by ?? '', /^rate_policy/);
    const s1 = when(state, completed(events[0]!.id, 'scale_up', 2, 3), 20).state;
    assert.deepEqual(when(s1, pending(3, 12000, GiB), 30).events, [], 'the period still holds the +1');
    assert.equal(one(when(s1, pending(3, 12000, GiB), 62).events, 'io.scalewise.ScaleUpDecision').count, 1);
  });

  test('an action counts once: its start read after the longest period is not a second change', () => {
    const once = [{ type: 'Pods' as const, value: 1, periodSeconds: 15 }];
    const p = pool({ max: 10, behavior: { scaleUp: { policies: once }, scaleDown: { policies: once } } });
    const { state, events } = given(p, [
      [0, synced(3)],
      [1, pending(1, 1000, GiB)],
    ]);
    const id = events[0]!.id;
    // node-manager's start, read 20 s after the decision (a consumer lagging): still in flight.
    const s1 = when(state, ev('io.scalewise.ScaleUpStarted', { action_id: id, count: 1 }), 20).state;
    assert.deepEqual(
      s1.pools.workers!.scaleEvents.map((e) => [e.id, e.change]),
      [[id, 1]],
    );
    const d = one(when(s1, pending(3, 12000, GiB), 21).events, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d.current_workers, d.desired_workers], [4, 5], 'the period holds no change of ours');
  });

  test('selectPolicy Min takes the stricter of Pods 4 and Percent 100: on 2 workers, +2', () => {
    const p = pool({ max: 20, behavior: { scaleUp: { selectPolicy: 'Min' } } });
    const { state } = quiet(2, p);
    assert.equal(
      one(when(state, pending(9, 36000, GiB), 1).events, 'io.scalewise.ScaleUpDecision').desired_workers,
      4,
    );
  });

  test('selectPolicy Max takes the more generous: on 2 workers, +4', () => {
    const p = pool({ max: 20 });
    const { state } = quiet(2, p);
    assert.equal(
      one(when(state, pending(9, 36000, GiB), 1).events, 'io.scalewise.ScaleUpDecision').desired_workers,
      6,
    );
  });

  test('selectPolicy Disabled: no automatic scale-up at all', () => {
    const p = pool({ behavior: { scaleUp: { selectPolicy: 'Disabled' } } });
    const { state } = quiet(2, p);
    assert.deepEqual(when(state, pending(3, 6000, GiB), 1).events, []);
    assert.deepEqual(when(state, pressure(2, 99, 99), 1).events, []);
  });

  test('a scale-up window of 60 s grows only to the lowest recommendation within it', () => {
    const p = pool({ behavior: { scaleUp: { stabilizationWindowSeconds: 60 } } });
    const { state } = given(p, [
      [0, synced(3)],
      [0, metrics(3, 50, 50)],
    ]);
    assert.deepEqual(when(state, pending(2, 8000, GiB), 10).events, [], 'the sample 10 s ago recommended 3');
    const s1 = when(state, pending(2, 8000, GiB), 10).state;
    const d = one(when(s1, pending(2, 8000, GiB), 61).events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.desired_workers, 5);
  });

  test('floor actions of min-enforcer count as in flight (claimed in the ledger) and as changes for the rate policies', () => {
    const p = pool({ behavior: { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } } });
    const floor = ev(
      'io.scalewise.AutoScaleUpToMinimum',
      { current_workers: 1, min_workers: 2, scale_up_count: 1 },
      'floor-1',
    );
    // min-enforcer claims the repair in the ledger, then publishes it.
    let state = floorClaimed(quiet(1, p).state, 'floor-1', 1, 1);
    state = when(state, floor, 1).state;
    // desired is already 2; the floor's +1 used the only pod the period allows.
    assert.deepEqual(when(state, pending(2, 5000, GiB), 2).events, []);
    const { events } = when(state, pending(2, 5000, GiB), 62);
    assert.deepEqual(names(events), ['ScaleUpDecision']);
    const d = one(events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.current_workers, 2, 'the floor worker in flight counts');
    assert.equal(d.desired_workers, 3);
  });
});

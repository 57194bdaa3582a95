import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { given, names, one, pool, quiet, validateAll, when } from './fixtures.ts';
import { completed, ev, GiB, metrics, pending, pressure, synced, trigger, underutilized } from './inputs.ts';

describe('scale-down for underutilisation', () => {
  test('underutilisation held for 300 s: scale down to the size that runs at the targets', () => {
    const { state } = quiet(5, pool({ max: 8 }));
    const { events } = when(state, underutilized(5, 20, 30), 1);
    const d = one(events, 'io.scalewise.ScaleDownDecision');
    // ceil(5 * max(20/60, 30/70)) = ceil(2.14) = 3
    assert.equal(d.current_workers, 5);
    assert.equal(d.desired_workers, 3);
    assert.equal(d.count, 2);
    assert.equal(d.reason, 'underutilization');
    assert.equal(d.explanation.rule, 'underutilization');
    assert.deepEqual(
      d.explanation.comparisons.slice(0, 3).map((c) => [c.metric, c.result]),
      [
        ['cpu_avg', true],
        ['memory_avg', true],
        ['underutilized_seconds', true],
      ],
    );
    validateAll(events);
  });

  test('never below min: clamped, with min_workers in the explanation', () => {
    const { state } = quiet(4);
    const d = one(when(state, underutilized(4, 1, 1), 1).events, 'io.scalewise.ScaleDownDecision');
    assert.equal(d.desired_workers, 2);
    assert.deepEqual(d.explanation.clamped, { wanted: 1, got: 2, by: 'min_workers' });
  });

  test('landing on min while underutilised announces OptimalStateTrigger(anticipated) first', () => {
    const { state } = quiet(3);
    const { events } = when(state, underutilized(3), 1);
    assert.deepEqual(names(events), ['OptimalStateTrigger', 'ScaleDownDecision']);
    const o = one(events, 'io.scalewise.OptimalStateTrigger');
    assert.deepEqual(o, {
      pool: 'workers',
      current_workers: 3,
      min_workers: 2,
      cpu_avg: 25,
      memory_avg: 35,
      state: 'anticipated',
    });
  });

  test('not held long enough yet: nothing; a later low sample after the time decides', () => {
    const { state } = quiet(4);
    const s1 = when(state, underutilized(4, 10, 10, 100), 1);
    assert.deepEqual(s1.events, []);
    assert.deepEqual(when(s1.state, metrics(4, 10, 10), 150).events, [], '249 s held');
    const { events } = when(s1.state, metrics(4, 10, 10), 202);
    assert.equal(one(events, 'io.scalewise.ScaleDownDecision').desired_workers, 2);
  });

  test('a sample above the low thresholds ends the stretch: it must hold again from the next warning', () => {
    const { state } = quiet(4, pool({ behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } }));
    const s1 = when(state, underutilized(4, 10, 10, 100), 1).state;
    const s2 = when(s1, metrics(4, 35, 10), 100).state;
    assert.deepEqual(when(s2, metrics(4, 10, 10), 250).events, [], 'no stretch in progress');
    assert.deepEqual(when(s2, underutilized(4, 10, 10, 100), 260).events, [], 'a new stretch of 100 s');
  });

  test('no scale-down to be had (1 worker at the targets) emits nothing', () => {
    const { state } = quiet(1, pool({ min: 0 }));
    assert.deepEqual(when(state, underutilized(1, 29, 39), 1).events, []);
  });

  test('min 0: an idle pool scales to zero', () => {
    const { state } = quiet(2, pool({ min: 0 }));
    assert.equal(
      one(when(state, underutilized(2, 0, 0), 1).events, 'io.scalewise.ScaleDownDecision').desired_workers,
      0,
    );
  });
});

describe('ScaleDownBlocked, one test per reason', () => {
  test('paused', () => {
    const { state } = given(pool(), [
      [0, synced(4)],
      [1, trigger('io.scalewise.trigger.pause', { pool: 'workers' })],
    ]);
    const { events } = when(state, underutilized(4), 2);
    const b = one(events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'paused');
    assert.equal(b.workers, 4);
    assert.equal(b.min_workers, 2);
    validateAll(events);
  });

  test('at_minimum (and OptimalStateTrigger active: the seed definition)', () => {
    const { state } = quiet(2);
    const { events } = when(state, underutilized(2), 1);
    assert.deepEqual(names(events), ['OptimalStateTrigger', 'ScaleDownBlocked']);
    assert.equal(one(events, 'io.scalewise.OptimalStateTrigger').state, 'active');
    const b = one(events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'at_minimum');
    assert.equal(b.explanation.rule, 'min_floor');
    validateAll(events);
  });

  test('pending_pods, with the pending count', () => {
    const { state } = given(pool(), [
      [0, synced(4)],
      [0, metrics(4, 20, 20, { pending_pods: 3 })],
    ]);
    const { events } = when(state, underutilized(4), 1);
    const b = one(events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'pending_pods');
    assert.equal(b.pending_count, 3);
    assert.match(b.explanation.summary, /but 3 pods are pending/);
    validateAll(events);
  });

  test('pending pods reported by PendingPodsDetected block too, until a sample reports none', () => {
    const { state } = given(pool(), [
      [0, synced(6)],
      [0, pending(1, 100, 100)],
    ]);
    assert.equal(
      one(when(state, underutilized(6), 1).events, 'io.scalewise.ScaleDownBlocked').reason,
      'pending_pods',
    );
    const cleared = when(state, metrics(6, 20, 20, { pending_pods: 0 }), 1).state;
    // The pending pods' recommendation (7) still holds the size for the 300 s window.
    const b = one(when(cleared, underutilized(6), 2).events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'stabilization_window');
    assert.equal(names(when(cleared, underutilized(6), 301).events).at(-1), 'ScaleDownDecision');
  });

  test('node_unhealthy, naming the nodes', () => {
    const { state } = given(pool(), [
      [0, synced(4)],
      [0, ev('io.scalewise.NodeHealthDegraded', { node_name: 'workers-3', status: 'NotReady' })],
    ]);
    const { events } = when(state, underutilized(4), 1);
    const b = one(events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'node_unhealthy');
    assert.deepEqual(b.unhealthy_nodes, ['workers-3']);
    validateAll(events);
  });

  test('an unhealthy node stops blocking when it is Ready again, removed, or unreported past the TTL', () => {
    const degraded = ev('io.scalewise.NodeHealthDegraded', { node_name: 'workers-3', status: 'NotReady' });
    const { state } = given(pool(), [
      [0, synced(4)],
      [0, degraded],
    ]);
    // node-manager's NodeReady names the scale-up that made the node; once that action has
    // completed (and its cooldown passed) nothing but the report could block.
    const ready = ev('io.scalewise.NodeReady', { node_name: 'workers-3', action_id: 'up-1' });
    let viaReady = when(state, ready, 1).state;
    viaReady = when(viaReady, completed('up-1', 'scale_up', 3, 4), 1).state;
    assert.equal(names(when(viaReady, underutilized(4), 62).events).at(-1), 'ScaleDownDecision');
    const viaSample = when(state, metrics(4, 20, 20), 1).state;
    assert.equal(names(when(viaSample, underutilized(4), 2).events).at(-1), 'ScaleDownDecision');
    assert.equal(names(when(state, underutilized(4), 301).events).at(-1), 'ScaleDownDecision', 'TTL 300 s');
  });

  test('a MemoryPressure report is not cleared by an all-Ready sample', () => {
    const { state } = given(pool(), [
      [0, synced(4)],
      [0, ev('io.scalewise.NodeHealthDegraded', { node_name: 'workers-3', status: 'MemoryPressure' })],
      [1, metrics(4, 20, 20)],
    ]);
    assert.equal(
      one(when(state, underutilized(4), 2).events, 'io.scalewise.ScaleDownBlocked').reason,
      'node_unhealthy',
    );
  });

  test('action_in_flight, with the action id', () => {
    const { state, events: before } = given(pool(), [
      [0, synced(3)],
      [1, pending(1, 1000, GiB)],
    ]);
    const actionId = one(before, 'io.scalewise.ScaleUpDecision') && before[0]!.id;
    const { events } = when(state, metrics(4, 1, 1, { pending_pods: 0 }), 2);
    assert.deepEqual(events, [], 'no stretch yet');
    const s1 = when(state, metrics(4, 1, 1, { pending_pods: 0 }), 2).state;
    const b = one(when(s1, underutilized(4), 3).events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'action_in_flight');
    assert.equal(b.in_flight_action_id, actionId);
  });

  test('a scale-down 6 -> 2 running: an underutilisation sample is blocked by the action, named, never at_minimum with 6 workers', () => {
    const { state, events } = given(pool(), [
      [0, synced(6)],
      [1, underutilized(6, 5, 5, 300)],
    ]);
    const d = one(events, 'io.scalewise.ScaleDownDecision');
    assert.deepEqual([d.current_workers, d.desired_workers], [6, 2]);
    const id = events.find((e) => e.type === 'io.scalewise.ScaleDownDecision')!.id;
    const blockedAt = (s: typeof state, t: number) => {
      const b = one(
        when(s, underutilized(s.pools.workers!.workers ?? 0, 5, 5, 300), t).events,
        'io.scalewise.ScaleDownBlocked',
      );
      assert.equal(b.reason, 'action_in_flight');
      assert.equal(b.in_flight_action_id, id);
      assert.match(b.explanation.summary, new RegExp(`action ${id} \\(down 4\\) is in flight`));
      return b;
    };
    // Decided, not started: the workers are still 6, the pool heads for 2 (its minimum).
    assert.equal(blockedAt(state, 2).workers, 6);
    // Started, and one victim gone: still the action, whatever the workers.
    let s1 = when(
      state,
      ev('io.scalewise.ScaleDownStarted', {
        action_id: id,
        count: 4,
        nodes: ['workers-3', 'workers-4', 'workers-5', 'workers-6'],
      }),
      3,
    ).state;
    s1 = when(s1, ev('io.scalewise.NodeRemoved', { node_name: 'workers-6', action_id: id }), 4).state;
    assert.equal(blockedAt(s1, 5).workers, 5);
    // Completed at the minimum: now it is at_minimum, with the workers it has.
    s1 = when(s1, completed(id, 'scale_down', 6, 2), 6).state;
    const b = one(when(s1, underutilized(2), 70).events, 'io.scalewise.ScaleDownBlocked');
    assert.deepEqual([b.reason, b.workers], ['at_minimum', 2]);
  });

  test('an action whose nodes are all Ready is still in flight until it completes', () => {
    const { state, events } = given(pool({ cooldownSeconds: 0 }), [
      [0, synced(3)],
      [1, pending(1, 1000, GiB)],
      [5, metrics(3, 1, 1, { pending_pods: 0 })],
    ]);
    const id = events[0]!.id;
    const ready = when(
      state,
      ev('io.scalewise.NodeReady', { node_name: 'workers-4', action_id: id }),
      10,
    ).state;
    const b = one(when(ready, underutilized(4), 400).events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'action_in_flight');
    assert.equal(b.in_flight_action_id, id);
  });

  test('an action lost without completion stops counting after actionTimeoutSeconds', () => {
    const { state } = given(pool({ actionTimeoutSeconds: 120 }), [
      [0, synced(3)],
      [1, pending(1, 1000, GiB)],
      [2, metrics(3, 1, 1, { pending_pods: 0 })],
    ]);
    assert.equal(
      one(when(state, underutilized(3), 100).events, 'io.scalewise.ScaleDownBlocked').reason,
      'action_in_flight',
    );
    assert.notEqual(
      one(when(state, underutilized(3), 122).events, 'io.scalewise.ScaleDownBlocked').reason,
      'action_in_flight',
    );
  });

  test('policy_disabled', () => {
    const { state } = quiet(4, pool({ behavior: { scaleDown: { selectPolicy: 'Disabled' } } }));
    const { events } = when(state, underutilized(4), 1);
    assert.equal(one(events, 'io.scalewise.ScaleDownBlocked').reason, 'policy_disabled');
    validateAll(events);
  });

  test('cooldown, with the seconds left', () => {
    const { state, events: before } = given(pool({ cooldownSeconds: 120 }), [
      [0, synced(3)],
      [1, pending(1, 1000, GiB)],
    ]);
    const s1 = when(state, completed(before[0]!.id, 'scale_up', 3, 4), 30).state;
    const s2 = when(s1, metrics(4, 1, 1), 31).state;
    const { events } = when(s2, underutilized(4), 100);
    const b = one(events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'cooldown');
    assert.equal(b.retry_after, 50);
    validateAll(events);
  });

  test('stabilization_window: a recommendation holding the size within 300 s blocks, with retry_after', () => {
    const { state } = given(pool(), [
      [0, synced(4)],
      [0, metrics(4, 50, 50)],
    ]);
    const { events } = when(state, underutilized(4), 100);
    const b = one(events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'stabilization_window');
    assert.equal(b.retry_after, 200);
    assert.match(b.explanation.summary, /within the last 300s holds it at 4/);
    validateAll(events);
  });

  test('stabilization_window can also limit a scale-down partway', () => {
    const { state } = given(pool({ max: 10 }), [
      [0, synced(6)],
      [0, metrics(6, 45, 30)], // recommends ceil(6 * 45/60) = 5
    ]);
    const d = one(when(state, underutilized(6, 5, 5), 100).events, 'io.scalewise.ScaleDownDecision');
    assert.equal(d.desired_workers, 5);
    assert.match(d.explanation.clamped?.by ?? '', /^stabilization_window/);
  });

  test('rate_limited: Pods 1 per 60 s allows one removal; the next waits, with retry_after', () => {
    const p = pool({
      max: 10,
      cooldownSeconds: 0,
      behavior: {
        scaleDown: {
          stabilizationWindowSeconds: 0,
          policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
        },
      },
    });
    const { state, events } = given(p, [
      [0, synced(5)],
      [1, underutilized(5, 5, 5)],
    ]);
    const d = one(events, 'io.scalewise.ScaleDownDecision');
    assert.equal(d.desired_workers, 4);
    assert.deepEqual(d.explanation.clamped, {
      wanted: 1,
      got: 4,
      by: 'min_workers, rate_policy (selectPolicy Max)',
    });
    const s1 = when(state, completed(events[0]!.id, 'scale_down', 5, 4), 5).state;
    const next = when(s1, underutilized(4, 5, 5), 10).events;
    const b = one(next, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'rate_limited');
    assert.equal(b.retry_after, 51);
    validateAll(next);
  });

  test('scale-down selectPolicy Min takes the stricter policy', () => {
    const p = pool({
      max: 10,
      behavior: {
        scaleDown: {
          selectPolicy: 'Min',
          policies: [
            { type: 'Pods', value: 1, periodSeconds: 60 },
            { type: 'Percent', value: 50, periodSeconds: 60 },
          ],
        },
      },
    });
    const { state } = quiet(8, p);
    assert.equal(
      one(when(state, underutilized(8, 1, 1), 1).events, 'io.scalewise.ScaleDownDecision').desired_workers,
      7,
    );
    const maxP = pool({ ...p, behavior: { scaleDown: { ...p.behavior.scaleDown, selectPolicy: 'Max' } } });
    const { state: s2 } = quiet(8, maxP);
    assert.equal(
      one(when(s2, underutilized(8, 1, 1), 1).events, 'io.scalewise.ScaleDownDecision').desired_workers,
      4,
    );
  });

  test('the order of reasons: safety first, then time', () => {
    const { state } = given(pool(), [
      [0, synced(4)],
      [0, metrics(4, 20, 20, { pending_pods: 2 })],
      [0, ev('io.scalewise.NodeHealthDegraded', { node_name: 'workers-3' })],
      [1, trigger('io.scalewise.trigger.pause', { pool: 'workers' })],
    ]);
    assert.equal(
      one(when(state, underutilized(4), 2).events, 'io.scalewise.ScaleDownBlocked').reason,
      'paused',
    );
    const resumed = when(state, trigger('io.scalewise.trigger.resume', { pool: 'workers' }), 2).state;
    assert.equal(
      one(when(resumed, underutilized(4), 3).events, 'io.scalewise.ScaleDownBlocked').reason,
      'pending_pods',
    );
  });
});

describe('repeats and the optimal state', () => {
  test('a block repeats on every UnderutilizationWarning but once per reason on samples', () => {
    const { state } = given(pool(), [
      [0, synced(4)],
      [0, metrics(4, 20, 20, { pending_pods: 1 })],
      [1, underutilized(4)],
    ]);
    assert.equal(names(when(state, underutilized(4), 2).events).length, 1);
    assert.deepEqual(when(state, metrics(4, 20, 20, { pending_pods: 1 }), 15).events, []);
  });

  test('seed 000 flow 1 tail: the scale-down completes at min -> OptimalStateTrigger(active), once', () => {
    const { state, events } = given(pool(), [
      [0, synced(3)],
      [1, underutilized(3)],
    ]);
    const id = one(events, 'io.scalewise.ScaleDownDecision') && events[1]!.id;
    const done = when(state, completed(id, 'scale_down', 3, 2), 5);
    assert.deepEqual(names(done.events), ['OptimalStateTrigger']);
    assert.equal(one(done.events, 'io.scalewise.OptimalStateTrigger').state, 'active');
    assert.deepEqual(when(done.state, metrics(2, 20, 30), 20).events, [], 'announced once per stretch');
    const busy = when(done.state, metrics(2, 50, 30), 20).state;
    const again = when(busy, metrics(2, 20, 30), 40);
    assert.deepEqual(names(again.events), ['OptimalStateTrigger'], 'a new stretch after utilisation rose');
    validateAll([...done.events, ...again.events]);
  });

  test('pressure ends the underutilisation stretch', () => {
    const { state } = quiet(4);
    const s1 = when(state, underutilized(4, 10, 10, 100), 1).state;
    const s2 = when(s1, pressure(4, 10, 90), 2).state;
    assert.equal(s2.pools.workers!.underutilized, null);
  });

  test('pending pods scale-up later holds scale-down for the 300 s window', () => {
    const { state, events } = given(pool(), [
      [0, synced(3)],
      [1, pending(1, 1000, GiB)],
    ]);
    const s1 = when(state, completed(events[0]!.id, 'scale_up', 3, 4), 10).state;
    const s2 = when(s1, metrics(4, 5, 5), 100).state;
    assert.equal(
      one(when(s2, underutilized(4, 5, 5), 200).events, 'io.scalewise.ScaleDownBlocked').reason,
      'stabilization_window',
    );
    assert.equal(names(when(s2, underutilized(4, 5, 5), 302).events).at(-1), 'ScaleDownDecision');
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide } from './decide.ts';
import { at, given, names, one, pool, quiet, validateAll, when } from './fixtures.ts';
import { completed, ev, GiB, metrics, pending, synced, trigger, underutilized } from './inputs.ts';
import type { TriggerEvent } from './types.ts';

const scale = (data: unknown, source?: string) => trigger('io.scalewise.trigger.scale', data, source);
const update = (data: unknown, source?: string) => trigger('io.scalewise.trigger.update', data, source);
const pause = { pool: 'workers' };

/** The rejection of `input` on a pool of 3 workers (allowlist `/ci/*` and `ops-bot`). */
function rejection(input: TriggerEvent, setup: Array<[number, TriggerEvent]> = []) {
  const { state } = given(pool({ allowedTriggerSources: ['/ci/*', 'ops-bot'] }), [[0, synced(3)], ...setup]);
  const { events, state: after } = when(state, input, 10);
  validateAll(events);
  assert.equal(after, state, 'a rejected trigger leaves the state as it was');
  return one(events, 'io.scalewise.TriggerRejected');
}

describe('TriggerRejected, one test per reason', () => {
  test('invalid: data that breaks the schema, with the field named', () => {
    const r = rejection(scale({ pool: 'workers', action: 'scale_up' }));
    assert.equal(r.reason, 'invalid');
    assert.match(r.message, /count: action 'scale_up' needs count/);
    assert.equal(r.pool, 'workers');
    assert.equal(r.trigger_type, 'io.scalewise.trigger.scale');
    assert.equal(r.trigger_source, '/ci/pipeline');
  });

  test('invalid: no data, a string, a negative count, set without target, min > max', () => {
    for (const data of [
      undefined,
      null,
      'scale up please',
      { pool: 'workers', action: 'scale_up', count: -1 },
      { pool: 'workers', action: 'set' },
      { pool: 'workers', action: 'explode', count: 1 },
    ]) {
      assert.equal(rejection(scale(data)).reason, 'invalid', JSON.stringify(data));
    }
    assert.equal(rejection(update({ pool: 'workers', min: 5, max: 3 })).reason, 'invalid');
    assert.equal(rejection(update({ pool: 'workers' })).reason, 'invalid');
    const r = rejection(scale({ action: 'scale_up', count: 1 }));
    assert.equal(r.pool, undefined, 'no pool named: none in the rejection');
    const noSource = rejection(scale({ pool: 'workers', action: 'scale_up', count: 1 }, ''));
    assert.equal(noSource.reason, 'invalid');
    assert.equal(noSource.trigger_source, '(none)');
  });

  test('unknown_pool', () => {
    const r = rejection(scale({ pool: 'nowhere', action: 'scale_up', count: 1 }));
    assert.equal(r.reason, 'unknown_pool');
    assert.equal(r.pool, 'nowhere');
    assert.equal(
      rejection(trigger('io.scalewise.trigger.pause', { pool: 'nowhere' })).reason,
      'unknown_pool',
    );
  });

  test('unknown_pool for names that only exist on Object.prototype', () => {
    assert.equal(
      rejection(scale({ pool: 'constructor', action: 'scale_up', count: 1 })).reason,
      'unknown_pool',
    );
  });

  test('source_not_allowed: neither the glob nor the exact name matches', () => {
    for (const source of ['/ops/x', 'ops-bot-2', '/ci', 'OPS-BOT']) {
      const r = rejection(scale({ pool: 'workers', action: 'scale_up', count: 1 }, source));
      assert.equal(r.reason, 'source_not_allowed', source);
    }
    assert.equal(rejection(update({ pool: 'workers', min: 1 }, '/evil')).reason, 'source_not_allowed');
    assert.equal(
      rejection(trigger('io.scalewise.trigger.pause', pause, '/evil')).reason,
      'source_not_allowed',
    );
  });

  test('wrong_cluster: a trigger naming another cluster, whatever its data, with both ids named', () => {
    const { state } = quiet(3);
    for (const data of [
      { pool: 'workers', action: 'scale_up', count: 1 },
      { pool: 'workers', count: -5 },
    ]) {
      const input = { ...scale(data), clusterid: 'east' };
      const { events, state: after } = decide(state, input, at(10), { clusterId: 'local' });
      validateAll(events);
      assert.equal(after, state, 'a rejected trigger leaves the state as it was');
      const r = one(events, 'io.scalewise.TriggerRejected');
      assert.equal(r.reason, 'wrong_cluster', JSON.stringify(data));
      assert.match(r.message, /for cluster 'east'; this is cluster 'local'/);
      assert.equal(r.pool, 'workers');
    }
  });

  test('a trigger naming no cluster, or this one, is for this cluster and acted on', () => {
    const { state } = quiet(3);
    for (const clusterid of [undefined, 'local']) {
      const input = { ...scale({ pool: 'workers', action: 'scale_up', count: 1 }), clusterid };
      const { events } = decide(state, input, at(10), { clusterId: 'local' });
      validateAll(events);
      assert.equal(one(events, 'io.scalewise.ScaleUpDecision').desired_workers, 4, String(clusterid));
    }
  });

  test('paused: a paused pool rejects trigger.scale', () => {
    const r = rejection(scale({ pool: 'workers', action: 'scale_up', count: 1 }), [
      [1, trigger('io.scalewise.trigger.pause', pause)],
    ]);
    assert.equal(r.reason, 'paused');
  });

  test('out_of_range: beyond max, below min, set outside, update min above max', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ pool: 'workers', action: 'scale_up', count: 4 }, /gives 7, outside \[2, 6\]/],
      [{ pool: 'workers', action: 'scale_down', count: 2 }, /gives 1, outside \[2, 6\]/],
      [{ pool: 'workers', action: 'set', target: 9 }, /outside/],
      [{ pool: 'workers', action: 'set', target: 0 }, /outside/],
    ];
    for (const [data, message] of cases) {
      const r = rejection(scale(data));
      assert.equal(r.reason, 'out_of_range', JSON.stringify(data));
      assert.match(r.message, message);
    }
    const r = rejection(update({ pool: 'workers', min: 7 }));
    assert.equal(r.reason, 'out_of_range');
    assert.match(r.message, /min 7 would exceed max 6/);
  });

  test('out_of_range: a scale-up the policy disables or the rate policy has used up', () => {
    const disabled = quiet(3, pool({ behavior: { scaleUp: { selectPolicy: 'Disabled' } } }));
    const r1 = one(
      when(disabled.state, scale({ pool: 'workers', action: 'scale_up', count: 1 }), 1).events,
      'io.scalewise.TriggerRejected',
    );
    assert.equal(r1.reason, 'out_of_range');
    assert.match(r1.message, /disabled/);
    const p = pool({ behavior: { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } } });
    const { state } = given(p, [
      [0, synced(3)],
      [1, scale({ pool: 'workers', action: 'scale_up', count: 1 })],
    ]);
    const r2 = one(
      when(state, scale({ pool: 'workers', action: 'scale_up', count: 1 }), 11).events,
      'io.scalewise.TriggerRejected',
    );
    assert.equal(r2.reason, 'out_of_range');
    assert.match(r2.message, /rate policies allow no growth for 50s/);
  });
});

describe('accepted triggers', () => {
  test('scale_up from an allowed source: ScaleUpDecision, reason trigger, task id in the explanation', () => {
    const { state } = quiet(3, pool({ allowedTriggerSources: ['/ci/*'] }));
    const input = scale({
      pool: 'workers',
      action: 'scale_up',
      count: 2,
      reason: 'batch',
      task_id: 'task-1',
    });
    const { events } = when(state, input, 1);
    const d = one(events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.reason, 'trigger');
    assert.equal(d.desired_workers, 5);
    assert.equal(d.explanation.rule, 'trigger_scale_up');
    assert.equal(d.explanation.inputs.task_id, 'task-1');
    assert.match(d.explanation.summary, /trigger scale_up by 2 from \/ci\/pipeline \(batch\)/);
    validateAll(events);
  });

  test('scale_up is clamped by the rate policy, with the clamp explained', () => {
    const p = pool({
      max: 10,
      behavior: { scaleUp: { policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] } },
    });
    const { state } = quiet(3, p);
    const d = one(
      when(state, scale({ pool: 'workers', action: 'set', target: 8 }), 1).events,
      'io.scalewise.ScaleUpDecision',
    );
    assert.equal(d.desired_workers, 5);
    assert.deepEqual(d.explanation.clamped, { wanted: 8, got: 5, by: 'rate_policy (selectPolicy Max)' });
  });

  test('scale_down ignores cooldown and stabilisation but not the safety blocks', () => {
    const { state, events } = given(pool(), [
      [0, synced(3)],
      [1, pending(1, 1000, GiB)],
    ]);
    const s1 = when(state, completed(events[0]!.id, 'scale_up', 3, 4), 5).state;
    const blocked = when(s1, scale({ pool: 'workers', action: 'scale_down', count: 1 }), 6);
    const b = one(blocked.events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'pending_pods', 'the pods are still reported pending');
    const s2 = when(s1, metrics(4, 50, 50), 7).state;
    const { events: ok } = when(s2, scale({ pool: 'workers', action: 'scale_down', count: 1 }), 8);
    const d = one(ok, 'io.scalewise.ScaleDownDecision');
    assert.equal(d.reason, 'trigger');
    assert.equal(d.desired_workers, 3);
    validateAll([...blocked.events, ...ok]);
  });

  test('scale_down with scale-down disabled: ScaleDownBlocked(policy_disabled)', () => {
    const { state } = given(pool({ behavior: { scaleDown: { selectPolicy: 'Disabled' } } }), [
      [0, synced(4)],
    ]);
    const { events } = when(state, scale({ pool: 'workers', action: 'set', target: 2 }), 1);
    assert.equal(one(events, 'io.scalewise.ScaleDownBlocked').reason, 'policy_disabled');
  });

  test('set to the current size does nothing', () => {
    const { state } = quiet(3);
    assert.deepEqual(when(state, scale({ pool: 'workers', action: 'set', target: 3 }), 1).events, []);
  });

  test('pause and resume: paused pools decide nothing but accept updates; resume restores deciding', () => {
    const { state } = quiet(3);
    const paused = when(
      state,
      trigger('io.scalewise.trigger.pause', { pool: 'workers', reason: 'maintenance' }),
      1,
    );
    assert.deepEqual(paused.events, []);
    assert.deepEqual(paused.state.pools.workers!.paused, { at: at(1), reason: 'maintenance' });
    assert.deepEqual(when(paused.state, pending(2, 2000, GiB), 2).events, []);
    const updated = when(paused.state, update({ pool: 'workers', max: 8 }), 3);
    assert.deepEqual(updated.events, []);
    assert.equal(updated.state.pools.workers!.max, 8);
    const resumed = when(updated.state, trigger('io.scalewise.trigger.resume', { pool: 'workers' }), 4).state;
    assert.equal(
      one(when(resumed, pending(2, 2000, GiB), 5).events, 'io.scalewise.ScaleUpDecision').count,
      1,
    );
  });

  test('update raises max: later decisions may go higher', () => {
    const { state } = given(pool(), [
      [0, synced(6)],
      [1, update({ pool: 'workers', max: 9 })],
    ]);
    assert.equal(
      one(when(state, pending(3, 12000, GiB), 2).events, 'io.scalewise.ScaleUpDecision').desired_workers,
      9,
    );
  });

  test('update lowers max below the size: scale down to it now, without rate or window', () => {
    const p = pool({
      behavior: { scaleDown: { policies: [{ type: 'Pods', value: 1, periodSeconds: 600 }] } },
    });
    const { state } = given(p, [
      [0, synced(6)],
      [0, metrics(6, 90, 90)],
    ]);
    const { events } = when(state, update({ pool: 'workers', max: 3 }), 1);
    const d = one(events, 'io.scalewise.ScaleDownDecision');
    assert.equal(d.desired_workers, 3);
    assert.equal(d.explanation.rule, 'max_limit');
    validateAll(events);
  });

  test('update lowers max while a node is unhealthy: blocked now, carried out on a later sample', () => {
    const { state } = given(pool(), [
      [0, synced(6)],
      [0, metrics(6, 50, 50, { ready_workers: 5 })],
      [0, ev('io.scalewise.NodeHealthDegraded', { node_name: 'workers-6', status: 'NotReady' })],
    ]);
    const blocked = when(state, update({ pool: 'workers', max: 4 }), 1);
    assert.equal(one(blocked.events, 'io.scalewise.ScaleDownBlocked').reason, 'node_unhealthy');
    const { events } = when(blocked.state, metrics(6, 50, 50), 15);
    assert.equal(one(events, 'io.scalewise.ScaleDownDecision').desired_workers, 4);
  });

  test('update raises min: nothing here (min-enforcer repairs the floor), but scale-down stops at it', () => {
    const { state, events } = given(pool(), [
      [0, synced(4)],
      [1, update({ pool: 'workers', min: 4 })],
    ]);
    assert.deepEqual(events, []);
    assert.equal(
      one(when(state, underutilized(4), 2).events, 'io.scalewise.ScaleDownBlocked').reason,
      'at_minimum',
    );
  });

  test('pause twice and resume twice are harmless', () => {
    const { state, events } = given(pool(), [
      [0, synced(3)],
      [1, trigger('io.scalewise.trigger.pause', pause)],
      [2, trigger('io.scalewise.trigger.pause', pause)],
      [3, trigger('io.scalewise.trigger.resume', pause)],
      [4, trigger('io.scalewise.trigger.resume', pause)],
    ]);
    assert.deepEqual(events, []);
    assert.equal(state.pools.workers!.paused, null);
  });

  test('a trigger with hostile fields never throws', () => {
    const { state } = quiet(3);
    const weird = [
      {
        id: '',
        type: 'io.scalewise.trigger.scale',
        source: 42,
        data: { pool: 'workers', action: 'scale_up', count: 1 },
      },
      { id: 7, type: 'io.scalewise.trigger.update', source: null, data: { pool: 'workers', min: 1 } },
      { type: 'io.scalewise.trigger.scale', data: Object.create(null) },
      { id: 'x', type: 'io.scalewise.trigger.pause', source: 'a'.repeat(100_000), data: { pool: 'workers' } },
    ];
    for (const input of weird) {
      const { events } = decide(state, input as never, at(1));
      validateAll(events);
      assert.ok(
        events.every((e) => e.type === 'io.scalewise.TriggerRejected'),
        names(events).join(),
      );
    }
  });
});

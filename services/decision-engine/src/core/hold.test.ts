import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { holdAt } from '@scalewise/pool';
import { at, given, names, one, pool, validateAll, when } from './fixtures.ts';
import { completed, ev, metrics, pending, simulatedUnderutilized, trigger, underutilized } from './inputs.ts';
import type { PoolPolicyInput } from './policy.ts';
import type { EngineState } from './state.ts';
import type { Intent } from './types.ts';

const scale = (data: object, id?: string) =>
  trigger('io.scalewise.trigger.scale', { pool: 'workers', ...data }, '/ci/pipeline', id);
const update = (data: object) => trigger('io.scalewise.trigger.update', { pool: 'workers', ...data });

/** Seed 000's HPA defaults for scale-up (+4 or +100 % per 15 s), min 0, max 10, a 300 s hold. */
const policy = (o: Partial<PoolPolicyInput> = {}) =>
  pool({ min: 0, max: 10, cooldownSeconds: 0, underutilizedForSeconds: 0, triggerHoldSeconds: 300, ...o });
/** That policy, shrinking by at most `pods` per 60 s, with no scale-down stabilisation window. */
const shrinkingBy = (pods: number) =>
  policy({
    behavior: {
      scaleDown: {
        stabilizationWindowSeconds: 0,
        policies: [{ type: 'Pods', value: pods, periodSeconds: 60 }],
      },
    },
  });

/** Runs `[seconds, input]` steps from `state`, returning the last state and all events. */
function run(state: EngineState, steps: Array<[number, Parameters<typeof when>[1]]>) {
  const events: Intent[] = [];
  for (const [t, input] of steps) {
    const d = when(state, input, t);
    validateAll(d.events);
    state = d.state;
    events.push(...d.events);
  }
  return { state, events };
}

const ofType = <T extends Intent['type']>(events: readonly Intent[], type: T) =>
  events.filter((e): e is Extract<Intent, { type: T }> => e.type === type);

describe('a trigger target cut by the rate policy is completed in the following periods', () => {
  test('set 8 on an empty pool: 0 -> 4 now, 4 -> 8 when the period allows, then held', () => {
    const { state } = given(policy(), [[0, metrics(0, 0, 0)]]);
    const first = when(state, scale({ action: 'set', target: 8 }, 'set-8'), 1);
    const d1 = one(first.events, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d1.current_workers, d1.desired_workers], [0, 4]);
    assert.match(d1.explanation.summary, /wanted 8, limited by rate_policy/);
    const hold = first.state.ledgers.workers?.hold;
    assert.deepEqual(
      [hold?.target, hold?.trigger, hold?.reachedAt, hold?.actions],
      [8, 'set-8', null, ['set-8/ScaleUpDecision']],
      'the rest is still wanted: the target is pursued',
    );

    // Within the period the rate policy allows nothing more, and nothing is said.
    const quiet = when(first.state, metrics(0, 0, 0), 10);
    assert.deepEqual(names(quiet.events), []);

    // The next sample after the period grows the pool the rest of the way.
    const later = when(quiet.state, metrics(0, 0, 0), 17);
    const d2 = one(later.events, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d2.current_workers, d2.desired_workers, d2.reason], [4, 8, 'trigger']);
    assert.equal(d2.explanation.rule, 'trigger_hold');
    assert.match(d2.explanation.summary, /trigger set-8 \(set to 8 by \/ci\/pipeline\) still wants 8/);
    assert.equal(d2.explanation.inputs.held_target, 8);
    const held = later.state.ledgers.workers?.hold;
    assert.equal(held?.reachedAt, at(17));
    assert.equal(held?.until, at(17 + 300));
    assert.deepEqual(held?.actions, ['set-8/ScaleUpDecision', later.events[0]?.id]);
  });

  test('a pool paused while the target is pursued is not grown until resumed', () => {
    const { state } = given(policy(), [
      [0, metrics(0, 0, 0)],
      [1, scale({ action: 'set', target: 8 })],
      [2, trigger('io.scalewise.trigger.pause', { pool: 'workers' })],
    ]);
    const paused = run(state, [[20, metrics(0, 0, 0)]]);
    assert.deepEqual(names(paused.events), []);
    const resumed = run(paused.state, [[21, trigger('io.scalewise.trigger.resume', { pool: 'workers' })]]);
    assert.equal(one(resumed.events, 'io.scalewise.ScaleUpDecision').desired_workers, 8);
  });

  test('scale_down by 6 from 8 with -2 per 60 s: 8 -> 6 -> 4 -> 2 as each action completes and the period passes', () => {
    const p = shrinkingBy(2);
    let { state } = given(p, [[0, metrics(8, 50, 50)]]);
    const sizes: number[] = [];
    let workers = 8;
    let t = 1;
    let r = when(state, scale({ action: 'scale_down', count: 6 }), t);
    for (let i = 0; i < 6 && r.events.length > 0; i++) {
      const d = ofType(r.events, 'io.scalewise.ScaleDownDecision')[0];
      assert.ok(d, `step ${i}: ${names(r.events).join(', ')}`);
      sizes.push(d.data.desired_workers);
      state = when(r.state, completed(d.id, 'scale_down', workers, d.data.desired_workers), t + 5).state;
      workers = d.data.desired_workers;
      t += 61;
      r = when(state, metrics(workers, 50, 50), t);
    }
    assert.deepEqual(sizes, [6, 4, 2]);
    assert.equal(r.state.ledgers.workers?.hold?.reachedAt !== null, true, 'reached, and now held');
  });
});

describe('a held target against underutilisation', () => {
  const heldAt8 = () =>
    given(policy({ behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } }), [
      [0, metrics(4, 50, 50)],
      [1, scale({ action: 'set', target: 8 }, 'set-8')],
      [5, completed('set-8/ScaleUpDecision', 'scale_up', 4, 8)],
    ]).state;

  test('blocks a scale-down of the held pool, naming the trigger and when the hold lifts', () => {
    const { events } = when(heldAt8(), underutilized(8, 5, 5, 600), 100);
    const b = one(events, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.reason, 'trigger_hold');
    assert.equal(b.trigger_id, 'set-8');
    assert.equal(b.retry_after, 201, 'held from the decision at 1 s for 300 s');
    assert.equal(b.workers, 8);
    assert.match(b.explanation.summary, /trigger set-8 from \/ci\/pipeline holds it at 8 for 201s more/);
  });

  test('stops a scale-down of a pool above the held target at the target', () => {
    const state = run(heldAt8(), [
      [10, pending(3, 3000, 0)],
      [11, metrics(10, 50, 50)],
    ]).state;
    const { events } = when(
      state,
      simulatedUnderutilized(10, ['workers-9', 'workers-10', 'workers-7', 'workers-6']),
      200,
    );
    const d = one(events, 'io.scalewise.ScaleDownDecision');
    assert.deepEqual([d.current_workers, d.desired_workers, d.nodes], [10, 8, ['workers-9', 'workers-10']]);
    assert.match(d.explanation.summary, /wanted 6, limited by trigger_hold/);
  });

  test('when the hold ends, TriggerHoldEnded says so with the numbers, and underutilisation goes ahead', () => {
    const { events } = when(heldAt8(), underutilized(8, 5, 5, 600), 302);
    assert.deepEqual(names(events), ['TriggerHoldEnded', 'ScaleDownDecision']);
    const end = one(events, 'io.scalewise.TriggerHoldEnded');
    assert.deepEqual(
      [end.reason, end.reached, end.held_seconds, end.target, end.workers, end.desired_workers],
      ['expired', true, 300, 8, 8, 8],
    );
    assert.match(end.message, /held for 300s \(trigger_hold_seconds\) after the pool reached it/);
  });

  test('a pool that lost workers below the held target grows back to it', () => {
    const state = run(heldAt8(), [[20, metrics(6, 50, 50)]]);
    const d = one(state.events, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d.current_workers, d.desired_workers, d.explanation.rule], [6, 8, 'trigger_hold']);
    assert.match(d.explanation.summary, /holds the pool at 8/);
  });

  test('trigger_hold_seconds 0: the target is completed but not held', () => {
    const { state, events } = given(
      policy({ triggerHoldSeconds: 0, behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } }),
      [
        [0, metrics(4, 50, 50)],
        [1, scale({ action: 'set', target: 6 })],
      ],
    );
    assert.deepEqual(names(events), ['ScaleUpDecision', 'TriggerHoldEnded']);
    assert.equal(one(events, 'io.scalewise.TriggerHoldEnded').held_seconds, 0);
    assert.equal(state.ledgers.workers?.hold, null);
  });
});

describe('how a hold ends', () => {
  const pursued = () =>
    given(policy(), [
      [0, metrics(0, 0, 0)],
      [1, scale({ action: 'set', target: 8 }, 'set-8')],
    ]).state;

  test('replaced: a newer scale trigger ends it, naming the newer one', () => {
    const { events, state } = when(pursued(), scale({ action: 'set', target: 3 }, 'set-3'), 2);
    assert.deepEqual(names(events), ['TriggerHoldEnded', 'ScaleDownBlocked']);
    const end = one(events, 'io.scalewise.TriggerHoldEnded');
    assert.deepEqual(
      [end.reason, end.replaced_by, end.reached, end.held_seconds, end.desired_workers],
      ['replaced', 'set-3', false, 0, 4],
    );
    assert.equal(state.ledgers.workers?.hold?.trigger, 'set-3');
  });

  test('action_failed: an action taken for it failed', () => {
    const failed = ev('io.scalewise.ScalingActionFailed', {
      action_id: 'set-8/ScaleUpDecision',
      completed_count: 0,
    });
    const { events, state } = when(pursued(), failed, 5);
    const end = one(events, 'io.scalewise.TriggerHoldEnded');
    assert.deepEqual([end.reason, end.failed_action_id], ['action_failed', 'set-8/ScaleUpDecision']);
    assert.match(end.message, /KUBERNETES_API/);
    assert.equal(state.ledgers.workers?.hold, null);
    const later = when(state, metrics(0, 0, 0), 30).events;
    assert.deepEqual(ofType(later, 'io.scalewise.ScaleUpDecision'), [], 'nothing more is pursued');
  });

  test('limits_changed: an update puts the target out of range', () => {
    const { events } = when(pursued(), update({ max: 6 }), 5);
    const end = one(events, 'io.scalewise.TriggerHoldEnded');
    assert.equal(end.reason, 'limits_changed');
    assert.match(end.message, /outside the limits now in force \[0, 6\]/);
  });

  test('overruled: pods that need the pool to grow end a scale-down target not yet reached', () => {
    const p = shrinkingBy(1);
    const { state } = given(p, [
      [0, metrics(6, 50, 50)],
      [1, scale({ action: 'set', target: 2 }, 'set-2')],
      [5, completed('set-2/ScaleDownDecision', 'scale_down', 6, 5)],
    ]);
    const { events, state: after } = when(state, pending(4, 16_000, 0), 10);
    assert.deepEqual(names(events), ['ScaleUpDecision', 'TriggerHoldEnded']);
    assert.equal(one(events, 'io.scalewise.TriggerHoldEnded').reason, 'overruled');
    assert.equal(holdAt(after.ledgers.workers ?? { hold: null }, at(10)), null);
  });

  test('a dry-run pool reports the decision once and holds without pursuing', () => {
    const { state, events } = given(policy({ dryRun: true }), [
      [0, metrics(0, 0, 0)],
      [1, scale({ action: 'set', target: 8 })],
      [30, metrics(0, 0, 0)],
    ]);
    const decisions = ofType(events, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual(
      decisions.map((d) => [d.data.desired_workers, d.data.dry_run]),
      [[4, true]],
    );
    assert.equal(state.ledgers.workers?.hold?.reachedAt, at(1));
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import type { EventData } from '@scalewise/events';
import { desiredOf as ledgerDesired } from '@scalewise/pool';
import { decide } from './decide.ts';
import { at, floorClaimed, given, names, one, pool, produced, quiet, when } from './fixtures.ts';
import {
  completed,
  ev,
  GiB,
  pending,
  simulatedUnderutilized,
  synced,
  trigger,
  underutilized,
} from './inputs.ts';
import { definePoolPolicy, sourceAllowed } from './policy.ts';
import { desiredOf, type EngineState, initialState, viewOf, withPolicies } from './state.ts';
import type { EngineInput, Intent } from './types.ts';

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

describe('decide is a pure function', () => {
  test('the input state is never changed (frozen, it would throw)', () => {
    const { state } = quiet(3);
    const frozen = deepFreeze(structuredClone(state));
    const d = decide(frozen, pending(3, 6000, GiB), at(1));
    assert.deepEqual(frozen, state);
    assert.notEqual(d.state, frozen);
    assert.equal(desiredOf(d.state.pools.workers!), 5);
  });

  test('the same state, input and time give the same result', () => {
    const { state } = quiet(3);
    const input = underutilized(3);
    assert.deepEqual(decide(state, input, at(1)), decide(state, input, at(1)));
  });

  test('event ids derive from the input id; causedBy is the input itself', () => {
    const { state } = quiet(3);
    const input = underutilized(3);
    const { events } = when(state, input, 1);
    assert.deepEqual(
      events.map((e) => e.id),
      [`${input.id}/OptimalStateTrigger`, `${input.id}/ScaleDownDecision`],
    );
    assert.ok(events.every((e) => e.causedBy === input));
  });

  test('a decided action is in flight under its decision id', () => {
    const { state, events } = given(pool(), [
      [0, synced(3)],
      [1, pending(1, 1000, GiB)],
    ]);
    const a = state.pools.workers!.inFlight;
    assert.deepEqual(
      a.map((x) => [x.id, x.direction, x.count, x.origin]),
      [[events[0]!.id, 'up', 1, 'decision']],
    );
    assert.equal(a[0]!.expiresAt, at(1) + 600_000);
  });
});

describe('decisions and the ledger', () => {
  /**
   * Steps `input` at `t` through the producers and the core, and checks every decision in it:
   * it starts from the size the ledger said the pool heads for, and is claimed in the ledger
   * with what it decided (a scale-down with the nodes it names).
   */
  function decided(state: EngineState, input: EngineInput, t: number) {
    const p = produced(state, input, at(t));
    const before = ledgerDesired(p.state.ledgers.workers!, at(t));
    const d = decide(p.state, p.input, at(t));
    const ledger = d.state.ledgers.workers!;
    const out = d.events.filter(
      (e) => e.type === 'io.scalewise.ScaleUpDecision' || e.type === 'io.scalewise.ScaleDownDecision',
    );
    for (const e of out) {
      const data = e.data as EventData<'io.scalewise.ScaleDownDecision'>;
      assert.equal(data.current_workers, before, `${e.type}: current_workers is the ledger's desired`);
      const a = ledger.actions[e.id];
      assert.ok(a, `${e.type} is claimed in the ledger`);
      const direction = e.type === 'io.scalewise.ScaleUpDecision' ? 'up' : 'down';
      assert.deepEqual(
        [a.direction, a.count, a.origin, a.state, a.at],
        [direction, data.count, 'decision', 'claimed', at(t)],
      );
      assert.deepEqual(a.nodes, data.nodes ?? [], 'a scale-down claims the nodes it names');
      assert.equal(ledgerDesired(ledger, at(t)), data.desired_workers);
    }
    assert.ok(out.length > 0, `no decision: ${names(d.events).join(', ')}`);
    return d;
  }

  test('pending pods on top of an action in flight: from 4 (3 and 1 coming), claimed +2', () => {
    const { state } = given(pool(), [
      [0, synced(3)],
      [1, pending(1, 1000, GiB)],
    ]);
    const d = decided(state, pending(3, 12000, GiB), 2);
    assert.equal(one(d.events, 'io.scalewise.ScaleUpDecision').current_workers, 4);
  });

  test('underutilisation: from the 5 listed, claimed -3', () => {
    const { state } = quiet(5);
    decided(state, underutilized(5, 5, 5, 300), 1);
  });

  test('the simulation: the removable nodes named are claimed with the decision', () => {
    const { state } = quiet(5);
    const d = decided(state, simulatedUnderutilized(5, ['workers-2', 'workers-5']), 1);
    assert.deepEqual(one(d.events, 'io.scalewise.ScaleDownDecision').nodes, ['workers-2', 'workers-5']);
  });

  test('triggers and the max limit: claimed the same way', () => {
    const { state } = quiet(3);
    const up = decided(
      state,
      trigger('io.scalewise.trigger.scale', { pool: 'workers', action: 'scale_up', count: 2 }),
      1,
    );
    decided(
      up.state,
      trigger('io.scalewise.trigger.scale', { pool: 'workers', action: 'set', target: 2 }),
      700,
    );
    decided(state, trigger('io.scalewise.trigger.update', { pool: 'workers', max: 2 }), 1);
  });

  test('a dry run claims nothing: nothing will carry it out', () => {
    const { state } = quiet(3, pool({ dryRun: true }));
    const { events, state: after } = when(state, pending(1, 1000, GiB), 1);
    assert.equal(one(events, 'io.scalewise.ScaleUpDecision').dry_run, true);
    assert.deepEqual(after.ledgers.workers!.actions, {});
  });
});

describe('inputs the core cannot use change nothing', () => {
  const base = () => quiet(3).state;

  test('an unknown pool, an unknown type, bad data, a non-finite time, a non-object', () => {
    const state = base();
    const cases: Array<[unknown, number]> = [
      [ev('io.scalewise.PoolMetricsObserved', { pool: 'elsewhere' }), at(1)],
      [{ id: 'x', type: 'io.scalewise.NodeCreated', source: 's', data: {} }, at(1)],
      [
        {
          id: 'x',
          type: 'io.scalewise.PoolMetricsObserved',
          source: 's',
          data: { pool: 'workers', cpu_avg: 900 },
        },
        at(1),
      ],
      [{ id: 'x', type: 'io.scalewise.PoolMetricsObserved', source: 's' }, at(1)],
      [synced(5), Number.NaN],
      [synced(5), Number.POSITIVE_INFINITY],
      [null, at(1)],
      ['io.scalewise.ClusterStateSynced', at(1)],
      [{ type: 7 }, at(1)],
      [{ id: 'x', type: '__proto__', source: 's', data: {} }, at(1)],
      [{ ...synced(5), data: { ...synced(5).data, pool: '__proto__' } }, at(1)],
    ];
    for (const [input, now] of cases) {
      const d = decide(state, input as never, now);
      assert.equal(d.state, state, JSON.stringify(input));
      assert.deepEqual(d.events, []);
    }
  });
});

describe('tracking actions and workers', () => {
  test('NodeReady of an in-flight action moves a worker from "coming" to "there": desired stays', () => {
    const { state, events } = given(pool(), [
      [0, synced(3)],
      [1, pending(3, 6000, GiB)],
    ]);
    const id = events[0]!.id;
    const s1 = when(state, ev('io.scalewise.NodeReady', { node_name: 'workers-4', action_id: id }), 5).state;
    assert.equal(s1.pools.workers!.workers, 4);
    assert.equal(s1.pools.workers!.inFlight[0]!.remaining, 1);
    assert.equal(desiredOf(s1.pools.workers!), 5);
  });

  test('ScaleUpStarted with a smaller count than decided lowers what is still expected', () => {
    const { state, events } = given(pool(), [
      [0, synced(3)],
      [1, pending(3, 6000, GiB)],
    ]);
    const started = ev('io.scalewise.ScaleUpStarted', {
      action_id: events[0]!.id,
      count: 1,
      previous_workers: 3,
      target_workers: 4,
    });
    assert.equal(desiredOf(when(state, started, 2).state.pools.workers!), 4);
  });

  test('an action started elsewhere counts as in flight', () => {
    const { state } = quiet(3);
    const started = ev('io.scalewise.ScaleDownStarted', { action_id: 'other-1', count: 1 });
    const s1 = when(state, started, 1).state;
    assert.equal(desiredOf(s1.pools.workers!), 2);
    assert.equal(s1.pools.workers!.inFlight[0]!.origin, 'external');
  });

  test('ScalingActionCompleted ends the action and sets the workers', () => {
    const { state, events } = given(pool(), [
      [0, synced(3)],
      [1, pending(3, 6000, GiB)],
    ]);
    const s1 = when(state, completed(events[0]!.id, 'scale_up', 3, 5), 30).state;
    assert.deepEqual(s1.pools.workers!.inFlight, []);
    assert.equal(s1.pools.workers!.workers, 5);
    assert.equal(s1.pools.workers!.lastActionAt, at(30));
  });

  test('ScalingActionFailed ends the action; the cooldown runs from the failure', () => {
    const { state, events } = given(pool(), [
      [0, synced(3)],
      [1, pending(3, 6000, GiB)],
    ]);
    const failed = ev('io.scalewise.ScalingActionFailed', { action_id: events[0]!.id, action: 'scale_up' });
    const s1 = when(state, failed, 40).state;
    assert.deepEqual(s1.pools.workers!.inFlight, []);
    assert.equal(desiredOf(s1.pools.workers!), 3);
    assert.equal(s1.pools.workers!.lastActionAt, at(40));
  });

  test('workers change only through the ledger: NodeRemoved and NodeUnexpectedlyLost as recorded, not as an event counts', () => {
    const { state } = given(pool(), [
      [0, synced(4)],
      [1, ev('io.scalewise.NodeRemoved', { node_name: 'workers-4', action_id: 'x' })],
    ]);
    assert.equal(state.pools.workers!.workers, 3);
    // The event says 1 remain; the ledger, where state-sync recorded the loss, says 2.
    const lost = ev('io.scalewise.NodeUnexpectedlyLost', { node_name: 'workers-3', remaining_workers: 1 });
    assert.equal(when(state, lost, 2).state.pools.workers!.workers, 2);
    // Read without its fact in the ledger (never so in production), the event changes no count.
    assert.equal(decide(state, lost, at(2)).state.pools.workers!.workers, 3);
    assert.equal(decide(state, synced(7), at(2)).state.pools.workers!.workers, 3);
  });

  test('a floor action is in flight because min-enforcer claimed it in the ledger; its event counts once for the rate policies', () => {
    const e = ev('io.scalewise.EmergencyScaleUp', { emergency_scale: 2 }, 'em-1');
    let state = quiet(1).state;
    state = floorClaimed(state, 'em-1', 2, 1);
    state = when(state, e, 1).state;
    state = when(state, e, 2).state;
    const p = state.pools.workers!;
    assert.deepEqual(
      p.inFlight.map((a) => [a.id, a.count, a.origin]),
      [['em-1', 2, 'floor']],
    );
    assert.equal(desiredOf(p), 3);
    assert.deepEqual(
      p.scaleEvents.filter((x) => x.id === 'em-1').map((x) => [x.direction, x.change]),
      [['up', 2]],
      'a redelivery adds nothing',
    );
  });

  test('AutoScaleUpToMinimum without a claim in the ledger puts nothing in flight: it only counts for the rate policies', () => {
    const e = ev('io.scalewise.AutoScaleUpToMinimum', { scale_up_count: 1 }, 'floor-9');
    const { state } = given(pool(), [
      [0, synced(1)],
      [1, e],
    ]);
    const p = state.pools.workers!;
    assert.deepEqual(p.inFlight, []);
    assert.equal(desiredOf(p), 1);
    assert.deepEqual(
      p.scaleEvents.map((x) => [x.id, x.change]),
      [['floor-9', 1]],
    );
    assert.deepEqual(state.ledgers.workers!.actions, {}, 'the engine claims nothing for it');
  });
});

describe('state and policy', () => {
  test('initialState may take known sizes', () => {
    const s = initialState([pool()], { workers: 4 });
    assert.equal(s.pools.workers!.workers, 4);
    assert.equal(initialState([pool()]).pools.workers!.workers, null);
  });

  test('withPolicies keeps runtime state and the ledger; a runtime min/max holds until the configured value changes', () => {
    const { state } = given(pool(), [
      [0, synced(3)],
      [1, trigger('io.scalewise.trigger.update', { pool: 'workers', max: 9 })],
    ]);
    // The limits in force are the ledger's, as the next step sees them.
    const view = (s: EngineState, name = 'workers') => viewOf(s.pools[name]!, s.ledgers[name]!, at(2));
    const same = withPolicies(state, [pool({ cooldownSeconds: 5 })]);
    assert.equal(view(same).max, 9);
    assert.equal(view(same).workers, 3);
    assert.equal(same.ledgers.workers, state.ledgers.workers);
    assert.equal(same.pools.workers!.policy.cooldownSeconds, 5);
    const changed = withPolicies(state, [pool({ max: 7 }), pool({ name: 'gpu', min: 0, max: 2 })]);
    assert.equal(view(changed).max, 7);
    assert.equal(view(changed, 'gpu').workers, null);
    const gone = withPolicies(state, [pool({ name: 'gpu', min: 0, max: 2 })]);
    assert.deepEqual(Object.keys(gone.pools), ['gpu']);
    assert.deepEqual(Object.keys(gone.ledgers), ['gpu']);
  });

  test('definePoolPolicy fills the documented defaults', () => {
    const p = definePoolPolicy({ name: 'workers', min: 2, max: 6 });
    // Both directions whole: the Kubernetes HPA v2 defaults.
    assert.deepEqual(p.behavior, {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
      },
      scaleDown: {
        stabilizationWindowSeconds: 300,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
      },
    });
    assert.equal(p.cooldownSeconds, 60);
    assert.equal(p.underutilizedForSeconds, 300);
    assert.deepEqual(p.allowedTriggerSources, ['*']);
    assert.equal(p.thresholds.cpuHighPercent, 80);
    assert.equal(p.thresholds.memoryHighPercent, 85);
    assert.equal(p.thresholds.cpuLowPercent, 30);
    assert.equal(p.thresholds.memoryLowPercent, 40);
  });

  test('definePoolPolicy names the key it rejects', () => {
    const bad: Array<[object, RegExp]> = [
      [{ min: 5, max: 3 }, /min \(5\) must not exceed max \(3\)/],
      [{ min: -1 }, /min must be/],
      [{ max: 0 }, /max must be/],
      [{ name: 'Not A Label' }, /name must be a DNS label/],
      [
        { behavior: { scaleUp: { stabilizationWindowSeconds: 4000 } } },
        /behavior.scaleUp.stabilizationWindowSeconds/,
      ],
      [
        { behavior: { scaleDown: { policies: [{ type: 'Pods', value: 0, periodSeconds: 15 }] } } },
        /scaleDown.policies\[0\].value/,
      ],
      [
        { behavior: { scaleDown: { policies: [{ type: 'Pods', value: 1, periodSeconds: 2000 }] } } },
        /periodSeconds must be 1-1800/,
      ],
      [{ behavior: { scaleUp: { policies: [] } } }, /at least one policy/],
      [{ behavior: { scaleUp: { selectPolicy: 'Sometimes' } } }, /selectPolicy/],
      [{ thresholds: { cpuLowPercent: 70 } }, /cpuLow < cpuTarget/],
      [{ nodeSize: { cpuMillicores: 0 } }, /nodeSize.cpuMillicores/],
      [{ allowedTriggerSources: [''] }, /allowedTriggerSources\[0\]/],
      [{ actionTimeoutSeconds: 0 }, /actionTimeoutSeconds/],
    ];
    for (const [overrides, message] of bad) {
      assert.throws(
        () => definePoolPolicy({ name: 'workers', min: 2, max: 6, ...overrides } as never),
        (e: unknown) => e instanceof ScalewiseError && e.code === 'INVALID_CONFIG' && message.test(e.message),
        JSON.stringify(overrides),
      );
    }
    assert.doesNotThrow(() =>
      definePoolPolicy({
        name: 'w',
        min: 0,
        max: 1,
        behavior: { scaleUp: { selectPolicy: 'Disabled', policies: [] } },
      }),
    );
  });

  test('sourceAllowed: exact names and globs with * and ?', () => {
    assert.ok(sourceAllowed('/ci/pipeline', ['/ci/*']));
    assert.ok(sourceAllowed('/ci/', ['/ci/*']));
    assert.ok(sourceAllowed('ops-bot', ['/ci/*', 'ops-bot']));
    assert.ok(sourceAllowed('job-7', ['job-?']));
    assert.ok(sourceAllowed('anything', ['*']));
    assert.ok(sourceAllowed('a.b', ['a.b']));
    assert.ok(!sourceAllowed('axb', ['a.b']), 'a dot is literal');
    assert.ok(!sourceAllowed('job-17', ['job-?']));
    assert.ok(!sourceAllowed('/cid', ['/ci/*']));
    assert.ok(!sourceAllowed('x', []));
    assert.ok(sourceAllowed('/a/b/c/d', ['/a/*/c/*']));
  });

  // A backtracking matcher would take exponential time here: the runner's timeout fails such a
  // regression, with no clock read by the test (a loaded machine must not fail it).
  test('sourceAllowed stays fast on a hostile source', { timeout: 30_000 }, () => {
    assert.ok(!sourceAllowed(`${'a'.repeat(50_000)}b`, ['*a*a*a*a*a*a*c']));
  });
});

/** A run of inputs through the decider from a fresh pool, the state carried from one to the next. */
function flow() {
  const f = {
    state: initialState([pool()]),
    /** Every event decided so far, in order. */
    out: [] as Intent[],
    feed(input: EngineInput, t: number): Intent[] {
      const d = when(f.state, input, t);
      f.state = d.state;
      f.out.push(...d.events);
      return d.events;
    },
  };
  return f;
}

describe('seed 000 flows at the decision core', () => {
  test('flow 1: scale-down with visibility', () => {
    // 1. ClusterStateSynced(3) 2. UnderutilizationWarning 3. OptimalStateTrigger(anticipated)
    // 4. ScaleDownDecision(to 2) 5. ScaleDownStarted 6. ScalingActionCompleted(2)
    // 7. OptimalStateTrigger(active) 8. ClusterStateSynced(2)
    const f = flow();
    f.feed(synced(3), 0);
    const decided = f.feed(underutilized(3, 25, 35, 300), 1);
    const decision = one(decided, 'io.scalewise.ScaleDownDecision');
    assert.equal(decision.desired_workers, 2);
    const id = decided[1]!.id;
    assert.equal(f.state.ledgers.workers!.actions[id]?.state, 'claimed');
    f.feed(
      ev('io.scalewise.ScaleDownStarted', {
        action_id: id,
        count: 1,
        previous_workers: 3,
        target_workers: 2,
        nodes: ['workers-3'],
      }),
      2,
    );
    f.feed(ev('io.scalewise.NodeRemoved', { node_name: 'workers-3', action_id: id }), 4);
    f.feed(completed(id, 'scale_down', 3, 2), 5);
    f.feed(synced(2), 6);
    assert.deepEqual(names(f.out), ['OptimalStateTrigger', 'ScaleDownDecision', 'OptimalStateTrigger']);
    assert.equal(f.state.pools.workers!.workers, 2);
    assert.deepEqual(f.state.pools.workers!.inFlight, []);
    const a = f.state.ledgers.workers!.actions[id]!;
    assert.deepEqual([a.state, a.removed], ['done', ['workers-3']]);
  });

  test('flow 2: during minimum recovery the engine decides nothing and holds scale-down', () => {
    const f = flow();
    f.feed(synced(2), 0);
    f.feed(
      ev('io.scalewise.NodeUnexpectedlyLost', {
        node_name: 'workers-2',
        remaining_workers: 1,
        cause: 'container_crash',
      }),
      1,
    );
    assert.equal(f.state.pools.workers!.workers, 1);
    // min-enforcer claims the repair in the ledger, then publishes it.
    f.state = floorClaimed(f.state, 'floor-1', 1, 1);
    f.feed(
      ev(
        'io.scalewise.AutoScaleUpToMinimum',
        { current_workers: 1, min_workers: 2, scale_up_count: 1 },
        'floor-1',
      ),
      1,
    );
    assert.equal(desiredOf(f.state.pools.workers!), 2);
    // Pods the repair's node will take: nothing more is bought.
    f.feed(pending(1, 1000, GiB), 1);
    // An underutilisation sample: the block names the repair.
    f.feed(underutilized(1), 1);
    const held = one(f.out, 'io.scalewise.ScaleDownBlocked');
    assert.deepEqual([held.reason, held.in_flight_action_id], ['action_in_flight', 'floor-1']);
    f.out.length = 0;
    f.feed(
      ev('io.scalewise.ScaleUpStarted', {
        action_id: 'floor-1',
        count: 1,
        previous_workers: 1,
        target_workers: 2,
      }),
      2,
    );
    f.feed(ev('io.scalewise.NodeReady', { node_name: 'workers-14', action_id: 'floor-1' }), 8);
    assert.equal(f.state.pools.workers!.workers, 2);
    f.feed(completed('floor-1', 'scale_up', 1, 2), 9);
    f.feed(synced(2), 10);
    assert.deepEqual(f.out, []);
    assert.deepEqual(f.state.pools.workers!.inFlight, []);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AnyScalewiseEvent,
  cadenceOf,
  decisionTypes,
  eventTypes,
  shortName,
  typeOf,
} from '@scalewise/events';
import { ev, scaleUpChain } from './fixtures.test-support.ts';
import { byClass, textOf } from './h.ts';
import { timelineView } from './panels.ts';
import { type Cadences, capByCadence, foldRoutine, isFold, routineIds } from './routine.ts';

// What the page is built with (vite.config.ts): the catalogue's cadence of every type.
const cadences: Cadences = Object.fromEntries(eventTypes.map((t) => [t, cadenceOf(t)]));
const t0 = Date.parse('2026-11-22T11:00:00.000Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();
const newestFirst = (events: AnyScalewiseEvent[]) =>
  [...events].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
const sample = (s: number, pool = 'workers') => ev('io.scalewise.PoolMetricsObserved', {}, at(s), pool);
const synced = (s: number, pool = 'workers') => ev('io.scalewise.ClusterStateSynced', {}, at(s), pool);
const optimal = (s: number, pool = 'workers') => ev('io.scalewise.OptimalStateTrigger', {}, at(s), pool);
const types = (items: ReturnType<typeof foldRoutine>) =>
  items.map((i) => (isFold(i) ? `fold ${i.fold.length}` : shortName(i.type)));

describe('routine events in the timeline', () => {
  test("the catalogue's cadences: telemetry and repeated states are routine, decisions, alerts and repairs are not", () => {
    assert.equal(cadences['io.scalewise.PoolMetricsObserved'], 'periodic');
    assert.equal(cadences['io.scalewise.ClusterStateSynced'], 'periodic');
    assert.equal(cadences['io.scalewise.OptimalStateTrigger'], 'state');
    for (const t of [
      'ScaleUpDecision',
      'ScaleDownDecision',
      'AutoScaleUpToMinimum',
      'EmergencyScaleUp',
      'MinimumNodesViolation',
      'MinimumNodesRestored',
      'NodeUnexpectedlyLost',
      'ScalingActionCompleted',
      'ScalingActionFailed',
      'StateDriftDetected',
      'DeadLetterRecorded',
    ]) {
      assert.equal(cadences[typeOf(t)], 'change', t);
    }
  });

  test('samples and syncs around a scale-up fold into runs that say how many; the chain stays', () => {
    const chain = scaleUpChain(t0 + 100_000); // at 100, 101, 102 and 130 s
    const list = newestFirst([
      sample(90),
      synced(95),
      sample(99),
      ...chain,
      sample(110),
      synced(115),
      sample(120),
    ]);
    const items = foldRoutine(list, routineIds(list, cadences));
    assert.deepEqual(types(items), [
      'ScalingActionCompleted',
      'fold 3',
      'ScaleUpStarted',
      'ScaleUpDecision',
      'PendingPodsDetected',
      'fold 3',
    ]);
    const view = timelineView(items, new Set(decisionTypes), undefined, () => undefined);
    const folds = byClass(view, 'fold');
    assert.deepEqual(
      folds.map((f) => textOf(f)),
      [
        '11:02:00.000 3 routine events hidden: PoolMetricsObserved ×2, ClusterStateSynced ×1 show',
        '11:01:39.000 3 routine events hidden: PoolMetricsObserved ×2, ClusterStateSynced ×1 show',
      ],
    );
    assert.equal(byClass(view, 'event').length, 4);
  });

  test("a state said again by the same pool is routine until that pool's next change; other pools apart", () => {
    const first = optimal(10);
    const again = optimal(20);
    const otherPool = optimal(25, 'batch');
    const decision = ev('io.scalewise.ScaleDownDecision', {}, at(30));
    const afterDecision = optimal(40);
    const againAfter = optimal(50);
    const routine = routineIds(
      newestFirst([first, again, otherPool, decision, afterDecision, againAfter]),
      cadences,
    );
    assert.deepEqual(
      [first, again, otherPool, decision, afterDecision, againAfter].map((e) => routine.has(e.id)),
      [false, true, false, false, false, true],
    );
  });

  test('two states alternating (pressure and pending pods every sample) each fold after their first', () => {
    const list = [0, 1, 2].flatMap((i) => [
      ev('io.scalewise.ResourcePressureAlert', {}, at(i * 10)),
      ev('io.scalewise.PendingPodsDetected', {}, at(i * 10 + 1)),
    ]);
    const routine = routineIds(newestFirst(list), cadences);
    assert.deepEqual(
      list.map((e) => routine.has(e.id)),
      [false, false, true, true, true, true],
    );
  });

  test('a type the page does not know (a newer server) is shown', () => {
    const e = { ...sample(1), type: 'io.scalewise.SomethingNew' } as unknown as AnyScalewiseEvent;
    assert.equal(routineIds([e], cadences).size, 0);
  });

  test("the fold's button asks to show the routine events", () => {
    const list = newestFirst([sample(1), sample(2)]);
    let shown = 0;
    const view = timelineView(
      foldRoutine(list, routineIds(list, cadences)),
      new Set(decisionTypes),
      undefined,
      () => undefined,
      () => {
        shown += 1;
      },
    );
    const [button] = byClass(view, 'show-routine');
    assert.ok(button);
    (button.props.onclick as () => void)();
    assert.equal(shown, 1);
    assert.equal(byClass(view, 'fold')[0]?.props['data-count'], 2);
  });

  test('samples never push decisions out of the page: each kind keeps its newest `max`', () => {
    const decisions = [1, 2].map((i) => ev('io.scalewise.ScaleUpDecision', {}, at(i)));
    const samples = [3, 4, 5, 6].map((s) => sample(s));
    const kept = capByCadence(newestFirst([...decisions, ...samples]), cadences, 2);
    assert.deepEqual(
      kept.map((e) => e.time),
      [at(6), at(5), at(2), at(1)],
    );
  });
});

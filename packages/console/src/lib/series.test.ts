import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sampleData } from '@scalewise/events';
import { ev, scaleUpChain } from './fixtures.test-support.ts';
import { buildSeries, fitStart, heldNow, lastValue, valuesOf } from './series.ts';

const t0 = Date.parse('2026-11-22T11:00:00.000Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();

describe('pool sizes over time from the history', () => {
  test('a scale-up chain: workers from state and completion, desired from the decision, limits from the config', () => {
    // Given the configured limits, a synced state of 3 workers and a scale-up chain to 5
    const synced = ev('io.scalewise.ClusterStateSynced', { workers: 3 }, at(0));
    const chain = scaleUpChain(t0 + 60_000);
    const synced5 = ev('io.scalewise.ClusterStateSynced', { workers: 5 }, at(120));
    // When the series are built (events in any order)
    const [s] = buildSeries([synced5, ...chain.reverse(), synced], [{ pool: 'workers', min: 2, max: 6 }], t0);
    // Then
    assert.ok(s);
    assert.equal(s.pool, 'workers');
    assert.deepEqual(
      s.workers.map((p) => p.v),
      [3, 5],
      'the completion and the later sync both say 5: one step',
    );
    assert.equal(s.workers[1]?.t, t0 + 90_000, 'the step is at the completion');
    assert.deepEqual(s.desired, [{ t: t0 + 61_000, v: 5 }]);
    assert.deepEqual(s.min, [{ t: t0, v: 2 }]);
    assert.deepEqual(s.max, [{ t: t0, v: 6 }]);
    assert.equal(lastValue(s.workers), 5);
  });

  test('trigger.update and events that state min/max move the limits', () => {
    const events = [
      ev('io.scalewise.trigger.update', { min: 3, max: 8 }, at(10)),
      ev('io.scalewise.ScaleDownBlocked', { min_workers: 4 }, at(20)),
      ev('io.scalewise.ResourcePressureAlert', { max_workers: 9 }, at(30)),
    ];
    const [s] = buildSeries(events, [{ pool: 'workers', min: 2, max: 6 }], t0);
    assert.deepEqual(
      s?.min.map((p) => p.v),
      [2, 3, 4],
    );
    assert.deepEqual(
      s?.max.map((p) => p.v),
      [6, 8, 9],
    );
  });

  test('each pool gets its own series; a dry-run decision sets no desired size', () => {
    const events = [
      ev('io.scalewise.PoolMetricsObserved', { workers: 2 }, at(0), 'gpu'),
      ev('io.scalewise.ScaleUpDecision', { desired_workers: 9, dry_run: true }, at(1), 'gpu'),
      ev('io.scalewise.PoolMetricsObserved', { workers: 4 }, at(0), 'batch'),
    ];
    const series = buildSeries(events, [], t0);
    assert.deepEqual(
      series.map((s) => [s.pool, lastValue(s.workers), s.desired.length]),
      [
        ['batch', 4, 0],
        ['gpu', 2, 0],
      ],
    );
  });

  test('floor and emergency actions set desired from their counts', () => {
    const cases = [
      [
        ev(
          'io.scalewise.AutoScaleUpToMinimum',
          { current_workers: 1, scale_up_count: 2, min_workers: 3 },
          at(0),
        ),
        { min: 3, desired: 3 },
      ],
      [
        ev(
          'io.scalewise.EmergencyScaleUp',
          { remaining_workers: 1, emergency_scale: 2, min_workers: 2 },
          at(0),
        ),
        { min: 2, desired: 3 },
      ],
      [ev('io.scalewise.NodeReady', {}, at(0)), {}],
    ] as const;
    for (const [event, values] of cases) assert.deepEqual(valuesOf(event), values, event.type);
  });
});

describe('the time axis', () => {
  test('fits recent data, keeps the window when the data fills it, and the window when there is none', () => {
    const now = t0 + 3_600_000;
    const recent = [ev('io.scalewise.ClusterStateSynced', {}, new Date(now - 60_000).toISOString())];
    assert.equal(fitStart(recent, t0, now), now - 70_000, 'a minute of data, 10 s margin');
    const old = [ev('io.scalewise.ClusterStateSynced', {}, new Date(t0 + 60_000).toISOString())];
    assert.equal(fitStart(old, t0, now), t0);
    assert.equal(fitStart([], t0, now), t0);
  });

  test("a trigger's target is held from its decision to its TriggerHoldEnded; a newer one replaces it", () => {
    const inputs = (trigger: string, target: number) => ({
      explanation: {
        ...sampleData['io.scalewise.ScaleUpDecision'].explanation,
        inputs: { trigger_id: trigger, held_target: target },
      },
    });
    const events = [
      ev('io.scalewise.ScaleUpDecision', inputs('t-1', 8), at(10)),
      ev('io.scalewise.ScaleUpDecision', inputs('t-1', 8), at(25)),
      ev('io.scalewise.ScaleDownBlocked', inputs('t-1', 8), at(40)),
      ev('io.scalewise.TriggerHoldEnded', { trigger_id: 't-1' }, at(70)),
      ev('io.scalewise.ScaleUpDecision', inputs('t-2', 5), at(80)),
      ev('io.scalewise.ScaleUpDecision', inputs('t-3', 6), at(90)),
      ev('io.scalewise.TriggerHoldEnded', { trigger_id: 't-2' }, at(95)),
      ev('io.scalewise.ScaleUpDecision', { ...inputs('t-4', 9), dry_run: true }, at(99)),
    ];
    const [s] = buildSeries(events, [], t0);
    assert.deepEqual(s?.holds, [
      { trigger: 't-1', target: 8, from: t0 + 10_000, to: t0 + 70_000 },
      { trigger: 't-2', target: 5, from: t0 + 80_000, to: t0 + 90_000 },
      { trigger: 't-3', target: 6, from: t0 + 90_000, to: null },
    ]);
    assert.equal(s && heldNow(s), 6);
  });
});

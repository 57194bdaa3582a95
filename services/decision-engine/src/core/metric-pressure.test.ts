import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { given, names, one, pool, validateAll, when } from './fixtures.ts';
import { ev, metrics, synced } from './inputs.ts';

/** A ResourcePressureAlert from a pool's Prometheus source (metrics-listener's core/prometheus.ts). */
const metricPressure = (workers: number, value: number, threshold: number, desired: number, cpu = 20) =>
  ev('io.scalewise.ResourcePressureAlert', {
    workers,
    cpu_avg: cpu,
    memory_avg: 30,
    resource: 'metric',
    duration: 0,
    metric: {
      name: 'queue_depth',
      query: 'sum(queue_depth)',
      value,
      threshold,
      activation_threshold: 0,
      metric_type: 'AverageValue',
      active: true,
      desired_workers: desired,
    },
  });

describe('scale-up on an external metric (KEDA prometheus trigger)', () => {
  test('Given 2 workers and a queue of 450 at 100 per worker, Then it scales to ceil(450/100) = 5', () => {
    const { state } = given(pool(), [[0, synced(2)]]);
    const { events } = when(state, metricPressure(2, 450, 100, 5), 1);
    const d = one(events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.reason, 'resource_pressure');
    assert.equal(d.desired_workers, 5);
    assert.equal(d.count, 3);
    assert.equal(d.explanation.rule, 'metric_pressure');
    assert.equal(d.explanation.inputs.desired_workers, 5);
    assert.equal(d.explanation.inputs.query, 'sum(queue_depth)');
    assert.match(d.explanation.summary, /ceil\(450 \/ 100\) = 5 workers/);
    // Low CPU does not shrink the metric's target: CPU is not what is short.
    assert.deepEqual(
      d.explanation.comparisons.slice(0, 2).map((c) => [c.metric, c.result]),
      [
        ['queue_depth', true],
        ['desired_workers', true],
      ],
    );
    validateAll(events);
  });

  test('the metric target is clamped by max like any other', () => {
    const { state } = given(pool(), [[0, synced(3)]]);
    const d = one(when(state, metricPressure(3, 5000, 100, 50), 1).events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.desired_workers, 6);
    assert.ok(d.explanation.clamped);
  });

  test('CPU pressure and a metric together: the larger of the two targets', () => {
    const { state } = given(pool(), [[0, synced(2)]]);
    const both = ev('io.scalewise.ResourcePressureAlert', {
      workers: 2,
      cpu_avg: 90,
      memory_avg: 30,
      resource: 'cpu',
      metric: {
        name: 'queue_depth',
        query: 'sum(queue_depth)',
        value: 550,
        threshold: 100,
        activation_threshold: 0,
        metric_type: 'AverageValue',
        active: true,
        desired_workers: 6,
      },
    });
    const d = one(when(state, both, 1).events, 'io.scalewise.ScaleUpDecision');
    // CPU alone would ask ceil(2 * 90 / 60) = 3; the metric asks 6.
    assert.equal(d.desired_workers, 6);
  });

  test('while the metric needs the workers there are, low CPU does not start a scale-down', () => {
    const needs3 = {
      name: 'queue_depth',
      query: 'sum(queue_depth)',
      value: 300,
      threshold: 100,
      activation_threshold: 0,
      metric_type: 'AverageValue' as const,
      active: true,
      desired_workers: 3,
    };
    const { state } = given(pool({ underutilizedForSeconds: 0, cooldownSeconds: 0 }), [[0, synced(3)]]);
    const low = ev('io.scalewise.UnderutilizationWarning', {
      workers: 3,
      cpu_avg: 5,
      memory_avg: 5,
      duration: 600,
    });
    const r1 = when(state, metrics(3, 5, 5, { metric: needs3 }), 400);
    assert.deepEqual(names(r1.events), []);
    // An UnderutilizationWarning right after: the metric's 3 is in the scale-down window, so no shrink.
    const r2 = when(r1.state, low, 401);
    assert.equal(
      r2.events.some((e) => e.type === 'io.scalewise.ScaleDownDecision'),
      false,
    );
  });
});

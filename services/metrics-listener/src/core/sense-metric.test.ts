import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseData } from '@scalewise/events';
import type { PrometheusSpec, QueryReading } from './prometheus.ts';
import { initialSenseState, type NodeSample, type PoolSample, type SensePolicy, sense } from './sense.ts';

const T0 = Date.parse('2026-11-22T11:00:00Z');
const GiB = 2 ** 30;
const prometheus: PrometheusSpec = {
  name: 'queue_depth',
  query: 'sum(queue_depth)',
  threshold: 100,
  activationThreshold: 5,
  metricType: 'AverageValue',
  ignoreNullValues: true,
};
const policy: SensePolicy = {
  pool: 'workers',
  min: 1,
  max: 10,
  cpuHighPercent: 80,
  memoryHighPercent: 85,
  cpuLowPercent: 30,
  memoryLowPercent: 40,
  underutilizedPeriods: 1,
  healthRepeatSeconds: 60,
  prometheus,
};
const node = (name: string, cpu: number): NodeSample => ({
  name,
  ready: true,
  pressure: [],
  cpuAllocatableMillicores: 4000,
  memoryAllocatableBytes: 8 * GiB,
  cpuRequestedMillicores: cpu,
  memoryRequestedBytes: GiB,
});
const sample = (nodes: NodeSample[], metric?: QueryReading): PoolSample => ({
  pool: 'workers',
  at: T0,
  nodes,
  pending: [],
  ...(metric ? { metric } : {}),
});
const value = (v: number): QueryReading => ({ ok: true, value: v, series: 1 });
const run = (s: PoolSample, p = policy) => sense(initialSenseState(), s, p).events;
const find = <T extends string>(events: ReturnType<typeof run>, type: T) =>
  events.find((e) => e.type === type) as Extract<ReturnType<typeof run>[number], { type: T }> | undefined;

describe('sensing with a Prometheus source', () => {
  test('Given 2 quiet workers and a queue of 450 at 100 each, Then pressure on the metric asking for 5', () => {
    const events = run(sample([node('a', 500), node('b', 500)], value(450)));
    const alert = find(events, 'io.scalewise.ResourcePressureAlert');
    assert.equal(alert?.data.resource, 'metric');
    assert.deepEqual(alert?.data.metric, {
      name: 'queue_depth',
      query: 'sum(queue_depth)',
      value: 450,
      threshold: 100,
      activation_threshold: 5,
      metric_type: 'AverageValue',
      active: true,
      desired_workers: 5,
    });
    // The catalogue takes it, and PoolMetricsObserved carries the metric every sample.
    for (const e of events) parseData(e.type, e.data);
    assert.equal(find(events, 'io.scalewise.PoolMetricsObserved')?.data.metric?.desired_workers, 5);
  });

  test('enough workers for the metric: no pressure; an empty pool with a queue: pressure for 1', () => {
    assert.equal(
      find(run(sample([node('a', 500), node('b', 500)], value(150))), 'io.scalewise.ResourcePressureAlert'),
      undefined,
    );
    const empty = find(run(sample([], value(30))), 'io.scalewise.ResourcePressureAlert');
    assert.deepEqual([empty?.data.resource, empty?.data.metric?.desired_workers], ['metric', 1]);
  });

  test('at or below the activation threshold nothing is asked, even with no workers', () => {
    const events = run(sample([], value(5)));
    assert.equal(find(events, 'io.scalewise.ResourcePressureAlert'), undefined);
    assert.equal(find(events, 'io.scalewise.PoolMetricsObserved')?.data.metric?.active, false);
  });

  test('CPU pressure and the metric together: resource cpu, with the metric attached', () => {
    const alert = find(run(sample([node('a', 3900)], value(250))), 'io.scalewise.ResourcePressureAlert');
    assert.deepEqual([alert?.data.resource, alert?.data.metric?.desired_workers], ['cpu', 3]);
  });

  test('a failed query: no metric pressure, and PoolMetricsObserved says why', () => {
    const events = run(
      sample([node('a', 500)], { ok: false, error: 'prometheus http://p:9090: ECONNREFUSED' }),
    );
    assert.equal(find(events, 'io.scalewise.ResourcePressureAlert'), undefined);
    const m = find(events, 'io.scalewise.PoolMetricsObserved')?.data.metric;
    assert.deepEqual(
      [m?.value, m?.active, m?.error],
      [null, false, 'prometheus http://p:9090: ECONNREFUSED'],
    );
    parseData('io.scalewise.PoolMetricsObserved', find(events, 'io.scalewise.PoolMetricsObserved')?.data);
  });

  test('low CPU is not underutilisation while the metric needs every worker there is', () => {
    const quiet = [node('a', 100), node('b', 100)];
    assert.equal(find(run(sample(quiet, value(200))), 'io.scalewise.UnderutilizationWarning'), undefined);
    assert.ok(find(run(sample(quiet, value(90))), 'io.scalewise.UnderutilizationWarning'));
  });

  test('a pool without a Prometheus source carries no metric field', () => {
    const { prometheus: _, ...plain } = policy;
    const m = find(run(sample([node('a', 500)]), plain), 'io.scalewise.PoolMetricsObserved');
    assert.equal(m && 'metric' in m.data, false);
  });
});

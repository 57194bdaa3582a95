import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { metricDemand, type PrometheusSpec, readQueryResult } from './prometheus.ts';

const spec: PrometheusSpec = {
  name: 'queue_depth',
  query: 'sum(queue_depth)',
  threshold: 100,
  activationThreshold: 10,
  metricType: 'AverageValue',
  ignoreNullValues: true,
};
const vector = (...values: string[]) => ({
  status: 'success',
  data: {
    resultType: 'vector',
    result: values.map((v, i) => ({ metric: { instance: `i${i}` }, value: [1763900000.123, v] })),
  },
});

describe('readQueryResult: the answer of /api/v1/query to one number', () => {
  test('Given an instant vector of one series, Then its value', () => {
    assert.deepEqual(readQueryResult(vector('450.5'), spec), { ok: true, value: 450.5, series: 1 });
  });

  test('Given a scalar, Then its value', () => {
    const body = { status: 'success', data: { resultType: 'scalar', result: [1763900000, '7'] } };
    assert.deepEqual(readQueryResult(body, spec), { ok: true, value: 7, series: 1 });
  });

  test('Given no series, Then 0 with ignore_null_values, else an error naming the query', () => {
    assert.deepEqual(readQueryResult(vector(), spec), { ok: true, value: 0, series: 0 });
    const r = readQueryResult(vector(), { ...spec, ignoreNullValues: false });
    assert.equal(r.ok, false);
    assert.match(
      !r.ok ? r.error : '',
      /sum\(queue_depth\)' returned no series \(ignore_null_values is false\)/,
    );
  });

  test('Given NaN or +Inf, Then treated as no value', () => {
    assert.deepEqual(readQueryResult(vector('NaN'), spec), { ok: true, value: 0, series: 0 });
    const r = readQueryResult(vector('+Inf'), { ...spec, ignoreNullValues: false });
    assert.match(!r.ok ? r.error : '', /returned Infinity/);
  });

  test('Given several series, Then an error telling to aggregate (KEDA refuses them too)', () => {
    const r = readQueryResult(vector('1', '2', '3'), spec);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /returned 3 series; it must return one \(aggregate it, e\.g\. sum/);
  });

  test('Given a range vector, an API error or junk, Then an error with the reason', () => {
    const matrix = { status: 'success', data: { resultType: 'matrix', result: [] } };
    assert.match((readQueryResult(matrix, spec) as { error: string }).error, /returned a matrix/);
    const bad = { status: 'error', errorType: 'bad_data', error: 'parse error at char 4' };
    assert.match(
      (readQueryResult(bad, spec) as { error: string }).error,
      /failed: bad_data: parse error at char 4/,
    );
    assert.equal(readQueryResult('<html>', spec).ok, false);
    assert.equal(readQueryResult(vector('twelve'), spec).ok, false);
  });
});

describe('metricDemand: KEDA prometheus trigger arithmetic', () => {
  test('AverageValue: ceil(value / threshold) workers whatever the pool has', () => {
    assert.equal(metricDemand(450, 2, spec).desired_workers, 5);
    assert.equal(metricDemand(400, 2, spec).desired_workers, 4);
    assert.equal(metricDemand(401, 9, spec).desired_workers, 5);
  });

  test('at or below the activation threshold the metric asks for nothing; just above it, at least one', () => {
    assert.deepEqual(
      [metricDemand(10, 0, spec).active, metricDemand(10, 0, spec).desired_workers],
      [false, 0],
    );
    assert.deepEqual(
      [metricDemand(11, 0, spec).active, metricDemand(11, 0, spec).desired_workers],
      [true, 1],
    );
  });

  test('Value: ceil(workers * value / threshold), the HPA ratio', () => {
    const v = { ...spec, metricType: 'Value' as const, threshold: 50, activationThreshold: 0 };
    assert.equal(metricDemand(75, 4, v).desired_workers, 6);
    assert.equal(metricDemand(75, 0, v).desired_workers, 2);
  });
});

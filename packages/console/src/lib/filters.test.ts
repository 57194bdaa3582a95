import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  filterFromHash,
  filterToHash,
  historyQuery,
  mergeEvents,
  noFilter,
  passes,
  streamFilter,
  tokenFromHash,
} from './filters.ts';
import { ev } from './fixtures.test-support.ts';

const t = (s: number) => new Date(Date.parse('2026-11-22T11:00:00.000Z') + s * 1000).toISOString();

describe('timeline filters', () => {
  const decision = ev('io.scalewise.ScaleUpDecision', {}, t(0), 'workers');
  const lost = ev('io.scalewise.NodeUnexpectedlyLost', {}, t(1), 'gpu');

  test('pool, type (short or full name) and severity each narrow the timeline', () => {
    assert.ok(passes(noFilter, decision) && passes(noFilter, lost));
    assert.deepEqual(
      [decision, lost].filter((e) => passes({ ...noFilter, pool: 'gpu' }, e)),
      [lost],
    );
    assert.ok(passes({ ...noFilter, type: 'ScaleUpDecision' }, decision));
    assert.ok(passes({ ...noFilter, type: 'io.scalewise.ScaleUpDecision' }, decision));
    assert.ok(!passes({ ...noFilter, type: 'ScaleUpDecision' }, lost));
    assert.equal(lost.severity, 'critical');
    assert.ok(passes({ ...noFilter, severity: 'critical' }, lost));
    assert.ok(!passes({ ...noFilter, severity: 'critical' }, decision));
  });

  test('the same filter as the WebSocket message and the history query', () => {
    assert.deepEqual(streamFilter(noFilter), {});
    assert.deepEqual(streamFilter({ pool: 'gpu', type: 'NodeReady', severity: 'warning' }), {
      pools: ['gpu'],
      eventTypes: ['NodeReady'],
      severities: ['warning'],
    });
    assert.deepEqual(streamFilter({ ...noFilter, severity: 'loud' }), {}, 'an unknown severity is not sent');
    assert.equal(
      historyQuery({ pool: 'gpu', type: '', severity: 'critical' }, 1000, 200),
      'from=1000&limit=200&pool=gpu&severity=critical',
    );
  });

  test('the filter survives the address bar', () => {
    const f = { pool: 'gpu', type: 'NodeReady', severity: '' };
    assert.equal(filterToHash(f), 'pool=gpu&type=NodeReady');
    assert.deepEqual(filterFromHash(`#${filterToHash(f)}`), f);
    assert.deepEqual(filterFromHash(''), noFilter);
  });

  test('history and live events merge newest first, each once, capped', () => {
    const a = ev('io.scalewise.NodeReady', {}, t(1));
    const b = ev('io.scalewise.NodeReady', {}, t(2));
    const c = ev('io.scalewise.NodeReady', {}, t(3));
    const merged = mergeEvents([b, a], [c, b], 10);
    assert.deepEqual(
      merged.map((e) => e.id),
      [c.id, b.id, a.id],
    );
    assert.deepEqual(
      mergeEvents(merged, [], 2).map((e) => e.id),
      [c.id, b.id],
    );
  });
});

describe('a token in the address', () => {
  test('is taken out of the fragment; the filters stay', () => {
    assert.deepEqual(tokenFromHash('#token=abc-123&pool=workers'), {
      token: 'abc-123',
      rest: 'pool=workers',
    });
    assert.deepEqual(tokenFromHash('#pool=workers&token=x%2By'), { token: 'x+y', rest: 'pool=workers' });
    assert.deepEqual(tokenFromHash('#token=abc'), { token: 'abc', rest: '' });
  });

  test('no token, or an empty one, is none', () => {
    assert.deepEqual(tokenFromHash(''), { token: undefined, rest: '' });
    assert.deepEqual(tokenFromHash('#severity=critical'), { token: undefined, rest: 'severity=critical' });
    assert.deepEqual(tokenFromHash('#token=&pool=a'), { token: undefined, rest: 'pool=a' });
  });
});

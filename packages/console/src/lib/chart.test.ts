import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chartView, stepPath } from './chart.ts';
import { byClass, findAll, textOf } from './h.ts';
import type { PoolSeries } from './series.ts';

const from = 0;
const to = 100_000;
const series: PoolSeries = {
  pool: 'workers',
  workers: [
    { t: 0, v: 3 },
    { t: 50_000, v: 5 },
  ],
  desired: [{ t: 40_000, v: 5 }],
  min: [{ t: 0, v: 2 }],
  max: [{ t: 0, v: 6 }],
  holds: [],
};

describe('the pool chart', () => {
  test('a step line runs flat to each change, then to the end of the window', () => {
    const d = stepPath(
      series.workers,
      (t) => t / 1000,
      (v) => 100 - v * 10,
      to,
    );
    assert.equal(d, 'M0,70H50V50H100');
    assert.equal(
      stepPath(
        [],
        (t) => t,
        (v) => v,
        to,
      ),
      '',
    );
  });

  test('each line carries its series and last value; the legend prints them', () => {
    const view = chartView(series, { from, to });
    const lines = byClass(view, 'line');
    assert.deepEqual(
      lines.map((l) => [l.props['data-series'], l.props['data-last']]),
      [
        ['workers', 5],
        ['desired', 5],
        ['min', 2],
        ['max', 6],
      ],
    );
    assert.equal(textOf(byClass(view, 'legend')[0] ?? view), 'workers 5 desired 5 min 2 max 6');
    assert.equal(byClass(view, 'last')[0]?.props['data-value'], 5, 'the last workers point is marked');
    assert.equal(view.props['data-pool'], 'workers');
    assert.deepEqual(
      byClass(view, 'tick').slice(-2).map(textOf),
      ['00:00:00', '00:01:40'],
      'seconds on a short window',
    );
    const hour = chartView(series, { from, to: 3_600_000 });
    assert.deepEqual(byClass(hour, 'tick').slice(-2).map(textOf), ['00:00', '01:00']);
  });

  test('the y axis reaches the largest value; times outside the window are clamped to its edges', () => {
    const view = chartView(
      { ...series, workers: [{ t: -50_000, v: 12 }] },
      { from, to, width: 200, height: 100, formatTime: (t) => `t${t}` },
    );
    const ticks = byClass(view, 'tick').map(textOf);
    assert.deepEqual(ticks, ['0', '6', '12', 't0', 't100000']);
    const workers = byClass(view, 'line').find((l) => l.props['data-series'] === 'workers');
    assert.match(String(workers?.props.d), /^M34,10H190$/, 'starts at the left edge, at the top');
    assert.equal(findAll(view, (n) => n.tag === 'svg')[0]?.props.viewBox, '0 0 200 100');
  });

  test('a series without points draws nothing and shows a dash', () => {
    const view = chartView({ ...series, desired: [] }, { from, to });
    const desired = byClass(view, 'line').find((l) => l.props['data-series'] === 'desired');
    assert.equal(desired?.props.d, '');
    assert.match(textOf(view), /desired –/);
  });

  test('a held trigger target is a segment from its start to its end, and in the legend while held', () => {
    const held: PoolSeries = {
      ...series,
      holds: [
        { trigger: 't-1', target: 4, from: 10_000, to: 30_000 },
        { trigger: 't-2', target: 8, from: 60_000, to: null },
      ],
    };
    const view = chartView(held, { from, to, width: 144, height: 132 });
    const segments = byClass(view, 's-held').filter((v) => v.tag === 'path');
    // x: 34 + t / 1000; y: 10 + 100 - v * 100 / 8 (the highest value is the hold's 8)
    assert.deepEqual(
      segments.map((p) => [p.props['data-trigger'], p.props.d]),
      [
        ['t-1', 'M44,60H64'],
        ['t-2', 'M94,10H134'],
      ],
    );
    assert.equal(textOf(byClass(view, 'legend')[0] ?? view), 'workers 5 desired 5 min 2 max 6 held 8');
    const over = chartView({ ...held, holds: held.holds.slice(0, 1) }, { from, to });
    assert.equal(textOf(byClass(over, 'legend')[0] ?? over), 'workers 5 desired 5 min 2 max 6');
  });
});

/**
 * One pool's sizes over time as an inline SVG of step lines (workers, desired, min, max).
 * Pure: returns a view description. Each line carries `data-series` and `data-last` (its last
 * value), and the legend prints the last values, so people and tests read the same numbers.
 */
import { h, type VNode } from './h.ts';
import { heldNow, lastValue, type Point, type PoolSeries, seriesNames } from './series.ts';

export interface ChartOptions {
  /** Window start and end, epoch ms. */
  from: number;
  to: number;
  width?: number;
  height?: number;
  /** Formats a time for the axis. @default HH:MM in UTC, HH:MM:SS when the window is under 10 minutes */
  formatTime?: (t: number) => string;
}

const pad = { left: 34, right: 10, top: 10, bottom: 22 };

const hhmm = (t: number): string => new Date(t).toISOString().slice(11, 16);
const hhmmss = (t: number): string => new Date(t).toISOString().slice(11, 19);

/** The SVG path of a step line from `points` to `to`, or '' when there are none. */
export function stepPath(
  points: readonly Point[],
  x: (t: number) => number,
  y: (v: number) => number,
  to: number,
): string {
  const first = points[0];
  if (!first) return '';
  const r = (n: number) => Math.round(n * 10) / 10;
  let d = `M${r(x(first.t))},${r(y(first.v))}`;
  for (const p of points.slice(1)) d += `H${r(x(p.t))}V${r(y(p.v))}`;
  return `${d}H${r(x(to))}`;
}

export function chartView(series: PoolSeries, o: ChartOptions): VNode {
  const width = o.width ?? 640;
  const height = o.height ?? 180;
  const fmt = o.formatTime ?? (o.to - o.from < 600_000 ? hhmmss : hhmm);
  const all = seriesNames.flatMap((n) => series[n]);
  const top = Math.max(1, ...all.map((p) => p.v), ...series.holds.map((s) => s.target));
  const span = Math.max(1, o.to - o.from);
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const x = (t: number) => pad.left + (Math.min(Math.max(t, o.from), o.to) - o.from) * (innerW / span);
  const y = (v: number) => pad.top + innerH - (v / top) * innerH;
  const ticks = [...new Set([0, Math.round(top / 2), top])];
  const lines = seriesNames.map((name) => {
    const pts = series[name];
    const last = lastValue(pts);
    return h('path', {
      class: `line s-${name}`,
      d: stepPath(pts, x, y, o.to),
      'data-series': name,
      'data-last': last === undefined ? '' : last,
    });
  });
  // A held trigger target: a dashed segment at its size for as long as it was held.
  const holds = series.holds.map((s) =>
    h('path', {
      class: 'line s-held',
      d: `M${x(s.from)},${y(s.target)}H${x(s.to ?? o.to)}`,
      'data-series': 'held',
      'data-trigger': s.trigger,
      'data-last': s.target,
    }),
  );
  const lastPoint = series.workers.at(-1);
  return h(
    'figure',
    { class: 'chart', 'data-pool': series.pool },
    h('figcaption', {}, h('b', {}, series.pool), legend(series)),
    h(
      'svg',
      {
        viewBox: `0 0 ${width} ${height}`,
        width,
        height,
        role: 'img',
        'aria-label': `${series.pool}: workers, desired, min and max over time`,
      },
      ticks.flatMap((v) => [
        h('line', { class: 'grid', x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }),
        h('text', { class: 'tick', x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, v),
      ]),
      h('text', { class: 'tick', x: pad.left, y: height - 6 }, fmt(o.from)),
      h('text', { class: 'tick', x: width - pad.right, y: height - 6, 'text-anchor': 'end' }, fmt(o.to)),
      lines,
      holds,
      lastPoint &&
        h('circle', {
          class: 'last s-workers',
          cx: x(lastPoint.t),
          cy: y(lastPoint.v),
          r: 3,
          'data-value': lastPoint.v,
        }),
    ),
  );
}

/**
 * "workers 5 · desired 5 · min 2 · max 6", and "held 8" while a trigger's target is held; a
 * series without points shows "–".
 */
export function legend(series: PoolSeries): VNode {
  const held = heldNow(series);
  return h(
    'span',
    { class: 'legend' },
    seriesNames.map((name) =>
      h('span', { class: `key s-${name}`, 'data-series': name }, `${name} ${lastValue(series[name]) ?? '–'}`),
    ),
    held !== undefined && h('span', { class: 'key s-held', 'data-series': 'held' }, `held ${held}`),
  );
}

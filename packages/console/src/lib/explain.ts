/**
 * A decision's explanation chain as a view: each event of the chain indented by its depth;
 * a decision shows its rule, summary, the inputs it saw, each comparison with its numbers and
 * result, and any clamp (wanted, got, by what). Pure.
 */
import { clock, summary } from './describe.ts';
import { h, type VNode } from './h.ts';
import { type AnyScalewiseEvent, type ExplainResponse, shortType } from './types.ts';

/** The explanation a decision event carries, when it carries one. */
export interface DecisionExplanation {
  rule: string;
  summary: string;
  inputs: Record<string, number | string | boolean | null>;
  comparisons: { metric: string; value: number; operator: string; threshold: number; result: boolean }[];
  clamped?: { wanted: number; got: number; by: string };
}

export function explanationOf(e: AnyScalewiseEvent): DecisionExplanation | undefined {
  const x = (e.data as { explanation?: DecisionExplanation }).explanation;
  return x && typeof x.rule === 'string' ? x : undefined;
}

/** "cpu_avg 91 > 80 ✓". */
export const comparisonText = (c: DecisionExplanation['comparisons'][number]): string =>
  `${c.metric} ${c.value} ${c.operator} ${c.threshold} ${c.result ? '✓' : '✗'}`;

export function explanationDetails(x: DecisionExplanation): VNode {
  const inputs = Object.entries(x.inputs);
  return h(
    'div',
    { class: 'why' },
    h('p', { class: 'rule' }, 'rule ', h('code', {}, x.rule), ': ', x.summary),
    inputs.length > 0 &&
      h(
        'table',
        { class: 'inputs' },
        h('caption', {}, 'inputs'),
        inputs.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v === null ? 'null' : String(v)))),
      ),
    x.comparisons.length > 0 &&
      h(
        'ul',
        { class: 'comparisons' },
        x.comparisons.map((c) =>
          h('li', { class: c.result ? 'true' : 'false', 'data-metric': c.metric }, comparisonText(c)),
        ),
      ),
    x.clamped &&
      h(
        'p',
        { class: 'clamped' },
        `clamped: wanted ${x.clamped.wanted}, got ${x.clamped.got} (by ${x.clamped.by})`,
      ),
  );
}

export function chainView(x: ExplainResponse, selectedId: string): VNode {
  return h(
    'div',
    { class: 'chain', 'data-correlation': x.correlationid },
    h(
      'ol',
      {},
      x.chain.map(({ event, depth }) => {
        const why = explanationOf(event);
        return h(
          'li',
          {
            class: `link depth-${Math.min(depth, 8)}${event.id === selectedId ? ' selected' : ''}`,
            'data-type': shortType(event.type),
            'data-id': event.id,
          },
          h(
            'div',
            { class: 'head' },
            h('span', { class: 'time' }, clock(event.time)),
            h('b', { class: 'type' }, shortType(event.type)),
            h('span', { class: 'sum' }, summary(event)),
          ),
          why && explanationDetails(why),
        );
      }),
    ),
    x.blocked.length > 0 &&
      h(
        'div',
        { class: 'blocked' },
        h('h4', {}, 'not taken'),
        h(
          'ul',
          {},
          x.blocked.map((b) => h('li', {}, `${shortType(b.type)}: ${summary(b)}`)),
        ),
      ),
    x.related.length > 0 &&
      h(
        'div',
        { class: 'related' },
        h('h4', {}, 'also in this chain'),
        h(
          'ul',
          {},
          x.related.map((r) => h('li', {}, `${clock(r.time)} ${shortType(r.type)}: ${summary(r)}`)),
        ),
      ),
  );
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chainView, comparisonText, explanationOf } from './explain.ts';
import { ev, scaleUpChain } from './fixtures.test-support.ts';
import { byClass, findAll, textOf } from './h.ts';
import type { ExplainResponse } from './types.ts';

describe('a decision explained', () => {
  const chain = scaleUpChain();
  const [pending, decision, started, done] = chain;
  const response: ExplainResponse = {
    correlationid: decision?.correlationid ?? '',
    chain: chain.map((event, depth) => ({ event, depth })),
    blocked: [],
    related: [],
  };

  test('the chain in order, indented by depth, the clicked event marked', () => {
    const view = chainView(response, decision?.id ?? '');
    const links = byClass(view, 'link');
    assert.deepEqual(
      links.map((l) => l.props['data-type']),
      ['PendingPodsDetected', 'ScaleUpDecision', 'ScaleUpStarted', 'ScalingActionCompleted'],
    );
    assert.deepEqual(
      links.map((l) => String(l.props.class)),
      ['link depth-0', 'link depth-1 selected', 'link depth-2', 'link depth-3'],
    );
    assert.match(textOf(links[0] ?? view), /3 pods pending for 4s \(default\/web\)/);
    assert.match(textOf(links[3] ?? view), /scale_up done: 3 → 5 workers in 3.1s/);
    assert.ok(pending && started && done);
  });

  test('the decision shows its rule, inputs, every comparison with its numbers, and the clamp', () => {
    const view = chainView(response, decision?.id ?? '');
    const why = byClass(view, 'why');
    assert.equal(why.length, 1, 'only the decision carries an explanation');
    const text = textOf(why[0] ?? view);
    assert.match(text, /rule pending_pods : 3 pods pending for 4s; 2 more 4-CPU workers fit them/);
    const rows = findAll(why[0] ?? view, (n) => n.tag === 'tr').map(textOf);
    assert.deepEqual(rows, ['pending_count 3', 'requested_cpu_millicores 6000', 'node_cpu_millicores 4000']);
    assert.deepEqual(
      byClass(view, 'comparisons')[0]?.children.map((c) => textOf(c)),
      ['pending_count 3 > 0 ✓', 'cpu_avg 42 > 80 ✗'],
    );
    assert.equal(textOf(byClass(view, 'clamped')[0] ?? view), 'clamped: wanted 6, got 5 (by max)');
  });

  test('decisions not taken and side branches are listed apart', () => {
    const blocked = ev('io.scalewise.ScaleDownBlocked', { reason: 'pending_pods' }, new Date().toISOString());
    const view = chainView({ ...response, blocked: [blocked], related: [blocked] }, '');
    assert.match(
      textOf(byClass(view, 'blocked')[0] ?? view),
      /not taken ScaleDownBlocked: scale-down blocked: pending_pods/,
    );
    assert.equal(byClass(view, 'related').length, 1);
  });

  test('events without an explanation have none; comparisons read as sentences', () => {
    assert.equal(explanationOf(started ?? decision ?? pending ?? done!), undefined);
    assert.equal(
      comparisonText({ metric: 'memory_avg', value: 20, operator: '<', threshold: 40, result: true }),
      'memory_avg 20 < 40 ✓',
    );
  });

  test('event data is text, never markup', () => {
    const evil = ev(
      'io.scalewise.NodeReady',
      { node_name: '<img src=x onerror=alert(1)>' },
      new Date().toISOString(),
    );
    const view = chainView({ ...response, chain: [{ event: evil, depth: 0 }] }, evil.id);
    assert.equal(findAll(view, (n) => n.tag === 'img').length, 0);
    assert.match(textOf(view), /<img src=x onerror=alert\(1\)> ready/);
  });
});

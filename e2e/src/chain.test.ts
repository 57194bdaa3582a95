import assert from 'node:assert/strict';
import { describe as suite, test } from 'node:test';
import { typeOf } from '@scalewise/events';
import { SCALE_UP_ACTION } from '@scalewise/testing/chains';
import { ancestors, type ChainEvent, causalChain, describe, short } from './chain.ts';

const ev = (id: string, type: string, second: number, causationid?: string): ChainEvent => ({
  id,
  type: typeOf(type),
  time: new Date(Date.UTC(2025, 11, 16, 11, 20, second)).toISOString(),
  correlationid: 'c',
  ...(causationid ? { causationid } : {}),
});

// The seed's recovery chain, recorded out of order (topics are read in parallel).
const recovery = [
  ev('g', 'ScalingActionCompleted', 7, 'f'),
  ev('a', 'NodeUnexpectedlyLost', 1),
  ev('c', 'AutoScaleUpToMinimum', 2, 'b'),
  ev('b', 'MinimumNodesViolation', 2, 'a'),
  ev('d', 'ScaleUpStarted', 3, 'c'),
  ev('e', 'NodeCreated', 4, 'd'),
  ev('f', 'NodeReady', 5, 'e'),
  ev('h', 'MinimumNodesRestored', 8, 'g'),
  ev('x', 'PoolMetricsObserved', 6),
];

suite('causal chains', () => {
  test('given events out of arrival order, the chain follows causation links', () => {
    const r = causalChain(recovery, [
      'NodeUnexpectedlyLost',
      'MinimumNodesViolation',
      'AutoScaleUpToMinimum',
      ...SCALE_UP_ACTION,
      'MinimumNodesRestored',
    ]);
    assert.equal(r.ok, true);
    assert.deepEqual(r.ok && r.chain.map((e) => e.id), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
  });

  test('a link may skip events in between (a descendant, not only a child)', () => {
    const r = causalChain(recovery, ['NodeUnexpectedlyLost', 'ScalingActionCompleted']);
    assert.deepEqual(r.ok && r.chain.map((e) => e.id), ['a', 'g']);
  });

  test('when a link is missing, the answer names it and what came before', () => {
    const r = causalChain(recovery, ['NodeUnexpectedlyLost', 'ScaleDownStarted']);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.missing, /no ScaleDownStarted descending from NodeUnexpectedlyLost a/);
  });

  test('order matters: an ancestor named after its descendant is no chain', () => {
    assert.equal(causalChain(recovery, ['NodeReady', 'NodeCreated']).ok, false);
  });

  test('a first candidate whose chain ends early does not hide a later complete one', () => {
    const events = [
      ev('u1', 'UnderutilizationWarning', 1),
      ev('u2', 'UnderutilizationWarning', 2),
      ev('d', 'ScaleDownDecision', 3, 'u2'),
    ];
    const r = causalChain(events, ['UnderutilizationWarning', 'ScaleDownDecision']);
    assert.deepEqual(r.ok && r.chain.map((e) => e.id), ['u2', 'd']);
  });

  test('start restricts the first event', () => {
    const r = causalChain(recovery, ['NodeCreated', 'NodeReady'], (e) => e.id === 'zzz');
    assert.equal(r.ok, false);
  });

  test('ancestors stop at a cycle and at events not recorded', () => {
    const loop = [ev('p', 'A', 1, 'q'), ev('q', 'B', 2, 'p'), ev('r', 'C', 3, 'missing')];
    assert.deepEqual(
      ancestors(loop, loop[0] as ChainEvent).map((e) => e.id),
      ['q'],
    );
    assert.deepEqual(ancestors(loop, loop[2] as ChainEvent), []);
  });

  test('describe and short give readable lines', () => {
    assert.equal(short('io.scalewise.NodeReady'), 'NodeReady');
    assert.match(describe([recovery[0] as ChainEvent]), /ScalingActionCompleted g <- f$/);
  });
});

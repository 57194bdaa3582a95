import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventIdOf } from './ids.ts';

describe('eventIdOf', () => {
  test('a decision answering an input: <input id>/<name>', () => {
    assert.equal(eventIdOf('io.scalewise.ScaleUpDecision', { from: 'evt-1' }), 'evt-1/ScaleUpDecision');
    assert.equal(eventIdOf('io.scalewise.TriggerRejected', { from: 'trig/7' }), 'trig/7/TriggerRejected');
  });

  test('a floor event of one pool: <input id>/<pool>/<name>', () => {
    assert.equal(
      eventIdOf('io.scalewise.AutoScaleUpToMinimum', { from: 'check/workers/42', pool: 'workers' }),
      'check/workers/42/workers/AutoScaleUpToMinimum',
    );
  });

  test("an action's step: <action id>/<name>[/<node>]", () => {
    assert.equal(
      eventIdOf('io.scalewise.NodeReady', { from: 'evt-1/ScaleUpDecision', node: 'worker-3' }),
      'evt-1/ScaleUpDecision/NodeReady/worker-3',
    );
    assert.equal(
      eventIdOf('io.scalewise.ScaleUpStarted', { from: 'evt-1/ScaleUpDecision', node: '' }),
      'evt-1/ScaleUpDecision/ScaleUpStarted',
    );
  });

  test('a sensed event: <pool>/<name>/[<node>/]<round time>', () => {
    assert.equal(
      eventIdOf('io.scalewise.NodeHealthDegraded', { pool: 'workers', node: 'n1', at: 1_700_000_000_000 }),
      'workers/NodeHealthDegraded/n1/1700000000000',
    );
    assert.equal(
      eventIdOf('io.scalewise.ClusterStateSynced', { pool: 'gpu', at: 5 }),
      'gpu/ClusterStateSynced/5',
    );
  });

  test('a trigger keeps its dotted short name', () => {
    assert.equal(eventIdOf('io.scalewise.trigger.scale', { from: 'x' }), 'x/trigger.scale');
  });
});

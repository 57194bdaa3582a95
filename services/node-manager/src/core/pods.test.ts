import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseData, sampleData } from '@scalewise/events';
import { type Decision, observe, outstanding, start } from './action.ts';

const T0 = Date.parse('2026-11-22T11:00:00Z');

describe('actions on a pods pool', () => {
  const policy = { readyTimeoutSeconds: 300, drainTimeoutSeconds: 600, workerKind: 'pod' as const };
  const trigger = (taskId?: string): Decision => ({
    id: 'trig-1/ScaleUpDecision',
    type: 'io.scalewise.ScaleUpDecision',
    data: {
      ...sampleData['io.scalewise.ScaleUpDecision'],
      pool: 'otto',
      current_workers: 0,
      desired_workers: 3,
      count: 3,
      reason: 'trigger',
      explanation: {
        rule: 'trigger_scale_up',
        summary: 'trigger',
        inputs: { trigger_action: 'scale_up', ...(taskId ? { task_id: taskId } : {}) },
        comparisons: [],
      },
    },
  });

  test('given a trigger with a task id, when started, then the create command and a restart carry it', () => {
    const s = start(null, trigger('task-123'), T0, policy);
    assert.equal(s.action?.taskId, 'task-123');
    assert.deepEqual(
      s.commands[0] && 'taskId' in s.commands[0] ? s.commands[0].taskId : undefined,
      'task-123',
    );
    const again = outstanding(s.action as NonNullable<typeof s.action>);
    assert.equal(again[0]?.kind === 'create' ? again[0].taskId : undefined, 'task-123');
  });

  test('given a pods pool, when workers are created and Ready, then the events say worker_kind pod and stay valid', () => {
    const s = start(null, trigger(), T0, policy);
    const a = s.action as NonNullable<typeof s.action>;
    assert.equal(a.taskId, undefined);
    const name = Object.keys(a.nodes)[0] as string;
    const c = observe(
      a,
      { kind: 'created', node: name, providerId: `pod://otto/${name}`, provider: 'pods' },
      T0,
    );
    const r = observe(c.action as typeof a, { kind: 'ready', node: name }, T0 + 1000);
    for (const e of [...c.events, ...r.events]) {
      assert.equal((e.data as { worker_kind?: string }).worker_kind, 'pod');
      parseData(e.type, e.data);
    }
  });

  test('given a kwok pool, when workers are created, then the events carry no worker_kind (unchanged)', () => {
    const s = start(null, trigger(), T0, { readyTimeoutSeconds: 300, drainTimeoutSeconds: 600 });
    const a = s.action as NonNullable<typeof s.action>;
    const name = Object.keys(a.nodes)[0] as string;
    const c = observe(a, { kind: 'created', node: name, providerId: `kwok://${name}`, provider: 'kwok' }, T0);
    assert.deepEqual(Object.keys(c.events[0]?.data ?? {}).sort(), [
      'action_id',
      'node_name',
      'pool',
      'provider',
      'provider_id',
    ]);
  });

  test('given a failed scale-down of worker pods, then nothing is uncordoned', () => {
    const d: Decision = {
      id: 'w/ScaleDownDecision',
      type: 'io.scalewise.ScaleDownDecision',
      data: {
        ...sampleData['io.scalewise.ScaleDownDecision'],
        pool: 'otto',
        current_workers: 3,
        desired_workers: 2,
        count: 1,
      },
    };
    const s = start(null, d, T0, policy, { nodes: ['w-1'] });
    const f = observe(
      s.action as NonNullable<typeof s.action>,
      { kind: 'failed', node: 'w-1', code: 'WORKER_BUSY', message: 'busy', retriable: false },
      T0 + 1000,
    );
    assert.deepEqual(f.commands, []);
    assert.equal(f.events[0]?.type, 'io.scalewise.ScalingActionFailed');
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { completedPod, projectWorkerPodView, type RawPod, workerNodes } from './workers.ts';

const POOL = 'scalewise.io/pool';
const pod = (
  name: string,
  phase: string,
  extra: { ready?: boolean; deleted?: boolean; pool?: string } = {},
): RawPod => ({
  metadata: {
    namespace: 'otto',
    name,
    resourceVersion: '7',
    labels: { [POOL]: extra.pool ?? 'otto' },
    creationTimestamp: '2026-11-22T11:00:00Z',
    ...(extra.deleted ? { deletionTimestamp: '2026-11-22T11:05:00Z' } : {}),
  },
  status: {
    phase,
    conditions: [
      {
        type: 'Ready',
        status: extra.ready ? 'True' : 'False',
        lastTransitionTime: new Date('2026-11-22T11:01:00Z'),
      },
    ],
  },
});
const view = (p: RawPod) => projectWorkerPodView(p, POOL, 'scalewise.io/action-id');

describe('worker pods as the Kubernetes view of a pods pool', () => {
  test('Given running, pending, finished and terminating pods, Then only the live ones of the pool are workers, Ready as the pod says', () => {
    const pods = [
      view(pod('w-2', 'Pending')),
      view(pod('w-1', 'Running', { ready: true })),
      view(pod('w-3', 'Succeeded')),
      view(pod('w-4', 'Failed')),
      view(pod('w-5', 'Running', { ready: true, deleted: true })),
      view(pod('x-1', 'Running', { ready: true, pool: 'other' })),
    ];
    assert.deepEqual(workerNodes(pods, 'otto'), [
      {
        name: 'w-1',
        ready: true,
        since: Date.parse('2026-11-22T11:01:00Z'),
        createdAt: Date.parse('2026-11-22T11:00:00Z'),
      },
      {
        name: 'w-2',
        ready: false,
        since: Date.parse('2026-11-22T11:01:00Z'),
        createdAt: Date.parse('2026-11-22T11:00:00Z'),
      },
    ]);
  });

  test('a pod without a Ready condition is NotReady since its creation', () => {
    const p = pod('w-1', 'Pending');
    if (p.status) p.status.conditions = [];
    assert.deepEqual(
      workerNodes([view(p)], 'otto').map((n) => [n.ready, n.since]),
      [[false, Date.parse('2026-11-22T11:00:00Z')]],
    );
  });

  test('completed: finished before any deletion; a pod deleted while it ran and then Failed is not', () => {
    assert.equal(completedPod(view(pod('w-1', 'Succeeded'))), true);
    assert.equal(completedPod(view(pod('w-1', 'Failed'))), true);
    assert.equal(completedPod(view(pod('w-1', 'Failed', { deleted: true }))), false);
    assert.equal(completedPod(view(pod('w-1', 'Running', { ready: true }))), false);
  });

  test('the view keeps the scale-up that made the pod (its action-id annotation), by which a completed one leaves', () => {
    const p = pod('w-1', 'Succeeded');
    if (p.metadata) p.metadata.annotations = { 'scalewise.io/action-id': 'trig-1/ScaleUpDecision' };
    assert.equal(view(p).actionId, 'trig-1/ScaleUpDecision');
    assert.equal(view(pod('w-2', 'Succeeded')).actionId, undefined);
  });
});

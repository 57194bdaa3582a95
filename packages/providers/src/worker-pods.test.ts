import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { podsOptionsSchema } from '@scalewise/config';
import type { V1Pod } from '@scalewise/kube';
import { tagOf } from './names.ts';
import {
  BUSY_ANNOTATION,
  busyReason,
  chooseIdleWorkers,
  cleanupAt,
  labelValueOf,
  projectWorkerPod,
  type WorkerPod,
  workerPodManifest,
} from './worker-pods.ts';

const T0 = Date.parse('2026-11-22T11:00:00Z');
const options = podsOptionsSchema.parse({
  namespace: 'otto',
  image: 'otto/agent:2',
  command: ['sh', '-c'],
  args: ['run'],
  env: { LOG_LEVEL: 'debug' },
  resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  service_account: 'otto-agent',
  labels: { team: 'ci' },
  node_selector: { 'scalewise.io/pool': 'otto-nodes' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'otto', effect: 'NoSchedule' }],
});

describe('worker pod manifest', () => {
  test('given a task, when built, then the pod carries the labels, the task id as label, annotation and TASK_ID', () => {
    const pod = workerPodManifest({
      name: 'otto-abc-1',
      pool: 'otto',
      actionId: 'trig-1/ScaleUpDecision',
      taskId: 'task-123',
      options,
    });
    assert.equal(pod.metadata?.namespace, 'otto');
    assert.deepEqual(pod.metadata?.labels, {
      team: 'ci',
      'app.kubernetes.io/managed-by': 'scalewise',
      'managed-by': 'scalewise',
      'scalewise.io/pool': 'otto',
      'scalewise.io/worker-kind': 'pod',
      'scalewise.io/action': tagOf('trig-1/ScaleUpDecision'),
      'scalewise.io/task-id': 'task-123',
    });
    assert.deepEqual(pod.metadata?.annotations, {
      'scalewise.io/action-id': 'trig-1/ScaleUpDecision',
      'scalewise.io/task-id': 'task-123',
    });
    const spec = pod.spec;
    assert.equal(spec?.restartPolicy, 'Never');
    assert.equal(spec?.serviceAccountName, 'otto-agent');
    assert.deepEqual(spec?.nodeSelector, { 'scalewise.io/pool': 'otto-nodes' });
    assert.deepEqual(spec?.tolerations, [
      { key: 'dedicated', operator: 'Equal', value: 'otto', effect: 'NoSchedule' },
    ]);
    const c = spec?.containers[0];
    assert.equal(c?.name, 'worker');
    assert.equal(c?.image, 'otto/agent:2');
    assert.deepEqual(c?.command, ['sh', '-c']);
    assert.deepEqual(c?.args, ['run']);
    assert.deepEqual(c?.resources, {
      requests: { cpu: '250m', memory: '128Mi' },
      limits: { memory: '256Mi' },
    });
    assert.deepEqual(c?.env, [
      { name: 'LOG_LEVEL', value: 'debug' },
      { name: 'SCALEWISE_POOL', value: 'otto' },
      { name: 'SCALEWISE_ACTION_ID', value: 'trig-1/ScaleUpDecision' },
      { name: 'SCALEWISE_WORKER_NAME', value: 'otto-abc-1' },
      { name: 'TASK_ID', value: 'task-123' },
    ]);
  });

  test('given no task, when built, then there is no task label, annotation or TASK_ID', () => {
    const pod = workerPodManifest({ name: 'w-1', pool: 'otto', actionId: 'a', options });
    assert.equal(pod.metadata?.labels?.['scalewise.io/task-id'], undefined);
    assert.equal(pod.metadata?.annotations?.['scalewise.io/task-id'], undefined);
    assert.ok(!pod.spec?.containers[0]?.env?.some((e) => e.name === 'TASK_ID'));
  });

  test('given a task id that is no label value, when built, then the label is a hash and the annotation the id', () => {
    const id = 'repo/org#PR 42: build & test';
    const pod = workerPodManifest({ name: 'w-1', pool: 'otto', actionId: 'a', taskId: id, options });
    assert.equal(pod.metadata?.labels?.['scalewise.io/task-id'], `h-${tagOf(id)}`);
    assert.equal(pod.metadata?.annotations?.['scalewise.io/task-id'], id);
    assert.equal(labelValueOf('task-123'), 'task-123');
    assert.equal(labelValueOf('x'.repeat(64)), `h-${tagOf('x'.repeat(64))}`);
  });
});

const pod = (over: {
  name?: string;
  phase?: string;
  ready?: boolean;
  created?: number;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  finished?: number;
  deleting?: boolean;
}): V1Pod => ({
  metadata: {
    name: over.name ?? 'w-1',
    namespace: 'otto',
    uid: `uid-${over.name ?? 'w-1'}`,
    resourceVersion: '7',
    labels: { 'scalewise.io/pool': 'otto', ...over.labels },
    annotations: { 'scalewise.io/action-id': 'a-1', ...over.annotations },
    creationTimestamp: new Date(over.created ?? T0).toISOString(),
    ...(over.deleting ? { deletionTimestamp: new Date(T0 + 1000).toISOString() } : {}),
  },
  status: {
    phase: over.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True' }],
    ...(over.finished !== undefined
      ? {
          containerStatuses: [
            {
              name: 'worker',
              image: 'x',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 0, finishedAt: new Date(over.finished).toISOString() } },
            },
          ],
        }
      : {}),
  },
});

describe('worker pod view', () => {
  test('Ready means Running with Ready=True; the watch form (string times) reads the same', () => {
    const running = projectWorkerPod(pod({}));
    assert.equal(running.ready, true);
    assert.equal(running.pool, 'otto');
    assert.equal(running.actionId, 'a-1');
    assert.equal(running.createdAt, T0);
    assert.equal(projectWorkerPod(pod({ phase: 'Pending', ready: false })).ready, false);
    assert.equal(projectWorkerPod(pod({ phase: 'Succeeded' })).ready, false);
    const wire = JSON.parse(JSON.stringify(pod({ finished: T0 + 5000 }))) as V1Pod;
    const w = projectWorkerPod(wire);
    assert.equal(w.createdAt, T0);
    assert.equal(w.finishedAt, T0 + 5000);
  });
});

const view = (over: Parameters<typeof pod>[0]): WorkerPod => projectWorkerPod(pod(over));

describe('idle workers (scale-down)', () => {
  test('given busy and idle workers, when choosing, then never a busy one, each refusal says why', () => {
    const workers = [
      view({
        name: 'task',
        labels: { 'scalewise.io/task-id': 't-1' },
        annotations: { 'scalewise.io/task-id': 't-1' },
      }),
      view({ name: 'marked', annotations: { [BUSY_ANNOTATION]: 'true' } }),
      view({ name: 'pinned', annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } }),
      view({ name: 'done', phase: 'Succeeded', finished: T0 }),
      view({ name: 'going', deleting: true }),
      view({ name: 'idle-old', created: T0 }),
      view({ name: 'idle-new', created: T0 + 60_000 }),
    ];
    const choice = chooseIdleWorkers(workers, 5);
    assert.deepEqual(choice.victims, ['idle-new', 'idle-old']);
    assert.deepEqual(
      choice.refused.map((r) => r.worker),
      ['task', 'marked', 'pinned', 'done', 'going'],
    );
    assert.match(choice.refused[0]?.why ?? '', /runs task t-1/);
    assert.match(choice.refused[1]?.why ?? '', /scalewise\.io\/busy/);
  });

  test('given idle workers, when choosing fewer, then not started ones first, then the newest', () => {
    const workers = [
      view({ name: 'old', created: T0 }),
      view({ name: 'new', created: T0 + 10_000 }),
      view({ name: 'starting', phase: 'Pending', ready: false, created: T0 - 5000 }),
    ];
    assert.deepEqual(chooseIdleWorkers(workers, 2).victims, ['starting', 'new']);
    assert.deepEqual(chooseIdleWorkers(workers, 0).victims, []);
  });

  test('a worker whose task finished is not idle but finished: cleanup, not scale-down, removes it', () => {
    const w = view({ name: 't', phase: 'Succeeded', labels: { 'scalewise.io/task-id': 't' }, finished: T0 });
    assert.match(busyReason(w) ?? '', /finished/);
  });
});

describe('cleanup of finished workers', () => {
  const cleanup = { succeeded_after_seconds: 0, failed_after_seconds: 300 };
  test('a Succeeded pod goes at once, a Failed one after its grace, a running one never', () => {
    assert.equal(cleanupAt(view({ phase: 'Succeeded', finished: T0 + 5000 }), cleanup), T0 + 5000);
    assert.equal(cleanupAt(view({ phase: 'Failed', finished: T0 + 5000 }), cleanup), T0 + 305_000);
    assert.equal(cleanupAt(view({}), cleanup), undefined);
  });
  test('a finished pod without a finish time counts from its creation', () => {
    assert.equal(cleanupAt(view({ phase: 'Failed', created: T0 }), cleanup), T0 + 300_000);
  });
});

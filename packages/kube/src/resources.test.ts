import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isUnschedulable, ownerOf, podExtraRequests, podRequests } from './resources.ts';
import type { V1Container, V1Pod } from './types.ts';

const pod = (
  spec: Partial<V1Pod['spec']>,
  meta: Partial<V1Pod['metadata']> = {},
  status: V1Pod['status'] = {},
): V1Pod => ({
  metadata: { name: 'p', namespace: 'ns', ...meta },
  spec: { containers: [], ...spec } as V1Pod['spec'],
  status,
});
const c = (name: string, cpu?: string, memory?: string, extra: Partial<V1Container> = {}): V1Container => ({
  name,
  ...extra,
  resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } },
});
const Gi = 2 ** 30;
const Mi = 2 ** 20;

describe('pod requests as the scheduler counts them', () => {
  test('the containers add up', () => {
    assert.deepEqual(podRequests(pod({ containers: [c('a', '250m', '1Gi'), c('b', '250m', '1Gi')] })), {
      cpuMillicores: 500,
      memoryBytes: 2 * Gi,
    });
  });

  test('a container without requests counts as zero; so does a pod without spec', () => {
    assert.deepEqual(podRequests(pod({ containers: [{ name: 'a' }, c('b', '100m')] })), {
      cpuMillicores: 100,
      memoryBytes: 0,
    });
    assert.deepEqual(podRequests({ metadata: { name: 'x' } }), { cpuMillicores: 0, memoryBytes: 0 });
  });

  test('init containers run one at a time: the largest one counts when it is larger than the containers', () => {
    const r = podRequests(
      pod({
        containers: [c('a', '250m', '1Gi')],
        initContainers: [c('i1', '2', '256Mi'), c('i2', '1', '512Mi')],
      }),
    );
    assert.deepEqual(r, { cpuMillicores: 2000, memoryBytes: Gi });
  });

  test('sidecars (init containers with restartPolicy Always) run beside the containers and add up', () => {
    const r = podRequests(
      pod({
        containers: [c('a', '250m', '1Gi')],
        initContainers: [c('s', '100m', '64Mi', { restartPolicy: 'Always' })],
      }),
    );
    assert.deepEqual(r, { cpuMillicores: 350, memoryBytes: Gi + 64 * Mi });
  });

  test('an init container after a sidecar runs beside it', () => {
    // sidecar 500m, then an init container of 1: 1.5 CPUs during init; containers 250m + sidecar 500m after.
    const r = podRequests(
      pod({
        containers: [c('a', '250m')],
        initContainers: [c('s', '500m', undefined, { restartPolicy: 'Always' }), c('i', '1')],
      }),
    );
    assert.equal(r.cpuMillicores, 1500);
    // the same init container before the sidecar runs alone: max(1, 0.25 + 0.5) = 1
    const before = podRequests(
      pod({
        containers: [c('a', '250m')],
        initContainers: [c('i', '1'), c('s', '500m', undefined, { restartPolicy: 'Always' })],
      }),
    );
    assert.equal(before.cpuMillicores, 1000);
  });

  test('the pod overhead is added', () => {
    const r = podRequests(
      pod({ containers: [c('a', '1', '1Gi')], overhead: { cpu: '50m', memory: '10Mi' } }),
    );
    assert.deepEqual(r, { cpuMillicores: 1050, memoryBytes: Gi + 10 * Mi });
  });

  test('pod-level requests replace the container sums, resource by resource, before the overhead', () => {
    const r = podRequests(
      pod({
        containers: [c('a', '1', '1Gi'), c('b', '1', '1Gi')],
        resources: { requests: { cpu: '3' } },
        overhead: { cpu: '100m' },
      }),
    );
    assert.deepEqual(r, { cpuMillicores: 3100, memoryBytes: 2 * Gi });
  });
});

describe('pod state', () => {
  test('unschedulable means Pending, unbound, PodScheduled=False/Unschedulable', () => {
    const cond = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable' };
    assert.equal(isUnschedulable(pod({}, {}, { phase: 'Pending', conditions: [cond] })), true);
    assert.equal(
      isUnschedulable(pod({ nodeName: 'n' }, {}, { phase: 'Pending', conditions: [cond] })),
      false,
    );
    assert.equal(isUnschedulable(pod({}, {}, { phase: 'Pending' })), false);
    assert.equal(
      isUnschedulable(pod({}, {}, { phase: 'Pending', conditions: [{ ...cond, reason: 'SchedulerError' }] })),
      false,
    );
  });

  test('the Deployment behind a ReplicaSet pod; other owners as they are', () => {
    const p = pod(
      {},
      {
        labels: { 'pod-template-hash': '5d9f' },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d9f', uid: 'u', controller: true },
        ],
      },
    );
    assert.equal(ownerOf(p), 'Deployment/web');
    assert.equal(
      ownerOf(pod({}, { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'etl', uid: 'u' }] })),
      'Job/etl',
    );
    assert.equal(ownerOf(pod({})), undefined);
  });
});

describe('extra requests (ephemeral-storage, extended resources) as the scheduler counts them', () => {
  const r = (requests: Record<string, string>, extra: Partial<V1Container> = {}): V1Container => ({
    name: 'x',
    ...extra,
    resources: { requests },
  });

  test('a pod that asks only for cpu and memory has none', () => {
    // Given a pod with cpu, memory and hugepages requests only
    const p = pod({ containers: [r({ cpu: '1', memory: '1Gi', 'hugepages-2Mi': '2Mi' })] });
    // Then it has no extra requests
    assert.equal(podExtraRequests(p), undefined);
    assert.equal(podExtraRequests({ metadata: { name: 'x' } }), undefined);
  });

  test('the containers add up, the largest init container counts when larger, the overhead on top', () => {
    // Given two containers with a GPU and storage each, an init container asking for more
    // storage than both, a sidecar and an overhead
    const p = pod({
      containers: [
        r({ 'nvidia.com/gpu': '1', 'ephemeral-storage': '1Gi' }),
        r({ 'nvidia.com/gpu': '1', 'ephemeral-storage': '1Gi' }),
      ],
      initContainers: [
        r({ 'ephemeral-storage': '5Gi' }),
        r({ 'ephemeral-storage': '512Mi', 'example.com/dongle': '1' }, { restartPolicy: 'Always' }),
      ],
      overhead: { 'ephemeral-storage': '100Mi' },
    });
    // When its extra requests are counted
    const extra = podExtraRequests(p);
    // Then GPUs add up, the init container's 5Gi beats 2Gi + the 512Mi sidecar, and the
    // overhead comes on top
    assert.deepEqual(extra, {
      'nvidia.com/gpu': 2,
      'ephemeral-storage': 5 * Gi + 100 * Mi,
      'example.com/dongle': 1,
    });
  });

  test('a regular init container counts beside the sidecars started before it', () => {
    const p = pod({
      containers: [r({ 'ephemeral-storage': '1Gi' })],
      initContainers: [
        r({ 'ephemeral-storage': '1Gi' }, { restartPolicy: 'Always' }),
        r({ 'ephemeral-storage': '3Gi' }),
      ],
    });
    // max(1Gi + 1Gi, 1Gi + 3Gi)
    assert.deepEqual(podExtraRequests(p), { 'ephemeral-storage': 4 * Gi });
  });
});

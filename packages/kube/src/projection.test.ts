import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { asNodeInfo, asPodInfo, keepAnnotation, projectNode, projectPod, toMillis } from './projection.ts';
import { apiNode, apiPod, Gi } from './test-fixtures.ts';

describe('node projection', () => {
  test('keeps what the autoscaler reads, nothing else', () => {
    const node: V1Node = {
      metadata: {
        name: 'n1',
        uid: 'u1',
        resourceVersion: '42',
        creationTimestamp: new Date('2026-03-01T10:00:00Z'),
        labels: { 'scalewise.io/pool': 'workers' },
        annotations: {
          'scalewise.io/scale-down-disabled': 'true',
          'kwok.x-k8s.io/node': 'fake',
          'kubectl.kubernetes.io/last-applied-configuration': '{"huge": true}',
          'node.alpha.kubernetes.io/ttl': '0',
        },
        managedFields: [{ manager: 'kubectl' }],
      },
      spec: {
        providerID: 'kwok://n1',
        unschedulable: true,
        taints: [
          { key: 'gpu', value: 'true', effect: 'NoSchedule' },
          { key: 'x', effect: 'NoExecute' },
        ],
      },
      status: {
        capacity: { cpu: '8', memory: '32Gi', pods: '110' },
        allocatable: { cpu: '7500m', memory: '30Gi', pods: '100', 'ephemeral-storage': '100Gi' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            lastTransitionTime: new Date('2026-03-01T10:00:05Z'),
          },
          { type: 'MemoryPressure', status: 'False' },
          { type: 'NetworkUnavailable', status: 'False' },
        ],
        images: [{ names: ['big-image'] }],
      },
    };
    assert.deepEqual(projectNode(node), {
      name: 'n1',
      uid: 'u1',
      resourceVersion: '42',
      labels: { 'scalewise.io/pool': 'workers' },
      annotations: { 'scalewise.io/scale-down-disabled': 'true', 'kwok.x-k8s.io/node': 'fake' },
      taints: [
        { key: 'gpu', value: 'true', effect: 'NoSchedule' },
        { key: 'x', effect: 'NoExecute' },
      ],
      unschedulable: true,
      providerID: 'kwok://n1',
      allocatable: { cpuMillicores: 7500, memoryBytes: 30 * Gi, pods: 100 },
      conditions: {
        Ready: { status: 'True', since: Date.parse('2026-03-01T10:00:05Z'), reason: 'KubeletReady' },
        MemoryPressure: { status: 'False', since: 0 },
      },
      createdAt: Date.parse('2026-03-01T10:00:00Z'),
    });
  });

  test('reads a watch event object as well (timestamps as strings), and a node being deleted', () => {
    const raw = {
      metadata: {
        name: 'n2',
        uid: 'u2',
        resourceVersion: '7',
        creationTimestamp: '2026-03-01T10:00:00Z',
        deletionTimestamp: '2026-03-02T10:00:00Z',
      },
      status: {
        capacity: { cpu: '2', memory: '4Gi', pods: '10' },
        conditions: [{ type: 'Ready', status: 'Unknown', lastTransitionTime: '2026-03-02T09:00:00Z' }],
      },
    } as unknown as V1Node;
    const n = projectNode(raw);
    assert.equal(n.createdAt, Date.parse('2026-03-01T10:00:00Z'));
    assert.equal(n.deletedAt, Date.parse('2026-03-02T10:00:00Z'));
    assert.deepEqual(
      n.allocatable,
      { cpuMillicores: 2000, memoryBytes: 4 * Gi, pods: 10 },
      'capacity when no allocatable',
    );
    assert.deepEqual(n.conditions.Ready, { status: 'Unknown', since: Date.parse('2026-03-02T09:00:00Z') });
    assert.equal(n.unschedulable, false);
    assert.equal(n.providerID, undefined);
  });

  test('an object without metadata or status does not throw', () => {
    const n = projectNode({});
    assert.equal(n.name, '');
    assert.deepEqual(n.allocatable, { cpuMillicores: 0, memoryBytes: 0, pods: 0 });
    assert.equal(projectPod({}).phase, 'Unknown');
  });
});

describe('pod projection', () => {
  test('keeps what the autoscaler reads, requests as the scheduler counts them', () => {
    const pod: V1Pod = {
      metadata: {
        name: 'web-abc-1',
        namespace: 'shop',
        uid: 'p1',
        resourceVersion: '9',
        creationTimestamp: new Date('2026-03-01T10:00:00Z'),
        labels: { app: 'web', 'pod-template-hash': 'abc' },
        annotations: {
          'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
          'kubernetes.io/config.mirror': 'x',
          'prometheus.io/scrape': 'true',
        },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'r', controller: true },
        ],
      },
      spec: {
        nodeName: 'n1',
        containers: [
          {
            name: 'a',
            image: 'web',
            env: [{ name: 'BIG', value: 'x'.repeat(1000) }],
            resources: { requests: { cpu: '250m', memory: '1Gi' } },
          },
        ],
        initContainers: [{ name: 'i', resources: { requests: { cpu: '1' } } }],
        volumes: [
          { name: 'cache', emptyDir: {} },
          { name: 'host', hostPath: { path: '/var' } },
          { name: 'cfg', configMap: { name: 'c' } },
        ],
      },
      status: { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }] },
    };
    assert.deepEqual(projectPod(pod), {
      namespace: 'shop',
      name: 'web-abc-1',
      uid: 'p1',
      resourceVersion: '9',
      nodeName: 'n1',
      phase: 'Running',
      requests: { cpuMillicores: 1000, memoryBytes: Gi },
      owners: [{ kind: 'ReplicaSet', name: 'web-abc', controller: true }],
      labels: { app: 'web', 'pod-template-hash': 'abc' },
      annotations: {
        'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
        'kubernetes.io/config.mirror': 'x',
      },
      localStorage: ['cache', 'host'],
      createdAt: Date.parse('2026-03-01T10:00:00Z'),
    });
  });

  test('unschedulable since the PodScheduled condition turned False/Unschedulable, else not', () => {
    const p = projectPod(apiPod('p', { unschedulableSince: '2026-01-01T00:05:00Z' }));
    assert.equal(p.unschedulableSince, Date.parse('2026-01-01T00:05:00Z'));
    // without a transition time, since its creation
    const raw = apiPod('q');
    raw.status = {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }],
    };
    assert.equal(projectPod(raw).unschedulableSince, Date.parse('2026-01-01T00:00:00Z'));
    // bound, or another reason, or just created: not unschedulable
    assert.equal(projectPod(apiPod('r', { node: 'n', phase: 'Pending' })).unschedulableSince, undefined);
    const gated = apiPod('s');
    gated.status = {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }],
    };
    assert.equal(projectPod(gated).unschedulableSince, undefined);
    assert.equal(projectPod(apiPod('t')).unschedulableSince, undefined);
  });

  test('the nodeSelector is kept when there is one', () => {
    const raw = apiPod('p');
    assert.equal(projectPod(raw).nodeSelector, undefined);
    raw.spec = {
      ...raw.spec,
      containers: raw.spec?.containers ?? [],
      nodeSelector: { 'scalewise.io/pool': 'gpu' },
    };
    assert.deepEqual(projectPod(raw).nodeSelector, { 'scalewise.io/pool': 'gpu' });
  });

  test('a terminating pod carries its deletion time', () => {
    assert.equal(
      projectPod(apiPod('p', { node: 'n', deleting: true })).deletedAt,
      Date.parse('2026-01-02T00:00:00Z'),
    );
  });
});

describe('helpers', () => {
  test("annotations kept: ours, the Cluster Autoscaler's, KWOK's, the mirror marker", () => {
    assert.deepEqual(
      [
        'scalewise.io/action-id',
        'cluster-autoscaler.kubernetes.io/safe-to-evict',
        'kwok.x-k8s.io/node',
        'kubernetes.io/config.mirror',
        'kubernetes.io/config.hash',
        'deployment.kubernetes.io/revision',
        'kubectl.kubernetes.io/last-applied-configuration',
      ].map(keepAnnotation),
      [true, true, true, true, false, false, false],
    );
  });

  test('timestamps: Date, RFC 3339, absent, unreadable', () => {
    assert.equal(toMillis(new Date(5)), 5);
    assert.equal(toMillis('1970-01-01T00:00:01Z'), 1000);
    assert.equal(toMillis(undefined), 0);
    assert.equal(toMillis('yesterday'), 0);
  });

  test('asNodeInfo/asPodInfo project API objects and pass projections through', () => {
    const n = projectNode(apiNode('a'));
    assert.equal(asNodeInfo(n), n);
    assert.deepEqual(asNodeInfo(apiNode('a')), n);
    const p = projectPod(apiPod('p'));
    assert.equal(asPodInfo(p), p);
    assert.deepEqual(asPodInfo(apiPod('p')), p);
  });
});

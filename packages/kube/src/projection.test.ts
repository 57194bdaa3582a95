import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  asNodeInfo,
  asPodInfo,
  keepAnnotation,
  projectNode,
  projectPdb,
  projectPod,
  toMillis,
} from './projection.ts';
import { apiNode, apiPod, Gi } from './test-fixtures.ts';
import type { V1Node, V1Pod } from './types.ts';

describe('node projection', () => {
  test('keeps what the autoscaler reads, nothing else', () => {
    const node: V1Node = {
      metadata: {
        name: 'n1',
        uid: 'u1',
        resourceVersion: '42',
        creationTimestamp: '2026-03-01T10:00:00Z',
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
            lastTransitionTime: '2026-03-01T10:00:05Z',
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
      allocatable: { cpuMillicores: 7500, memoryBytes: 30 * Gi, pods: 100, ephemeralStorageBytes: 100 * Gi },
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

describe('node allocatable beyond cpu, memory and pods', () => {
  test('ephemeral-storage and extended resources are kept, hugepages are not; absent when the node has none', () => {
    // Given a GPU node with storage and hugepages
    const gpu = apiNode('g');
    gpu.status = {
      allocatable: {
        cpu: '8',
        memory: '32Gi',
        pods: '110',
        'ephemeral-storage': '50Gi',
        'hugepages-2Mi': '1Gi',
        'nvidia.com/gpu': '4',
        'example.com/fpga': '1',
      },
    };
    // When both it and a plain node are projected
    const a = projectNode(gpu).allocatable;
    const plain = projectNode(apiNode('p')).allocatable;
    // Then the GPU node keeps its storage and extended resources, the plain node has neither
    assert.deepEqual(a, {
      cpuMillicores: 8000,
      memoryBytes: 32 * Gi,
      pods: 110,
      ephemeralStorageBytes: 50 * Gi,
      extended: { 'example.com/fpga': 1, 'nvidia.com/gpu': 4 },
    });
    assert.equal('ephemeralStorageBytes' in plain, false);
    assert.equal('extended' in plain, false);
  });

  test('nodes with the same extended resources share one frozen record', () => {
    const make = (name: string) => {
      const n = apiNode(name);
      n.status = { allocatable: { cpu: '1', memory: '1Gi', pods: '10', 'nvidia.com/gpu': '1' } };
      return projectNode(n).allocatable.extended;
    };
    const a = make('a');
    assert.equal(a, make('b'));
    assert.ok(Object.isFrozen(a));
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
        creationTimestamp: '2026-03-01T10:00:00Z',
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
      key: 'shop/web-abc-1',
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

describe('what the scheduler reads of a pod', () => {
  const withSpec = (spec: Partial<NonNullable<V1Pod['spec']>>, name = 'p'): V1Pod => {
    const raw = apiPod(name, { cpu: '100m' });
    raw.spec = { ...raw.spec, containers: raw.spec?.containers ?? [], ...spec };
    return raw;
  };

  test('a pod without constraints has none of the fields', () => {
    // Given a plain pod
    const p = projectPod(apiPod('p', { cpu: '1' }));
    // Then no scheduling field is there, not even empty
    for (const k of [
      'extraRequests',
      'tolerations',
      'nodeAffinity',
      'podAffinity',
      'podAntiAffinity',
      'topologySpread',
      'hostPorts',
    ])
      assert.equal(k in p, false, k);
  });

  test('tolerations, required node affinity, inter-pod terms, hard spread and host ports are kept', () => {
    // Given a pod with every kind of constraint, preferred and soft ones among them
    const raw = withSpec({
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        { key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
      ],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'disktype', operator: 'In', values: ['ssd'] }] },
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] },
            ],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 1, preference: { matchExpressions: [{ key: 'x', operator: 'Exists' }] } },
          ],
        },
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'topology.kubernetes.io/zone' },
          ],
        },
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] },
              namespaces: ['shop'],
              namespaceSelector: {},
              topologyKey: 'kubernetes.io/hostname',
            },
          ],
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 1, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } },
          ],
        },
      },
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { app: 'web' } },
          minDomains: 3,
          nodeAffinityPolicy: 'Ignore',
          nodeTaintsPolicy: 'Honor',
        },
        { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' },
      ],
      containers: [
        {
          name: 'a',
          ports: [
            { containerPort: 80, hostPort: 8080 },
            { containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.1' },
            { containerPort: 9090 },
          ],
          resources: { requests: { cpu: '100m', 'nvidia.com/gpu': '1' } },
        },
      ],
    });
    // When it is projected
    const p = projectPod(raw);
    // Then each constraint is there as the scheduler reads it
    assert.deepEqual(p.extraRequests, { 'nvidia.com/gpu': 1 });
    assert.deepEqual(p.tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
      { key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
    ]);
    assert.deepEqual(p.nodeAffinity, [
      { matchExpressions: [{ key: 'disktype', operator: 'In', values: ['ssd'] }] },
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] },
    ]);
    assert.deepEqual(p.podAffinity, [
      { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'topology.kubernetes.io/zone' },
    ]);
    assert.deepEqual(p.podAntiAffinity, [
      {
        labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] },
        namespaces: ['shop'],
        namespaceSelector: {},
        topologyKey: 'kubernetes.io/hostname',
      },
    ]);
    assert.deepEqual(p.topologySpread, [
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { app: 'web' } },
        minDomains: 3,
        nodeAffinityPolicy: 'Ignore',
        nodeTaintsPolicy: 'Honor',
      },
    ]);
    assert.deepEqual(p.hostPorts, [{ port: 8080 }, { port: 53, protocol: 'UDP', hostIP: '10.0.0.1' }]);
  });

  test('only soft constraints project to nothing', () => {
    const p = projectPod(
      withSpec({
        affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [] } },
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' },
        ],
        tolerations: [],
      }),
    );
    assert.equal(p.podAntiAffinity, undefined);
    assert.equal(p.topologySpread, undefined);
    assert.equal(p.tolerations, undefined);
  });

  test('pods of one template share one frozen copy of their constraints', () => {
    // Given two pods of the same template
    const spec = {
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }],
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' },
          ],
        },
      },
    };
    // When both are projected
    const a = projectPod(withSpec(structuredClone(spec), 'a'));
    const b = projectPod(withSpec(structuredClone(spec), 'b'));
    // Then they hold the same objects, which nobody can change
    assert.equal(a.tolerations, b.tolerations);
    assert.equal(a.podAntiAffinity, b.podAntiAffinity);
    assert.ok(Object.isFrozen(a.tolerations));
    assert.ok(Object.isFrozen(a.podAntiAffinity?.[0]?.labelSelector?.matchLabels));
  });
});

describe('PodDisruptionBudget projection', () => {
  test('keeps its selector and the disruptions it allows now', () => {
    // Given a budget of the web pods that allows one disruption
    const info = projectPdb({
      metadata: { namespace: 'shop', name: 'web', resourceVersion: '3', managedFields: [{ manager: 'x' }] },
      spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } },
      status: { currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1, expectedPods: 3 },
    });
    // Then the projection says just that
    assert.deepEqual(info, {
      namespace: 'shop',
      name: 'web',
      resourceVersion: '3',
      selector: { matchLabels: { app: 'web' } },
      disruptionsAllowed: 1,
    });
  });

  test('an empty selector stays empty (every pod of the namespace); an absent one stays absent', () => {
    const empty = projectPdb({ metadata: { namespace: 'a', name: 'all' }, spec: { selector: {} } });
    assert.deepEqual(empty.selector, {});
    const none = projectPdb({ metadata: { namespace: 'a', name: 'none' }, spec: {} });
    assert.equal('selector' in none, false);
  });

  test('a budget the controller has not counted yet allows no disruption', () => {
    const p = projectPdb({
      metadata: { namespace: 'a', name: 'b' },
      spec: { maxUnavailable: 1, selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } },
    });
    assert.equal(p.disruptionsAllowed, 0);
    assert.deepEqual(p.selector, { matchExpressions: [{ key: 'app', operator: 'Exists' }] });
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

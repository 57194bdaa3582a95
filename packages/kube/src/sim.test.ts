import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type PdbInfo, projectNode, projectPdb, projectPod } from './projection.ts';
import { blockerOf, boundPod, simBlocker, simNode, simPdb, simPod, snapshotOf } from './sim.ts';
import { apiNode, apiPod, Gi } from './test-fixtures.ts';
import type { V1Node, V1Pod } from './types.ts';

const ready = (node: V1Node, status: 'True' | 'False' = 'True'): V1Node => ({
  ...node,
  status: { ...node.status, conditions: [{ type: 'Ready', status }] },
});

describe('simNode', () => {
  test('a Ready node of a pool: its labels, taints and allocatable in base units', () => {
    // Given a Ready GPU node of pool gpu with a taint
    const raw = ready(apiNode('g1', { cpu: '8', memory: '32Gi', labels: { 'scalewise.io/pool': 'gpu' } }));
    raw.spec = { ...raw.spec, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] };
    raw.status = {
      ...raw.status,
      allocatable: {
        cpu: '8',
        memory: '32Gi',
        pods: '110',
        'ephemeral-storage': '100Gi',
        'nvidia.com/gpu': '2',
      },
    };
    // When it is converted
    const n = simNode(projectNode(raw));
    // Then the simulation sees all of it, not in flight, not cordoned
    assert.deepEqual(n, {
      name: 'g1',
      labels: { 'scalewise.io/pool': 'gpu' },
      taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }],
      allocatable: {
        cpu: 8000,
        memory: 32 * Gi,
        pods: 110,
        'ephemeral-storage': 100 * Gi,
        'nvidia.com/gpu': 2,
      },
      pool: 'gpu',
    });
  });

  test('a node not Ready yet is in flight; a cordoned one is unschedulable; one being deleted is not in flight', () => {
    const fresh = simNode(projectNode(apiNode('a')));
    assert.equal(fresh.inFlight, true, 'no Ready condition yet');
    assert.equal(simNode(projectNode(ready(apiNode('b'), 'False'))).inFlight, true);
    const cordoned = ready(apiNode('c'));
    cordoned.spec = { ...cordoned.spec, unschedulable: true };
    const c = simNode(projectNode(cordoned));
    assert.equal(c.unschedulable, true);
    assert.equal(c.inFlight, undefined);
    const going = apiNode('d');
    going.metadata = { ...going.metadata, deletionTimestamp: new Date().toISOString() };
    assert.equal(simNode(projectNode(going)).inFlight, undefined);
    assert.equal(c.pool, undefined, 'no pool label, no pool');
  });

  test('the lifecycle taints of a node starting (not-ready, unreachable, uninitialized) are left out, its own kept', () => {
    // Given a node in flight, and one just turned Ready that still carries not-ready
    const starting = apiNode('s');
    starting.spec = {
      taints: [
        { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
        { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' },
        { key: 'dedicated', value: 'batch', effect: 'NoSchedule' },
      ],
    };
    const justReady = ready(apiNode('r'));
    justReady.spec = { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] };
    // Then the simulation sees only the pool's own taint: readiness is inFlight's to say
    assert.deepEqual(simNode(projectNode(starting)).taints, [
      { key: 'dedicated', value: 'batch', effect: 'NoSchedule' },
    ]);
    assert.equal(simNode(projectNode(starting)).inFlight, true);
    assert.deepEqual(simNode(projectNode(justReady)).taints, []);
  });

  test('the same projection gives the same object', () => {
    const info = projectNode(apiNode('a'));
    assert.equal(simNode(info), simNode(info));
  });
});

describe('simPod', () => {
  test('a Deployment pod: key, requests in base units with its extra requests, owner, constraints', () => {
    // Given a pod of Deployment web asking for a GPU, with a nodeSelector and a toleration
    const raw = apiPod('web-abc-1', {
      cpu: '500m',
      memory: '1Gi',
      labels: { app: 'web', 'pod-template-hash': 'abc' },
    });
    raw.spec = {
      ...raw.spec,
      containers: [
        { name: 'c', resources: { requests: { cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1' } } },
      ],
      nodeSelector: { 'scalewise.io/pool': 'gpu' },
      tolerations: [{ key: 'gpu', operator: 'Exists' }],
    };
    // When it is converted
    const p = simPod(projectPod(raw));
    // Then
    assert.deepEqual(p, {
      key: 'ns/web-abc-1',
      namespace: 'ns',
      labels: { app: 'web', 'pod-template-hash': 'abc' },
      requests: { cpu: 500, memory: Gi, 'nvidia.com/gpu': 1 },
      nodeSelector: { 'scalewise.io/pool': 'gpu' },
      tolerations: [{ key: 'gpu', operator: 'Exists' }],
      owner: 'Deployment/web',
    });
  });

  test('DaemonSet and mirror pods are daemons; a bare pod has no owner', () => {
    const ds = simPod(projectPod(apiPod('d', { node: 'n', owner: { kind: 'DaemonSet', name: 'agent' } })));
    assert.equal(ds.daemon, true);
    assert.equal(ds.owner, 'DaemonSet/agent');
    const mirror = simPod(
      projectPod(
        apiPod('m', { node: 'n', owner: null, annotations: { 'kubernetes.io/config.mirror': 'x' } }),
      ),
    );
    assert.equal(mirror.daemon, true);
    assert.equal(mirror.owner, undefined);
    assert.equal(simPod(projectPod(apiPod('w', { node: 'n' }))).daemon, undefined);
  });

  test('a sampling round converts each unchanged projection once: the same object comes back', () => {
    // Given a projection converted in an earlier round
    const info = projectPod(apiPod('p', { node: 'n', cpu: '1' }));
    const first = simPod(info);
    // When the next round converts it again
    // Then nothing new is made
    assert.equal(simPod(info), first);
    assert.equal(boundPod(info), first);
  });

  test('boundPod carries the node; an unbound pod is refused', () => {
    assert.equal(boundPod(projectPod(apiPod('p', { node: 'n1' }))).nodeName, 'n1');
    assert.throws(() => boundPod(projectPod(apiPod('q'))), /ns\/q is not bound/);
  });
});

describe('simPdb', () => {
  test('a budget: key, namespace, selector, disruptions allowed', () => {
    const info = projectPdb({
      metadata: { namespace: 'shop', name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } } },
      status: { disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 },
    });
    assert.deepEqual(simPdb(info), {
      key: 'shop/web',
      namespace: 'shop',
      selector: { matchLabels: { app: 'web' } },
      disruptionsAllowed: 1,
    });
  });
});

describe('snapshotOf', () => {
  test('a node NotReady past the timeout is broken, not in flight: no capacity; one within it is in flight', () => {
    const since = Date.parse('2026-12-04T10:00:00Z');
    const notReady = (name: string, at: number) => {
      const raw = apiNode(name);
      raw.status = {
        ...raw.status,
        conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: new Date(at).toISOString() }],
      };
      return projectNode(raw);
    };
    const nodes = [notReady('old', since), notReady('young', since + 250_000)];
    const snap = snapshotOf(nodes, [], undefined, { now: since + 301_000, notReadyTimeoutMs: 300_000 });
    const byName = Object.fromEntries(snap.nodes.map((n) => [n.name, n]));
    assert.deepEqual([byName.old?.inFlight, byName.old?.unschedulable], [false, true]);
    assert.deepEqual([byName.young?.inFlight, byName.young?.unschedulable], [true, undefined]);
    // Without the options every node not Ready is in flight.
    assert.equal(
      snapshotOf(nodes, []).nodes.every((n) => n.inFlight === true),
      true,
    );
  });

  test('nodes not being deleted, and the pods that hold them', () => {
    // Given two nodes, one being deleted, and pods of every kind
    const n1 = projectNode(ready(apiNode('n1')));
    const goingRaw = apiNode('n2');
    goingRaw.metadata = { ...goingRaw.metadata, deletionTimestamp: new Date().toISOString() };
    const n2 = projectNode(goingRaw);
    const pods = [
      apiPod('running', { node: 'n1' }),
      apiPod('pending'),
      apiPod('done', { node: 'n1', phase: 'Succeeded' }),
      apiPod('failed', { node: 'n1', phase: 'Failed' }),
      apiPod('terminating', { node: 'n1', deleting: true }),
      apiPod('on-deleted-node', { node: 'n2' }),
    ].map(projectPod);
    const pdbs: PdbInfo[] = [
      projectPdb({ metadata: { namespace: 'ns', name: 'a' }, spec: { selector: {} } }),
      projectPdb({ metadata: { namespace: 'ns', name: 'none' }, spec: {} }),
    ];
    // When a snapshot is taken
    const s = snapshotOf([n1, n2], pods, pdbs);
    // Then only n1 and its running pod are in it, and the budget that selects pods
    assert.deepEqual(
      s.nodes.map((n) => n.name),
      ['n1'],
    );
    assert.deepEqual(
      s.pods.map((p) => [p.key, p.nodeName]),
      [['ns/running', 'n1']],
    );
    assert.deepEqual(
      s.pdbs?.map((b) => b.key),
      ['ns/a'],
    );
  });

  test('without budgets the snapshot has none', () => {
    assert.equal(snapshotOf([], []).pdbs, undefined);
  });
});

describe('eviction blockers for planRemoval', () => {
  const pods: V1Pod[] = [
    apiPod('free', { node: 'n' }),
    apiPod('pinned', {
      node: 'n',
      annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
    }),
    apiPod('bare', { node: 'n', owner: null }),
  ];

  test('blockerOf says why a converted pod may not be evicted', () => {
    // Given the pods converted for a snapshot
    const [free, pinned, bare] = pods.map((p) => boundPod(projectPod(p)));
    assert.ok(free && pinned && bare);
    // Then the blocker reads their projections
    assert.equal(blockerOf(free), undefined);
    assert.match(blockerOf(pinned) ?? '', /safe-to-evict: "false"/);
    assert.match(blockerOf(bare) ?? '', /no controller/);
  });

  test('simBlocker finds pods it did not convert by key', () => {
    // Given projections by key and a BoundPod built elsewhere
    const byKey = new Map(pods.map((p) => projectPod(p)).map((p) => [`${p.namespace}/${p.name}`, p]));
    const blocker = simBlocker(byKey);
    const elsewhere = { key: 'ns/pinned', namespace: 'ns', labels: {}, requests: {}, nodeName: 'n' };
    // Then it finds the projection by key; an unknown pod is not blocked
    assert.match(blocker(elsewhere) ?? '', /safe-to-evict/);
    assert.equal(blocker({ ...elsewhere, key: 'ns/unknown' }), undefined);
  });
});

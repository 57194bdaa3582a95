import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  nodeUtilisation,
  pendingUnschedulable,
  podsByNode,
  projectNode,
  projectPod,
  totalUtilisation,
  utilisationOf,
  workloadOf,
} from './index.ts';
import { apiNode, apiPod, Gi } from './test-fixtures.ts';

/** Pods placed on nodes n0 to n4 (n4 is not among the nodes given), some of them finished. */
const placementsArb = fc.array(
  fc.record({
    node: fc.integer({ min: 0, max: 4 }),
    cpu: fc.integer({ min: 0, max: 4000 }),
    phase: fc.constantFrom('Running', 'Pending', 'Succeeded'),
  }),
  { maxLength: 40 },
);

describe('requested utilisation', () => {
  test('the requests of the pods holding a node over its allocatable; the larger ratio is the utilisation', () => {
    const nodes = [apiNode('a', { cpu: '4', memory: '8Gi' }), apiNode('b', { cpu: '2', memory: '8Gi' })];
    const pods = [
      apiPod('p1', { node: 'a', cpu: '1', memory: '1Gi' }),
      apiPod('p2', { node: 'a', cpu: '1', memory: '1Gi' }),
      apiPod('done', { node: 'a', cpu: '4', phase: 'Succeeded' }),
      apiPod('failed', { node: 'a', cpu: '4', phase: 'Failed' }),
      apiPod('pending', { cpu: '4' }),
      apiPod('p3', { node: 'b', cpu: '500m', memory: '6Gi' }),
    ];
    const [a, b] = utilisationOf(nodes, pods);
    assert.deepEqual(a, {
      node: 'a',
      requested: { cpuMillicores: 2000, memoryBytes: 2 * Gi },
      allocatable: { cpuMillicores: 4000, memoryBytes: 8 * Gi, pods: 110 },
      pods: 2,
      cpu: 0.5,
      memory: 0.25,
      utilisation: 0.5,
    });
    assert.equal(b?.cpu, 0.25);
    assert.equal(b?.memory, 0.75);
    assert.equal(b?.utilisation, 0.75);
  });

  test('a terminating pod still holds its node until it is gone', () => {
    const [a] = utilisationOf([apiNode('a')], [apiPod('p', { node: 'a', cpu: '2', deleting: true })]);
    assert.equal(a?.cpu, 0.5);
  });

  test('a node that offers nothing is 0, not NaN; an empty node is 0', () => {
    assert.equal(
      nodeUtilisation(apiNode('z', { cpu: '0', memory: '0' }), [
        projectPod(apiPod('p', { node: 'z', cpu: '1' })),
      ]).utilisation,
      0,
    );
    assert.equal(nodeUtilisation(projectNode(apiNode('e')), []).utilisation, 0);
  });

  test('a pool taken together weighs big nodes more than the mean of ratios would', () => {
    const u = utilisationOf(
      [apiNode('big', { cpu: '8', memory: '8Gi' }), apiNode('small', { cpu: '2', memory: '8Gi' })],
      [apiPod('p', { node: 'big', cpu: '8' })],
    );
    const t = totalUtilisation(u);
    assert.equal(t.cpu, 0.8);
    assert.equal(t.memory, 0);
    assert.deepEqual(totalUtilisation([]), {
      cpu: 0,
      memory: 0,
      requested: { cpuMillicores: 0, memoryBytes: 0 },
      allocatable: { cpuMillicores: 0, memoryBytes: 0 },
    });
  });

  test("property: utilisationOf equals nodeUtilisation over each node's pods, for any placement", () => {
    fc.assert(
      fc.property(placementsArb, (placements) => {
        const nodes = [0, 1, 2, 3].map((i) => projectNode(apiNode(`n${i}`)));
        const pods = placements.map((p, i) =>
          projectPod(apiPod(`p${i}`, { node: `n${p.node}`, cpu: `${p.cpu}m`, phase: p.phase })),
        );
        const byNode = podsByNode(pods);
        const all = utilisationOf(nodes, pods);
        for (const [i, n] of nodes.entries()) {
          assert.deepEqual(all[i], nodeUtilisation(n, byNode.get(n.name) ?? []));
          const expected = placements
            .filter((p) => p.node === i && p.phase !== 'Succeeded')
            .reduce((s, p) => s + p.cpu, 0);
          assert.equal(all[i]?.requested.cpuMillicores, expected);
        }
      }),
    );
  });
});

describe('pending pods', () => {
  const now = Date.parse('2026-01-01T00:10:00Z');

  test('only the unschedulable ones, longest waiting first, with their workload and requests', () => {
    const pods = [
      apiPod('young', { unschedulableSince: '2026-01-01T00:09:30Z', cpu: '1' }),
      apiPod('old', {
        unschedulableSince: '2026-01-01T00:01:00Z',
        cpu: '2',
        owner: { kind: 'Job', name: 'etl' },
      }),
      apiPod('just-created'),
      apiPod('running', { node: 'a' }),
      apiPod('leaving', { unschedulableSince: '2026-01-01T00:00:00Z', deleting: true }),
    ];
    assert.deepEqual(pendingUnschedulable(pods, now), [
      {
        namespace: 'ns',
        name: 'old',
        workload: 'Job/etl',
        requests: { cpuMillicores: 2000, memoryBytes: 0 },
        since: Date.parse('2026-01-01T00:01:00Z'),
        waitingMs: 9 * 60_000,
      },
      {
        namespace: 'ns',
        name: 'young',
        workload: 'Deployment/web',
        requests: { cpuMillicores: 1000, memoryBytes: 0 },
        since: Date.parse('2026-01-01T00:09:30Z'),
        waitingMs: 30_000,
      },
    ]);
  });

  test('a clock behind the API server never gives a negative wait; a bare pod has no workload', () => {
    const [p] = pendingUnschedulable(
      [apiPod('p', { unschedulableSince: '2026-01-01T00:20:00Z', owner: null })],
      now,
    );
    assert.equal(p?.waitingMs, 0);
    assert.equal(p?.workload, undefined);
  });

  test('workloads: a ReplicaSet is its Deployment only when named <deployment>-<pod-template-hash>', () => {
    assert.equal(workloadOf(apiPod('p')), 'Deployment/web');
    assert.equal(
      workloadOf(apiPod('p', { owner: { kind: 'ReplicaSet', name: 'standalone' } })),
      'ReplicaSet/standalone',
    );
    assert.equal(workloadOf(apiPod('p', { owner: { kind: 'StatefulSet', name: 'db' } })), 'StatefulSet/db');
    assert.equal(workloadOf(apiPod('p', { owner: null })), undefined);
  });
});

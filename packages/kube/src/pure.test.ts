import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { kwokNodeManifest, SCALE_DOWN_DISABLED } from './nodes.ts';
import { cpuMillicores, memoryBytes, parseQuantity } from './quantity.ts';
import { isUnschedulable, ownerOf, podRequests } from './resources.ts';
import { chooseVictims } from './victims.ts';

describe('quantities', () => {
  test('CPU and memory in the notations the API returns', () => {
    assert.deepEqual(
      ['250m', '2', '0.5', '1.5', 1, '100u', ''].map(cpuMillicores),
      [250, 2000, 500, 1500, 1000, 1, 0],
    );
    assert.deepEqual(['512Mi', '1Gi', '1e3', '1.5G', '128974848', '129M', '1k', '2Ki'].map(memoryBytes), [
      512 * 2 ** 20,
      2 ** 30,
      1000,
      1.5e9,
      128974848,
      129e6,
      1000,
      2048,
    ]);
  });
  test('anything else is refused with the text named', () => {
    for (const bad of ['1.2.3', 'lots', '5Zi', '--1', 'Mi'])
      assert.throws(() => parseQuantity(bad), new RegExp(`'${bad}' is not`));
  });
});

const pod = (
  spec: Partial<V1Pod['spec']>,
  meta: Partial<V1Pod['metadata']> = {},
  status: V1Pod['status'] = {},
): V1Pod => ({
  metadata: { name: 'p', namespace: 'ns', ...meta },
  spec: { containers: [], ...spec } as V1Pod['spec'],
  status,
});
const req = (cpu: string, memory: string) => ({ resources: { requests: { cpu, memory } } });

describe('pod requests as the scheduler counts them', () => {
  test('sum of containers, the larger init container, sidecars added, overhead added', () => {
    assert.deepEqual(
      podRequests(
        pod({
          containers: [
            { name: 'a', ...req('250m', '1Gi') },
            { name: 'b', ...req('250m', '1Gi') },
          ],
        }),
      ),
      {
        cpuMillicores: 500,
        memoryBytes: 2 * 2 ** 30,
      },
    );
    assert.equal(
      podRequests(
        pod({
          containers: [{ name: 'a', ...req('250m', '1Gi') }],
          initContainers: [{ name: 'i', ...req('2', '1Gi') }],
        }),
      ).cpuMillicores,
      2000,
    );
    assert.equal(
      podRequests(
        pod({
          containers: [{ name: 'a', ...req('250m', '1Gi') }],
          initContainers: [{ name: 's', restartPolicy: 'Always', ...req('100m', '0') }],
        }),
      ).cpuMillicores,
      350,
    );
    assert.equal(
      podRequests(pod({ containers: [{ name: 'a', ...req('1', '0') }], overhead: { cpu: '50m' } }))
        .cpuMillicores,
      1050,
    );
  });
  test('unschedulable means Pending, unbound, PodScheduled=False/Unschedulable', () => {
    const cond = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable' };
    assert.equal(isUnschedulable(pod({}, {}, { phase: 'Pending', conditions: [cond] })), true);
    assert.equal(
      isUnschedulable(pod({ nodeName: 'n' }, {}, { phase: 'Pending', conditions: [cond] })),
      false,
    );
    assert.equal(isUnschedulable(pod({}, {}, { phase: 'Pending' })), false);
  });
  test('the Deployment behind a ReplicaSet pod', () => {
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
  });
});

describe('scale-down victims', () => {
  const node = (name: string, created: string, annotations: Record<string, string> = {}): V1Node => ({
    ...kwokNodeManifest({ name, pool: 'workers', cpuMillicores: 4000, memoryBytes: 8 * 2 ** 30 }),
    metadata: { name, creationTimestamp: new Date(created), annotations },
  });
  const owned = {
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-x', uid: 'u', controller: true },
    ],
  };
  const running = (
    name: string,
    on: string,
    cpu: string,
    meta: Partial<V1Pod['metadata']> = owned,
    spec: Partial<V1Pod['spec']> = {},
  ) =>
    pod(
      { nodeName: on, containers: [{ name: 'c', ...req(cpu, '0') }], ...spec },
      { name, ...meta },
      { phase: 'Running' },
    );

  test('least utilised first, newest first among equals', () => {
    const nodes = [
      node('a', '2026-01-01'),
      node('b', '2026-01-02'),
      node('c', '2026-01-03'),
      node('d', '2026-01-04'),
    ];
    const pods = [running('p1', 'a', '3'), running('p2', 'b', '1'), running('p3', 'c', '1')];
    assert.deepEqual(chooseVictims(nodes, pods, 3).victims, ['d', 'c', 'b']);
  });

  test('never a node annotated scale-down-disabled or running a pod that cannot move, each with the reason', () => {
    const nodes = [
      node('a', '2026-01-01', { [SCALE_DOWN_DISABLED]: 'true' }),
      node('b', '2026-01-02'),
      node('c', '2026-01-03'),
      node('d', '2026-01-04'),
      node('e', '2026-01-05'),
    ];
    const pods = [
      running('keep', 'b', '1', {
        ...owned,
        annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
      }),
      running('cache', 'c', '1', owned, { volumes: [{ name: 'tmp', emptyDir: {} }] }),
      running('bare', 'd', '1', {}),
      running('ds', 'e', '1', {
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'x', uid: 'u' }],
      }),
    ];
    const r = chooseVictims(nodes, pods, 5);
    assert.deepEqual(r.victims, ['e']);
    assert.deepEqual(
      r.refused.map((x) => [x.node, x.why]),
      [
        ['a', `annotated ${SCALE_DOWN_DISABLED}`],
        ['b', 'pod ns/keep is annotated safe-to-evict: "false"'],
        ['c', 'pod ns/cache has local storage'],
        ['d', 'pod ns/bare has no controller to recreate it'],
      ],
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACTION_ANNOTATION, KWOK_NODE_KEY, kwokNodeManifest, MANAGED_BY, POOL_LABEL } from './nodes.ts';
import { projectNode } from './projection.ts';

describe('KWOK worker manifest', () => {
  test("a node of the pool's size that KWOK manages, with provider id and the action that made it", () => {
    const n = kwokNodeManifest({
      name: 'workers-1',
      pool: 'workers',
      cpuMillicores: 2500,
      memoryBytes: 4 * 2 ** 30,
      pods: 30,
      labels: { zone: 'a', [POOL_LABEL]: 'other' },
      annotations: { note: 'x', [KWOK_NODE_KEY]: 'real' },
      taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }],
      actionId: 'decision-7',
    });
    assert.equal(n.spec?.providerID, 'kwok://workers-1');
    assert.deepEqual(n.spec?.taints, [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }]);
    assert.equal(n.metadata?.labels?.[POOL_LABEL], 'workers', 'the pool label cannot be overridden');
    assert.equal(n.metadata?.labels?.[KWOK_NODE_KEY], 'fake');
    assert.equal(n.metadata?.labels?.[MANAGED_BY], 'scalewise');
    assert.equal(n.metadata?.labels?.zone, 'a');
    assert.equal(n.metadata?.labels?.['kubernetes.io/hostname'], 'workers-1');
    assert.equal(
      n.metadata?.annotations?.[KWOK_NODE_KEY],
      'fake',
      'the kwok annotation cannot be overridden',
    );
    assert.equal(n.metadata?.annotations?.note, 'x');
    assert.equal(n.metadata?.annotations?.[ACTION_ANNOTATION], 'decision-7');
    assert.deepEqual(n.status?.allocatable, n.status?.capacity);
    assert.deepEqual(projectNode(n).allocatable, { cpuMillicores: 2500, memoryBytes: 4 * 2 ** 30, pods: 30 });
  });

  test('a GPU node in a zone: ephemeral storage, extended resources and the zone label', () => {
    // Given a worker spec with storage, two GPUs and a zone
    const n = kwokNodeManifest({
      name: 'gpu-1',
      pool: 'gpu',
      cpuMillicores: 8000,
      memoryBytes: 32 * 2 ** 30,
      ephemeralStorageBytes: 100 * 2 ** 30,
      extended: { 'nvidia.com/gpu': 2 },
      zone: 'eu-1b',
    });
    // Then the node offers them and is labelled with its zone
    assert.equal(n.metadata?.labels?.['topology.kubernetes.io/zone'], 'eu-1b');
    assert.deepEqual(projectNode(n).allocatable, {
      cpuMillicores: 8000,
      memoryBytes: 32 * 2 ** 30,
      pods: 110,
      ephemeralStorageBytes: 100 * 2 ** 30,
      extended: { 'nvidia.com/gpu': 2 },
    });
    assert.deepEqual(n.status?.allocatable, n.status?.capacity);
  });

  test('defaults: 110 pods, no taints, no action annotation', () => {
    const n = kwokNodeManifest({ name: 'w', pool: 'p', cpuMillicores: 1000, memoryBytes: 2 ** 30 });
    assert.equal(n.status?.allocatable?.pods, '110');
    assert.equal(n.spec?.taints, undefined);
    assert.equal(n.metadata?.annotations?.[ACTION_ANNOTATION], undefined);
    assert.equal(n.metadata?.labels?.['topology.kubernetes.io/zone'], undefined);
    assert.equal(n.status?.allocatable?.['ephemeral-storage'], undefined);
  });

  test('a name that is not a DNS label is refused before any request', () => {
    for (const bad of ['Upper', 'a.b', '-a', 'a-', '', 'x'.repeat(64)])
      assert.throws(
        () => kwokNodeManifest({ name: bad, pool: 'p', cpuMillicores: 1, memoryBytes: 1 }),
        RangeError,
      );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, type PoolConfig } from '@scalewise/config';
import type { Kube, V1Node } from '@scalewise/kube';
import { kwokProvider } from './kwok.ts';

const poolOf = (yaml: string): PoolConfig => {
  const [pool] = loadConfig({ text: `autoscaler:\n  pools:\n${yaml}`, env: {} }).config.autoscaler.pools;
  assert.ok(pool);
  return pool;
};

/** An API server of nodes in memory: list by the pool label, create (409 when it exists). */
function fakeKube(existing: V1Node[] = []) {
  const nodes = new Map(existing.map((n) => [n.metadata?.name ?? '', n]));
  let lists = 0;
  const kube = {
    core: {
      async listNode({ labelSelector }: { labelSelector: string }) {
        lists++;
        const [k, v] = labelSelector.split('=');
        return { items: [...nodes.values()].filter((n) => n.metadata?.labels?.[k ?? ''] === v) };
      },
      async createNode({ body }: { body: V1Node }) {
        const name = body.metadata?.name ?? '';
        if (nodes.has(name)) throw Object.assign(new Error('exists'), { code: 409 });
        nodes.set(name, body);
        return body;
      },
    },
  } as unknown as Kube;
  return { kube, nodes, lists: () => lists };
}

const node = (name: string, pool: string, zone: string, deleting = false): V1Node => ({
  metadata: {
    name,
    labels: { 'scalewise.io/pool': pool, 'topology.kubernetes.io/zone': zone },
    ...(deleting ? { deletionTimestamp: new Date().toISOString() } : {}),
  },
});

const zoneOf = (n: V1Node | undefined) => n?.metadata?.labels?.['topology.kubernetes.io/zone'];

describe('kwok provider', () => {
  test("new nodes carry the pool's taints, pods, storage and extended resources", async () => {
    // Given a GPU pool without zones
    const pool = poolOf(`
    - name: gpu
      node_size: { pods: 40, ephemeral_storage_mib: 1024, extended_resources: { nvidia.com/gpu: 4 } }
      node_taints: [{ key: nvidia.com/gpu, effect: NoSchedule }]
`);
    const f = fakeKube();
    // When a node is created
    await kwokProvider(f.kube).create(pool, ['gpu-1'], 'act-1');
    // Then it carries the template, and no zone; the nodes were not listed for it
    const n = f.nodes.get('gpu-1');
    assert.deepEqual(n?.spec?.taints, [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }]);
    assert.equal(n?.status?.allocatable?.pods, '40');
    assert.equal(n?.status?.allocatable?.['ephemeral-storage'], String(1024 * 2 ** 20));
    assert.equal(n?.status?.allocatable?.['nvidia.com/gpu'], '4');
    assert.equal(zoneOf(n), undefined);
    assert.equal(f.lists(), 0);
  });

  test('each new node goes to the zone with the fewest nodes of the pool, counting the ones just made', async () => {
    // Given a pool over zones a, b, c with two nodes in a, one in b, one in c being deleted,
    // and a node of another pool in c
    const pool = poolOf('    - name: web\n      zones: [a, b, c]\n');
    const f = fakeKube([
      node('web-1', 'web', 'a'),
      node('web-2', 'web', 'a'),
      node('web-3', 'web', 'b'),
      node('web-4', 'web', 'c', true),
      node('other-1', 'other', 'c'),
    ]);
    // When four nodes are created at once
    await kwokProvider(f.kube).create(pool, ['web-5', 'web-6', 'web-7', 'web-8'], 'act-2');
    // Then c (none there), b (b and c at 1, b listed first), c (1 against 2), a (all at 2, a first)
    assert.deepEqual(
      ['web-5', 'web-6', 'web-7', 'web-8'].map((n) => zoneOf(f.nodes.get(n))),
      ['c', 'b', 'c', 'a'],
    );
  });

  test('a retried create keeps the zone a node already has and counts it once', async () => {
    // Given a node made by an earlier attempt of the same action, in b
    const pool = poolOf('    - name: web\n      zones: [a, b]\n');
    const f = fakeKube([node('web-1', 'web', 'a'), node('web-2', 'web', 'b')]);
    // When the action creates web-2 and web-3 again
    await kwokProvider(f.kube).create(pool, ['web-2', 'web-3'], 'act-3');
    // Then web-2 is left in b and web-3 goes to a (a: 1, b: 1, a listed first)
    assert.equal(zoneOf(f.nodes.get('web-2')), 'b');
    assert.equal(zoneOf(f.nodes.get('web-3')), 'a');
  });
});

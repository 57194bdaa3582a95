import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kwokNodeManifest, projectNode, simNode } from '@scalewise/kube';
import { kwokWorkerSpec, loadConfig, nextZone, type PoolConfig, poolTemplate, zonesOfNew } from './index.ts';
import { invalidConfig } from './test-support.ts';

const poolsOf = (text: string): PoolConfig[] => loadConfig({ text, env: {} }).config.autoscaler.pools;
const poolOf = (yaml: string): PoolConfig => {
  const [pool] = poolsOf(`autoscaler:\n  pools:\n${yaml}`);
  assert.ok(pool);
  return pool;
};
const problems = (text: string) => invalidConfig(() => loadConfig({ text, env: {} })).problems;

const gpuPool = `
    - name: gpu
      node_size:
        cpu_millicores: 8000
        memory_mib: 32768
        pods: 60
        ephemeral_storage_mib: 102400
        extended_resources: { nvidia.com/gpu: 2 }
      node_labels: { disktype: ssd }
      node_taints:
        - { key: nvidia.com/gpu, value: "true", effect: NoSchedule }
        - { key: dedicated, effect: NoExecute }
      zones: [eu-1a, eu-1b]
      priority: 10
`;

describe('pool node template keys', () => {
  test("today's pools stay valid: the new keys have their defaults", () => {
    // Given a pool with a name only
    const [pool] = poolsOf('autoscaler:\n  pools:\n    - name: workers\n');
    // Then its template keys have the documented defaults
    assert.deepEqual(pool?.node_size, {
      cpu_millicores: 4000,
      memory_mib: 8192,
      pods: 110,
      extended_resources: {},
    });
    assert.deepEqual(pool?.node_taints, []);
    assert.deepEqual(pool?.zones, []);
    assert.equal(pool?.priority, 0);
    const { config } = loadConfig({ text: 'autoscaler:\n  pools: [{ name: a }]\n', env: {} });
    assert.equal(config.autoscaler.scheduling.expander, 'least_waste');
  });

  test('every key given is kept', () => {
    const pool = poolOf(gpuPool);
    assert.deepEqual(pool.node_size.extended_resources, { 'nvidia.com/gpu': 2 });
    assert.equal(pool.node_size.ephemeral_storage_mib, 102400);
    assert.deepEqual(pool.zones, ['eu-1a', 'eu-1b']);
    assert.equal(pool.priority, 10);
    const { config } = loadConfig({
      text: 'autoscaler:\n  pools: [{ name: a }]\n  scheduling: { expander: priority }\n',
      env: {},
    });
    assert.equal(config.autoscaler.scheduling.expander, 'priority');
  });

  test('bad template keys are each named', () => {
    // Given a pool with a bad value in each new key
    const list = problems(`
autoscaler:
  scheduling: { expander: cheapest }
  pools:
    - name: a
      node_size:
        pods: 0
        extended_resources: { gpu: 1, kubernetes.io/widget: 1, example.com/fpga: 0 }
      node_taints:
        - { key: "bad key!", effect: NoSchedule }
        - { key: ok, effect: Sometimes }
      zones: [eu-1a, eu-1a]
      priority: 1.5
`);
    // Then each problem names its key
    const keys = list.map((p) => p.key).sort();
    assert.deepEqual(keys, [
      'autoscaler.pools[0].node_size.extended_resources.example.com/fpga',
      'autoscaler.pools[0].node_size.extended_resources.gpu',
      'autoscaler.pools[0].node_size.extended_resources.kubernetes.io/widget',
      'autoscaler.pools[0].node_size.pods',
      'autoscaler.pools[0].node_taints[0].key',
      'autoscaler.pools[0].node_taints[1].effect',
      'autoscaler.pools[0].priority',
      'autoscaler.pools[0].zones',
      'autoscaler.scheduling.expander',
    ]);
    const byKey = new Map(list.map((p) => [p.key, p.message]));
    assert.match(byKey.get('autoscaler.pools[0].node_size.extended_resources.gpu') ?? '', /domain prefix/);
    assert.match(
      byKey.get('autoscaler.pools[0].node_size.extended_resources.kubernetes.io/widget') ?? '',
      /reserved/,
    );
  });

  test('a pool with zones may not set the zone label itself', () => {
    const list = problems(`
autoscaler:
  pools:
    - name: b
      zones: [z1]
      node_labels: { topology.kubernetes.io/zone: z2 }
`);
    assert.deepEqual(
      list.map((p) => p.key),
      ['autoscaler.pools[0].node_labels.topology.kubernetes.io/zone'],
    );
  });
});

describe('poolTemplate', () => {
  test('a GPU pool: labels, taints, allocatable in base units, zones, priority', () => {
    const t = poolTemplate(poolOf(gpuPool));
    assert.deepEqual(t, {
      pool: 'gpu',
      labels: {
        disktype: 'ssd',
        'scalewise.io/pool': 'gpu',
        'app.kubernetes.io/managed-by': 'scalewise',
        type: 'kwok',
        'kwok.x-k8s.io/node': 'fake',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
      },
      taints: [
        { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' },
        { key: 'dedicated', effect: 'NoExecute' },
      ],
      allocatable: {
        cpu: 8000,
        memory: 32 * 2 ** 30,
        pods: 60,
        'ephemeral-storage': 100 * 2 ** 30,
        'nvidia.com/gpu': 2,
      },
      zones: ['eu-1a', 'eu-1b'],
      priority: 10,
    });
  });

  for (const [what, yaml] of [
    ['a GPU pool with zones', gpuPool],
    ['a default pool', '    - name: workers\n'],
    [
      'a pool whose labels try to override the pool label',
      '    - name: p\n      node_labels: { scalewise.io/pool: x, a: b }\n',
    ],
  ] as const) {
    test(`${what}: the template is what the kwok provider creates, hostname and zone aside`, () => {
      // Given a pool, its template and the node node-manager's kwok provider makes of it
      const pool = poolOf(yaml);
      const template = poolTemplate(pool);
      const zone = nextZone(pool.zones, {});
      const node = kwokNodeManifest(kwokWorkerSpec(pool, `${pool.name}-1`, { zone, actionId: 'a-1' }));
      // When the node is seen as the simulation sees nodes
      const sim = simNode(projectNode(node));
      // Then it has the template's labels (plus its hostname and zone), taints and allocatable
      const {
        'kubernetes.io/hostname': hostname,
        'topology.kubernetes.io/zone': nodeZone,
        ...labels
      } = sim.labels;
      assert.equal(hostname, `${pool.name}-1`);
      assert.equal(nodeZone, zone);
      assert.deepEqual(labels, template.labels);
      assert.deepEqual(sim.taints, template.taints);
      assert.deepEqual(sim.allocatable, template.allocatable);
      assert.equal(sim.pool, template.pool);
    });
  }

  test('a docker pool: no kwok labels; its provider_options taints count too', () => {
    const pool = poolOf(`
    - name: k3s
      provider: docker
      node_taints: [{ key: a, effect: NoSchedule }]
      provider_options: { node_taints: ["b=1:NoExecute", "c:PreferNoSchedule"] }
`);
    const t = poolTemplate(pool);
    assert.deepEqual(t.labels, {
      'scalewise.io/pool': 'k3s',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
    });
    assert.deepEqual(t.taints, [
      { key: 'a', effect: 'NoSchedule' },
      { key: 'b', value: '1', effect: 'NoExecute' },
      { key: 'c', effect: 'PreferNoSchedule' },
    ]);
  });
});

describe('nextZone', () => {
  test('the zone with the fewest nodes of the pool, the first listed among equals', () => {
    const zones = ['a', 'b', 'c'];
    assert.equal(nextZone(zones, {}), 'a');
    assert.equal(nextZone(zones, { a: 1 }), 'b');
    assert.equal(nextZone(zones, { a: 1, b: 1, c: 1 }), 'a');
    assert.equal(nextZone(zones, { a: 2, b: 1, c: 1 }), 'b');
    assert.equal(nextZone(zones, { a: 0, b: 0, c: 0, x: -5 }), 'a', 'zones not listed do not count');
    assert.equal(nextZone([], { a: 1 }), undefined);
  });
});

describe('zonesOfNew', () => {
  test('Given zones asked for by the decision, Then each node goes there; the others by the balanced rule counting them', () => {
    const got = zonesOfNew(['a', 'b', 'c'], new Map([['old', 'a']]), ['n1', 'n2', 'n3'], {
      n1: 'c',
      n2: 'x',
    });
    assert.deepEqual(
      Object.fromEntries(got),
      { n1: 'c', n2: 'b', n3: 'a' },
      'x is no zone of the pool: n2 by the rule',
    );
  });

  test('Given a node made by an earlier attempt, Then it keeps its zone whatever is asked', () => {
    const got = zonesOfNew(['a', 'b'], new Map([['n1', 'b']]), ['n1'], { n1: 'a' });
    assert.deepEqual(Object.fromEntries(got), { n1: 'b' });
  });
});

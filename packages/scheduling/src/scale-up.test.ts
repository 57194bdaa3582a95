import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bound, GiB, node, pod, template } from './fixtures.ts';
import { planScaleUp } from './scale-up.ts';
import { type Snapshot, ZONE_LABEL } from './types.ts';

const empty: Snapshot = { nodes: [], pods: [] };

describe('planScaleUp', () => {
  test('3 pods of 2500m on a 4000m template need 3 new nodes in one plan', () => {
    const pending = [1, 2, 3].map((i) => pod(`p${i}`, { requests: { cpu: 2500, memory: GiB } }));
    const plan = planScaleUp({ snapshot: empty, pending, templates: [template('a')] });
    assert.equal(plan.pools.length, 1);
    assert.deepEqual(
      plan.pools[0]!.newNodes.map((n) => [n.name, n.pods]),
      [
        ['a/new-1', ['default/p1']],
        ['a/new-2', ['default/p2']],
        ['a/new-3', ['default/p3']],
      ],
    );
    assert.equal(plan.pools[0]!.waste.cpu, 0.375);
  });

  test('pods fill existing room first, largest first, and later pods share new nodes', () => {
    const pending = [pod('small', { requests: { cpu: 1000 } }), pod('big', { requests: { cpu: 3000 } })];
    const plan = planScaleUp({
      snapshot: { nodes: [node('n1')], pods: [bound('x', 'n1', { requests: { cpu: 2000 } })] },
      pending: [...pending, pod('small2', { requests: { cpu: 1000 } })],
      templates: [template('a')],
    });
    assert.deepEqual(plan.onExisting, [
      { pod: 'default/small', node: 'n1', inFlight: false },
      { pod: 'default/small2', node: 'n1', inFlight: false },
    ]);
    assert.deepEqual(plan.pools[0]!.pods, ['default/big']);
  });

  test('pods placed on an in-flight node buy nothing', () => {
    const plan = planScaleUp({
      snapshot: { nodes: [node('n1', { inFlight: true })], pods: [] },
      pending: [pod('p1', { requests: { cpu: 3000 } })],
      templates: [template('a')],
    });
    assert.deepEqual(plan.onExisting, [{ pod: 'default/p1', node: 'n1', inFlight: true }]);
    assert.deepEqual(plan.pools, []);
  });

  test('a pod selecting accelerator=gpu goes to pool B, whose template alone has the label, not A', () => {
    const plan = planScaleUp({
      snapshot: empty,
      pending: [pod('train', { nodeSelector: { accelerator: 'gpu' } })],
      templates: [template('a'), template('b', { labels: { accelerator: 'gpu' } })],
    });
    assert.deepEqual(
      plan.pools.map((p) => [p.pool, p.pods]),
      [['b', ['default/train']]],
    );
  });

  test('a pod selecting a label no template has is unplaceable, with a reason per pool and for existing nodes', () => {
    const plan = planScaleUp({
      snapshot: { nodes: [node('n1'), node('n2')], pods: [] },
      pending: [pod('x', { nodeSelector: { disktype: 'ssd' }, owner: 'Deployment/x' })],
      templates: [template('a'), template('b', { labels: { accelerator: 'gpu' } })],
    });
    assert.deepEqual(plan.pools, []);
    assert.deepEqual(plan.unplaceable, [
      {
        pod: 'default/x',
        owner: 'Deployment/x',
        existing: [
          {
            reason: { predicate: 'node_selector', message: 'node selector: disktype=ssd not on node' },
            nodes: 2,
          },
        ],
        pools: [
          {
            pool: 'a',
            reason: { predicate: 'node_selector', message: 'node selector: disktype=ssd not on node' },
          },
          {
            pool: 'b',
            reason: { predicate: 'node_selector', message: 'node selector: disktype=ssd not on node' },
          },
        ],
      },
    ]);
  });

  test('a tainted pool is used only by pods that tolerate its taint', () => {
    const gpu = template('gpu', {
      taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }],
      allocatable: { cpu: 8000, memory: 32 * GiB },
    });
    const plan = planScaleUp({
      snapshot: empty,
      pending: [
        pod('plain', { requests: { cpu: 1000 } }),
        pod('tolerant', {
          requests: { cpu: 1000 },
          tolerations: [{ key: 'gpu', operator: 'Exists' }],
          nodeSelector: { 'scalewise.io/pool': 'gpu' },
        }),
      ],
      templates: [gpu, template('a')],
    });
    assert.deepEqual(
      plan.pools.map((p) => [p.pool, p.pods]),
      [
        ['gpu', ['default/tolerant']],
        ['a', ['default/plain']],
      ],
    );
  });

  test('zone spread with maxSkew 1 over 3 zones puts new nodes in each zone', () => {
    const web = { labels: { app: 'web' }, requests: { cpu: 3000 } };
    const spread = [
      {
        maxSkew: 1,
        topologyKey: ZONE_LABEL,
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { app: 'web' } },
      },
    ];
    const plan = planScaleUp({
      snapshot: empty,
      pending: [1, 2, 3, 4, 5, 6].map((i) => pod(`web-${i}`, { ...web, topologySpread: spread })),
      templates: [template('a', { zones: ['z1', 'z2', 'z3'] })],
    });
    const zones = plan.pools[0]!.newNodes.map((n) => n.zone);
    assert.deepEqual(zones, ['z1', 'z2', 'z3', 'z1', 'z2', 'z3']);
  });

  test('new nodes go to the zone with the fewest nodes of the pool, counting existing ones', () => {
    const plan = planScaleUp({
      snapshot: {
        nodes: [node('n1', { labels: { [ZONE_LABEL]: 'z1' }, allocatable: { cpu: 0, memory: 0 } })],
        pods: [],
      },
      pending: [pod('p', { requests: { cpu: 3000 } })],
      templates: [template('a', { zones: ['z1', 'z2'] })],
    });
    assert.equal(plan.pools[0]!.newNodes[0]!.zone, 'z2');
  });

  test('a pod that needs another zone than the least populated one gets a new node there', () => {
    // The pool's two (full) nodes are in z3, its most populated zone; one pod needs z3.
    const full = { allocatable: { cpu: 0, memory: 0 } };
    const plan = planScaleUp({
      snapshot: {
        nodes: [
          node('n1', { ...full, pool: 'a', labels: { [ZONE_LABEL]: 'z3', 'scalewise.io/pool': 'a' } }),
          node('n2', { ...full, pool: 'a', labels: { [ZONE_LABEL]: 'z3', 'scalewise.io/pool': 'a' } }),
        ],
        pods: [],
      },
      pending: [
        pod('pinned', {
          requests: { cpu: 1000 },
          nodeAffinity: [{ matchExpressions: [{ key: ZONE_LABEL, operator: 'In', values: ['z3'] }] }],
        }),
        pod('free', { requests: { cpu: 3500 } }),
      ],
      templates: [template('a', { zones: ['z1', 'z2', 'z3'] })],
    });
    const zones = Object.fromEntries(plan.pools[0]!.newNodes.map((n) => [n.pods[0], n.zone]));
    assert.equal(zones['default/pinned'], 'z3', 'the zone the pod needs, though it has the most nodes');
    assert.equal(zones['default/free'], 'z1', 'the least populated zone for a pod that needs none');
    assert.deepEqual(plan.unplaceable, []);
  });

  test('least_waste picks the pool whose node the pod fills best; priority the highest priority', () => {
    const templates = [
      template('big', { allocatable: { cpu: 16000, memory: 64 * GiB }, priority: 10 }),
      template('small', { allocatable: { cpu: 4000, memory: 16 * GiB } }),
    ];
    const pending = [pod('p', { requests: { cpu: 3000, memory: 12 * GiB } })];
    assert.equal(planScaleUp({ snapshot: empty, pending, templates }).pools[0]!.pool, 'small');
    assert.equal(
      planScaleUp({ snapshot: empty, pending, templates, expander: 'priority' }).pools[0]!.pool,
      'big',
    );
  });

  test('a pool at its max refuses with pool_max', () => {
    const plan = planScaleUp({
      snapshot: empty,
      pending: [pod('p1', { requests: { cpu: 3000 } }), pod('p2', { requests: { cpu: 3000 } })],
      templates: [template('a', { maxNew: 1 })],
    });
    assert.equal(plan.pools[0]!.newNodes.length, 1);
    assert.equal(plan.unplaceable[0]!.pools[0]!.reason.predicate, 'pool_max');
  });

  test('new nodes count for later pods: hostname anti-affinity opens one node per replica', () => {
    const anti = {
      labels: { app: 'db' },
      podAntiAffinity: [
        { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' },
      ],
    };
    const plan = planScaleUp({
      snapshot: empty,
      pending: [1, 2, 3].map((i) => pod(`db-${i}`, anti)),
      templates: [template('a')],
    });
    assert.equal(plan.pools[0]!.newNodes.length, 3);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bound, GiB, node } from './fixtures.ts';
import { planRemoval } from './removal.ts';
import { HOSTNAME_LABEL, type SimPod } from './types.ts';

const four = [1, 2, 3, 4].map((i) => node(`n${i}`));

describe('planRemoval', () => {
  test('required anti-affinity on hostname with 4 replicas on 4 nodes: none removable, the reason names anti-affinity', () => {
    const anti: Partial<SimPod> = {
      labels: { app: 'web' },
      podAntiAffinity: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: HOSTNAME_LABEL }],
    };
    const plan = planRemoval({
      snapshot: { nodes: four, pods: four.map((n, i) => bound(`web-${i + 1}`, n.name, anti)) },
      candidates: four.map((n) => n.name),
    });
    assert.deepEqual(plan.removable, []);
    assert.equal(plan.blocked.length, 4);
    assert.deepEqual(plan.blocked[0], {
      node: 'n1',
      pod: 'default/web-1',
      reason: {
        predicate: 'pod_anti_affinity',
        message: `pod default/web-1: anti-affinity (app=web, ${HOSTNAME_LABEL}) on all 3 other nodes it could run on`,
      },
    });
  });

  test('removals count for the next candidate: the second node finds no room', () => {
    const pods = four.map((n, i) => bound(`p${i}`, n.name, { requests: { cpu: 2000 } }));
    const plan = planRemoval({
      snapshot: { nodes: four.slice(0, 3), pods: pods.slice(0, 3) },
      candidates: ['n1', 'n2', 'n3'],
    });
    assert.deepEqual(plan.removable, [{ node: 'n1', moves: [{ pod: 'default/p0', to: 'n2' }] }]);
    assert.equal(plan.blocked[0]!.node, 'n2');
    assert.match(plan.blocked[0]!.reason.message, /insufficient cpu: requests 2000m on the only other node/);
  });

  test('daemon pods stay; in-flight and cordoned nodes receive nothing', () => {
    const nodes = [
      node('n1'),
      node('n2', { inFlight: true }),
      node('n3', { unschedulable: true }),
      node('n4'),
    ];
    const pods = [bound('ds', 'n1', { daemon: true }), bound('app', 'n1')];
    const plan = planRemoval({ snapshot: { nodes, pods }, candidates: ['n1'] });
    assert.deepEqual(plan.removable, [{ node: 'n1', moves: [{ pod: 'default/app', to: 'n4' }] }]);
  });

  test('a blocker keeps the node with not_evictable', () => {
    const plan = planRemoval({
      snapshot: { nodes: four, pods: [bound('local', 'n1')] },
      candidates: ['n1'],
      blocker: (p) => (p.key === 'default/local' ? 'uses local storage' : undefined),
    });
    assert.deepEqual(plan.blocked, [
      {
        node: 'n1',
        pod: 'default/local',
        reason: {
          predicate: 'not_evictable',
          message: 'pod default/local cannot be evicted: uses local storage',
        },
      },
    ]);
  });

  test('a PDB allowing one disruption lets one node go, then blocks the next, naming the PDB', () => {
    // web-1 moved to n2 first: draining n2 would evict it a second time.
    const web = { labels: { app: 'web' } };
    const plan = planRemoval({
      snapshot: {
        nodes: four,
        pods: [bound('web-1', 'n1', web), bound('web-2', 'n2', web)],
        pdbs: [
          {
            key: 'default/web',
            namespace: 'default',
            selector: { matchLabels: { app: 'web' } },
            disruptionsAllowed: 1,
          },
        ],
      },
      candidates: ['n1', 'n2'],
    });
    assert.deepEqual(
      plan.removable.map((r) => r.node),
      ['n1'],
    );
    assert.deepEqual(plan.blocked, [
      {
        node: 'n2',
        pod: 'default/web-1',
        reason: {
          predicate: 'pdb',
          message: 'pod default/web-1: PodDisruptionBudget default/web allows no more disruptions',
        },
      },
    ]);
  });

  test('headroom: the pool may not pass its threshold without the node', () => {
    const pods = four.map((n, i) => bound(`p${i}`, n.name, { requests: { cpu: 2000, memory: GiB } }));
    const plan = planRemoval({
      snapshot: { nodes: four, pods },
      candidates: ['n1'],
      headroom: { a: { cpu: 0.6, memory: 0.9 } },
    });
    assert.deepEqual(plan.blocked, [
      {
        node: 'n1',
        reason: {
          predicate: 'headroom',
          message: "without n1 the pool's CPU requests would be 67% of its allocatable, above 60%",
        },
      },
    ]);
    const ok = planRemoval({
      snapshot: { nodes: four, pods },
      candidates: ['n1'],
      headroom: { a: { cpu: 0.7, memory: 0.9 } },
    });
    assert.equal(ok.removable.length, 1);
  });

  test('a blocked candidate leaves the cluster as it was; maxRemovals stops the search', () => {
    const pods = [
      bound('big', 'n1', { requests: { cpu: 3900 } }),
      bound('small', 'n2', { requests: { cpu: 100 } }),
    ];
    const plan = planRemoval({
      snapshot: { nodes: four, pods },
      candidates: ['n1', 'n2', 'n3', 'n4'],
      maxRemovals: 2,
    });
    assert.deepEqual(
      plan.removable.map((r) => r.node),
      ['n1', 'n2'],
    );
    assert.deepEqual(plan.blocked, []);
  });

  test("maxRemovalsByPool caps each pool; the capped pool's later candidates are skipped, others go on", () => {
    const nodes = [
      node('a1', { pool: 'a' }),
      node('a2', { pool: 'a' }),
      node('a3', { pool: 'a' }),
      node('b1', { pool: 'b' }),
      node('b2', { pool: 'b' }),
    ];
    const plan = planRemoval({
      snapshot: { nodes, pods: [] },
      candidates: ['a1', 'a2', 'b1', 'a3', 'b2'],
      maxRemovalsByPool: { a: 1, b: 2 },
    });
    assert.deepEqual(
      plan.removable.map((r) => r.node),
      ['a1', 'b1', 'b2'],
    );
  });

  test('the reason a pod cannot move is that of the nodes it could run on, not of nodes it never could', () => {
    // Given 2 nodes of pool a with one anti-affinity replica each, and 5 nodes of pool b it never selects
    const anti: Partial<SimPod> = {
      labels: { app: 'web' },
      nodeSelector: { 'scalewise.io/pool': 'a' },
      podAntiAffinity: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: HOSTNAME_LABEL }],
    };
    const nodes = [node('a1'), node('a2'), ...[1, 2, 3, 4, 5].map((i) => node(`b${i}`, { pool: 'b' }))];
    const plan = planRemoval({
      snapshot: { nodes, pods: [bound('web-1', 'a1', anti), bound('web-2', 'a2', anti)] },
      candidates: ['a1'],
    });
    // Then the reason is the anti-affinity on the one node it could run on
    assert.equal(plan.blocked[0]?.reason.predicate, 'pod_anti_affinity');
    assert.match(plan.blocked[0]?.reason.message ?? '', /on the only other node it could run on/);
  });
});

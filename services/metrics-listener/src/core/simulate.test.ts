import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseData } from '@scalewise/events';
import type { BoundPod, NodeTemplate, SimNode, SimPod, Snapshot } from '@scalewise/scheduling';
import type { PendingPod } from './sense.ts';
import { type PoolRemoval, planHeadroom, planPending, planRemovals, type WaitingPod } from './simulate.ts';

const GiB = 2 ** 30;
const T0 = Date.parse('2026-12-04T10:00:00Z');

const template = (pool: string, extra: Partial<NodeTemplate> = {}): NodeTemplate => ({
  pool,
  labels: { 'scalewise.io/pool': pool, 'kubernetes.io/os': 'linux' },
  taints: [],
  allocatable: { cpu: 4000, memory: 8 * GiB, pods: 110 },
  zones: [],
  maxNew: 10,
  ...extra,
});
const node = (name: string, pool: string, extra: Partial<SimNode> = {}): SimNode => ({
  name,
  pool,
  labels: { 'scalewise.io/pool': pool, 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
  taints: [],
  allocatable: { cpu: 4000, memory: 8 * GiB, pods: 110 },
  ...extra,
});
const pod = (name: string, cpu: number, extra: Partial<SimPod> = {}): SimPod => ({
  key: `default/${name}`,
  namespace: 'default',
  labels: { app: name.replace(/-\d+$/, '') },
  requests: { cpu, memory: GiB / 4 },
  owner: `ReplicaSet/${name.replace(/-\d+$/, '')}`,
  ...extra,
});
const bound = (p: SimPod, nodeName: string): BoundPod => ({ ...p, nodeName });
const waiting = (p: SimPod, since = T0 - 5000): WaitingPod => {
  const [namespace = '', name = ''] = p.key.split('/');
  const sample: PendingPod = {
    namespace,
    name,
    cpuMillicores: p.requests.cpu ?? 0,
    memoryBytes: p.requests.memory ?? 0,
    pendingSince: since,
    reason: 'Unschedulable',
  };
  return { pod: p, sample };
};
/** The removal pass of pool `a` alone, at 80 % CPU and 85 % memory; no pod blocked unless `blocker` says. */
const planPoolRemoval = ({
  snapshot,
  blocker = () => undefined,
  ...given
}: Pick<PoolRemoval, 'candidates' | 'maxRemovals'> & {
  snapshot: Snapshot;
  blocker?: (pod: BoundPod) => string | undefined;
}) => {
  const pool: PoolRemoval = { pool: 'a', cpuHighPercent: 80, memoryHighPercent: 85, ...given };
  return (
    planRemovals({ snapshot, blocker, pools: [pool] }).get(pool.pool) ?? {
      candidate_nodes: 0,
      removable_nodes: [],
      blocked_nodes: [],
    }
  );
};
const plan = (snapshot: Snapshot, pods: SimPod[], templates: NodeTemplate[]) =>
  planPending({
    snapshot,
    waiting: pods.map((p) => waiting(p)),
    templates,
    expander: 'least_waste',
    now: T0,
  });

describe('pending pods through the simulation', () => {
  test('Given 3 pods of 2500m and 4000m nodes, Then 3 new nodes of the pool in one answer', () => {
    const r = plan(
      { nodes: [], pods: [] },
      [pod('big-1', 2500), pod('big-2', 2500), pod('big-3', 2500)],
      [template('a')],
    );
    const a = r.byPool.get('a');
    assert.equal(a?.simulation.new_nodes, 3);
    assert.equal(a?.simulation.pods_on_new_nodes, 3);
    assert.equal(a?.pending.length, 3);
    assert.equal(a?.simulation.waste.cpu_percent, 37.5);
    assert.equal(r.unplaceable, null);
  });

  test('Given a pod that fits a node in flight, Then it is counted there and nothing is bought', () => {
    const r = plan(
      { nodes: [node('a-1', 'a', { inFlight: true })], pods: [] },
      [pod('web-1', 1000)],
      [template('a')],
    );
    const a = r.byPool.get('a');
    assert.deepEqual(
      [
        a?.simulation.pool_nodes,
        a?.simulation.in_flight_nodes,
        a?.simulation.fit_existing,
        a?.simulation.new_nodes,
      ],
      [1, 1, 1, 0],
    );
  });

  test('Given a pod selecting a label only pool gpu has, Then gpu grows and a does not', () => {
    const r = plan(
      { nodes: [], pods: [] },
      [pod('train-1', 1000, { nodeSelector: { accelerator: 'h100' } })],
      [template('a'), template('gpu', { labels: { 'scalewise.io/pool': 'gpu', accelerator: 'h100' } })],
    );
    assert.deepEqual([...r.byPool.keys()], ['gpu']);
    assert.equal(r.byPool.get('gpu')?.simulation.new_nodes, 1);
  });

  test('Given a pod no pool can host, Then NotTriggerScaleUp names it with a reason per pool, and no pool grows', () => {
    const r = plan(
      { nodes: [node('a-1', 'a')], pods: [] },
      [pod('odd-1', 500, { nodeSelector: { disktype: 'ssd' } })],
      [template('a'), template('b')],
    );
    assert.equal(r.byPool.size, 0);
    const u = r.unplaceable;
    assert.ok(u);
    assert.equal(u.pending_count, 1);
    assert.deepEqual(
      u.pods[0]?.pools.map((p) => [p.pool, p.constraint]),
      [
        ['a', 'node_selector'],
        ['b', 'node_selector'],
      ],
    );
    assert.equal(u.pods[0]?.existing_nodes[0]?.constraint, 'node_selector');
    assert.equal(u.pods[0]?.waiting_time, 5);
    assert.match(u.summary, /1 pod pending that no pool can host.*default\/odd-1/);
    parseData('io.scalewise.NotTriggerScaleUp', u);
  });

  test('Given a pod that names pool a and fits nowhere, Then it waits for a (holding its scale-down) and is NotTriggerScaleUp too', () => {
    const stuck = pod('stuck-1', 500, { nodeSelector: { 'scalewise.io/pool': 'a', never: 'true' } });
    const r = planPending({
      snapshot: { nodes: [node('a-1', 'a')], pods: [] },
      waiting: [waiting(stuck)],
      templates: [template('a'), template('b')],
      expander: 'least_waste',
      now: T0,
      namedPool: (p) => p.nodeSelector?.['scalewise.io/pool'],
    });
    const a = r.byPool.get('a');
    assert.deepEqual(
      [a?.pending.length, a?.simulation.unplaceable, a?.simulation.new_nodes, a?.simulation.fit_existing],
      [1, 1, 0, 0],
    );
    assert.equal(r.byPool.has('b'), false);
    assert.equal(r.unplaceable?.pending_count, 1);
  });

  test('Given a pool at its max, Then its pods are unplaceable with pool_max', () => {
    const r = plan({ nodes: [], pods: [] }, [pod('web-1', 3000)], [template('a', { maxNew: 0 })]);
    assert.equal(r.unplaceable?.pods[0]?.pools[0]?.constraint, 'pool_max');
  });
});

describe('the removal pass of a pool', () => {
  test('Given 4 nodes each with one replica of a hostname anti-affinity Deployment, Then none can go and each names the anti-affinity', () => {
    const anti = {
      podAntiAffinity: [
        { labelSelector: { matchLabels: { app: 'ha' } }, topologyKey: 'kubernetes.io/hostname' },
      ],
    };
    const nodes = [1, 2, 3, 4].map((i) => node(`a-${i}`, 'a'));
    const pods = [1, 2, 3, 4].map((i) => bound(pod(`ha-${i}`, 500, anti), `a-${i}`));
    const r = planPoolRemoval({
      snapshot: { nodes, pods },
      candidates: nodes.map((n) => ({ node: n.name, cpuPercent: 12.5, memoryPercent: 3.1 })),
      maxRemovals: 3,
    });
    assert.deepEqual(r.removable_nodes, []);
    assert.equal(r.blocked_nodes.length, 4);
    for (const b of r.blocked_nodes) assert.equal(b.constraint, 'pod_anti_affinity', b.message);
  });

  test('Given 3 nodes with small pods, Then 2 can go one after another (the second carries the pod of the first)', () => {
    const nodes = [1, 2, 3].map((i) => node(`a-${i}`, 'a'));
    const pods = [1, 2, 3].map((i) => bound(pod(`web-${i}`, 300), `a-${i}`));
    const r = planPoolRemoval({
      snapshot: { nodes, pods },
      candidates: nodes.map((n) => ({ node: n.name, cpuPercent: 7.5, memoryPercent: 3.1 })),
      maxRemovals: 2,
    });
    assert.deepEqual(
      r.removable_nodes.map((x) => [x.node, x.pods]),
      [
        ['a-1', 1],
        ['a-2', 2],
      ],
    );
  });

  test('Given a pod that may not be evicted, Then its node stays with not_evictable', () => {
    const nodes = [node('a-1', 'a'), node('a-2', 'a')];
    const pods = [bound(pod('db-1', 100), 'a-1')];
    const r = planPoolRemoval({
      snapshot: { nodes, pods },
      candidates: [{ node: 'a-1', cpuPercent: 2.5, memoryPercent: 3.1 }],
      maxRemovals: 1,
      blocker: (p) => (p.key === 'default/db-1' ? 'pod default/db-1 has local storage (data)' : undefined),
    });
    assert.deepEqual(r.blocked_nodes, [
      {
        node: 'a-1',
        pod: 'default/db-1',
        constraint: 'not_evictable',
        message: r.blocked_nodes[0]?.message ?? '',
      },
    ]);
    assert.match(r.blocked_nodes[0]?.message ?? '', /local storage/);
  });
});

describe('the removal pass of every pool at once', () => {
  test('Given two pools with idle nodes, Then each pool gets its own verdict, each within its own limit', () => {
    const nodes = [node('a-1', 'a'), node('a-2', 'a'), node('a-3', 'a'), node('b-1', 'b'), node('b-2', 'b')];
    const idle = (n: string) => ({ node: n, cpuPercent: 0, memoryPercent: 0 });
    const sims = planRemovals({
      snapshot: { nodes, pods: [] },
      pools: [
        {
          pool: 'a',
          candidates: ['a-1', 'a-2', 'a-3'].map(idle),
          maxRemovals: 2,
          cpuHighPercent: 80,
          memoryHighPercent: 85,
        },
        {
          pool: 'b',
          candidates: ['b-1', 'b-2'].map(idle),
          maxRemovals: 1,
          cpuHighPercent: 80,
          memoryHighPercent: 85,
        },
      ],
      blocker: () => undefined,
    });
    assert.deepEqual(
      sims.get('a')?.removable_nodes.map((r) => r.node),
      ['a-1', 'a-2'],
    );
    assert.deepEqual(
      sims.get('b')?.removable_nodes.map((r) => r.node),
      ['b-1'],
    );
    assert.deepEqual([sims.get('a')?.candidate_nodes, sims.get('b')?.candidate_nodes], [3, 2]);
  });
});

describe('headroom for a pool under pressure', () => {
  test('Given 2 full nodes of 1000m pods (4 each), Then room for 4 typical pods takes one new node', () => {
    const nodes = [node('a-1', 'a'), node('a-2', 'a')];
    const pods = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => bound(pod(`web-${i}`, 1000), `a-${i <= 4 ? 1 : 2}`));
    const h = planHeadroom({
      snapshot: { nodes, pods },
      pool: 'a',
      template: template('a'),
      poolLabel: { key: 'scalewise.io/pool', value: 'a' },
    });
    assert.deepEqual(h, {
      typical_pod: { cpu_millicores: 1000, memory_bytes: GiB / 4 },
      wanted: 4,
      fit_now: 0,
      new_nodes: 1,
    });
  });

  test('Given room left for the typical pods, Then no new node is needed for them', () => {
    const nodes = [node('a-1', 'a'), node('a-2', 'a')];
    const pods = [bound(pod('web-1', 3500), 'a-1'), bound(pod('web-2', 500), 'a-2')];
    const h = planHeadroom({
      snapshot: { nodes, pods },
      pool: 'a',
      template: template('a'),
      poolLabel: { key: 'scalewise.io/pool', value: 'a' },
    });
    assert.equal(h?.typical_pod.cpu_millicores, 3500, 'the median by CPU of two is the upper one');
    assert.deepEqual([h?.wanted, h?.fit_now, h?.new_nodes], [1, 1, 0]);
  });

  test('Given no pod on the pool, Then no shape to size by', () => {
    assert.equal(
      planHeadroom({
        snapshot: { nodes: [node('a-1', 'a')], pods: [] },
        pool: 'a',
        template: template('a'),
        poolLabel: { key: 'scalewise.io/pool', value: 'a' },
      }),
      undefined,
    );
  });
});

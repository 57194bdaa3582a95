// The scheduling simulation (docs/scheduling.md) that drives scale-up and scale-down, with all
// six services as processes on the real stack: pods that fit one per node, a label only one
// pool's template carries, a pod no pool can host, a tainted pool, a zone topology spread, and
// anti-affinity pods that keep their under-used nodes. Each test asserts the node counts on the
// API server, the system's events and the evictions. One system per `describe`, so that each
// starts from a known pool; the pods of a system with several pools select its system label
// and no pool, so that the simulation chooses the pool (and no other system takes them).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AnyScalewiseEvent } from '@scalewise/events';
import { POOL_LABEL, type V1Pod, ZONE_LABEL } from '@scalewise/kube';
import { PENDING_SCALE_UP_CHAIN, SCALE_UP_ACTION, waitFor } from '@scalewise/testing';
import { dataOf, eventsOf, expectChain, quietWindow, waitForEvent } from './expect.ts';
import { type System, type SystemOptions, startSystem } from './harness.ts';
import { createBudget, deploy, type Place, podsOf, scale, undeploy } from './workload.ts';

const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** Waits until `n` pods of a Deployment are Running (and no more exist), and returns them. */
async function running(place: Place, app: string, n: number, timeoutMs = 60_000): Promise<V1Pod[]> {
  return waitFor(
    async () => {
      const pods = await podsOf(place, app);
      return pods.length === n && pods.every((p) => p.status?.phase === 'Running') ? pods : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `${n} pods of ${app} Running` },
  );
}

/** The pool of a node, from its label on the API server. */
async function poolOfNode(system: System, node: string): Promise<string | undefined> {
  return (await system.kube.core.readNode({ name: node })).metadata?.labels?.[POOL_LABEL];
}

/**
 * The system of the enclosing `describe`: started in its before hook (one system per
 * `describe`, so that each starts from a known pool) and stopped in its after hook. Read it
 * in the tests and later hooks.
 */
function suiteSystem(options: SystemOptions): () => System {
  let system: System | undefined;
  before(async () => {
    system = await startSystem(options);
  });
  after(async () => {
    await system?.stop();
  });
  return () => {
    if (!system) throw new Error(`the system ${options.label} is read before its before hook ran`);
    return system;
  };
}

/**
 * What a Deployment's pods select to leave the choice of pool to the simulation: the system's
 * label (so that no other system takes them) and `labels`, no pool.
 */
const unpooled = (system: System, labels: Record<string, string>) => ({
  selectPool: false,
  nodeSelector: { ...system.systemSelector, ...labels },
});

const names = (nodes: { metadata?: { name?: string } }[]) => nodes.map((n) => n.metadata?.name ?? '').sort();
const poolOf = (e: AnyScalewiseEvent) => (e.data as { pool?: string }).pool;

describe('required pod anti-affinity keeps under-used nodes', () => {
  const app = 'spread';
  const uids = new Map<string, string>();
  const system = suiteSystem({
    label: 'sched-antiaff',
    pool: { min: 1, max: 6, underutilizedForSeconds: 1, scaleDownWindowSeconds: 0 },
    initialWorkers: 4,
    sampleIntervalSeconds: 1,
    underutilizedPeriods: 2,
    // The pods are Running, one per worker, before any service starts: the empty workers
    // would otherwise be removable at once.
    prepare: async (place) => {
      await deploy(place, {
        name: app,
        replicas: 4,
        cpu: '500m',
        podSpec: {
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: { app } }, topologyKey: HOSTNAME_LABEL },
              ],
            },
          },
        },
      });
      await createBudget(place, { name: app, app, maxUnavailable: 1 });
      const pods = await running(place, app, 4);
      for (const p of pods) uids.set(p.metadata?.name ?? '', p.metadata?.uid ?? '');
    },
  });

  test('an anti-affinity Deployment under-utilising its pool is never evicted, and ScaleDownBlocked names why', async () => {
    const workers = names(await system().workers());
    assert.equal(workers.length, 4);
    const pods = await podsOf(system(), app);
    assert.deepEqual(pods.map((p) => p.spec?.nodeName).sort(), workers, 'one pod on each of the 4 workers');
    // 500m of 4000m (12.5 %) on every node, under the low thresholds: each is a candidate, and
    // none can go, since each pod's anti-affinity forbids every other node.
    const warned = await waitFor(
      () => {
        const w = eventsOf(system(), 'UnderutilizationWarning', {
          where: (e) => dataOf(e, 'io.scalewise.UnderutilizationWarning').simulation !== undefined,
        });
        return w.length >= 3 ? w : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: '3 UnderutilizationWarning with a simulation' },
    );
    for (const e of warned) {
      const sim = dataOf(e, 'io.scalewise.UnderutilizationWarning').simulation;
      assert.ok(sim);
      assert.equal(sim.candidate_nodes, 4, `candidates in ${JSON.stringify(sim)}`);
      assert.deepEqual(sim.removable_nodes, [], `nothing removable in ${JSON.stringify(sim)}`);
      assert.deepEqual(
        [...new Set(sim.blocked_nodes.map((b) => b.node))].sort(),
        workers,
        `every worker blocked in ${JSON.stringify(sim)}`,
      );
      for (const b of sim.blocked_nodes) {
        assert.ok(
          ['pod_anti_affinity', 'pdb'].includes(b.constraint),
          `${b.node} kept by ${b.constraint}: ${b.message}`,
        );
        assert.ok(
          b.pod?.startsWith(`${system().namespace}/${app}-`),
          `the pod that keeps ${b.node}: ${b.pod}`,
        );
      }
    }
    const blocked = await waitForEvent(
      system(),
      'ScaleDownBlocked',
      (e) => dataOf(e, 'io.scalewise.ScaleDownBlocked').reason === 'pods_cannot_move',
      { timeoutMs: 30_000 },
    );
    const b = dataOf(blocked, 'io.scalewise.ScaleDownBlocked');
    assert.deepEqual([b.workers, b.min_workers], [4, 1]);
    assert.ok(b.blocked_nodes && b.blocked_nodes.length > 0, 'blocked_nodes given');
    for (const n of b.blocked_nodes) {
      assert.ok(workers.includes(n.node), `${n.node} is a worker`);
      assert.ok(['pod_anti_affinity', 'pdb'].includes(n.constraint), `${n.node}: ${n.constraint}`);
    }
    // Nothing was decided, drained or evicted over the whole run (every warning above included).
    for (const t of ['ScaleDownDecision', 'ScaleDownStarted', 'NodeDrained', 'NodeRemoved']) {
      assert.deepEqual(
        eventsOf(system(), t).map((e) => e.id),
        [],
        `no ${t}`,
      );
    }
    const now = await running(system(), app, 4, 5_000);
    assert.deepEqual(
      new Map(now.map((p) => [p.metadata?.name ?? '', p.metadata?.uid ?? ''])),
      uids,
      'the same 4 pods (no eviction, no replacement)',
    );
    assert.deepEqual(names(await system().workers()), workers, 'the 4 workers remain');
  });
});

describe('pods that fit one per node', () => {
  const system = suiteSystem({ label: 'sched-burst', pool: { min: 0, max: 6 } });

  test('N pods that fit one per node get N nodes in one decision', async () => {
    const app = 'burst';
    // 2500m of 4000m: no two on one node.
    await deploy(system(), { name: app, replicas: 3, cpu: '2500m' });
    const [pending, decision, , , , completed] = await expectChain(system(), PENDING_SCALE_UP_CHAIN, {
      timeoutMs: 60_000,
    });
    const sim = dataOf(pending, 'io.scalewise.PendingPodsDetected').simulation;
    assert.ok(sim, 'PendingPodsDetected carries the simulation');
    const d = dataOf(decision, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual(
      [d.reason, d.current_workers, d.desired_workers, d.count, d.explanation.inputs.new_nodes],
      ['pending_pods', 0, 3, 3, 3],
      `the decision: ${JSON.stringify(d)}`,
    );
    const pods = await running(system(), app, 3);
    assert.equal(new Set(pods.map((p) => p.spec?.nodeName)).size, 3, 'one pod per node');
    assert.equal((await system().workers()).length, 3);
    // Nothing to buy once the nodes exist: the pods bound to them (or waiting for them while
    // they were in flight) are never bought twice. A "nothing happens" window, by design.
    const done = Date.parse(completed?.time ?? '');
    const later = await quietWindow(system(), 5_000, ['ScaleUpDecision']);
    assert.deepEqual(later, [], 'no ScaleUpDecision in the 5 s after');
    const ups = eventsOf(system(), 'ScaleUpDecision');
    assert.deepEqual(
      ups.map((e) => [dataOf(e, 'io.scalewise.ScaleUpDecision').reason, e.id]),
      [['pending_pods', decision?.id]],
      `one scale-up decision (the action completed at ${new Date(done).toISOString()})`,
    );
    assert.equal((await system().workers()).length, 3, 'still 3 nodes');
  });
});

describe('a label only one pool carries, and a label no pool carries', () => {
  const system = suiteSystem({
    label: 'sched-labels',
    systemLabel: true,
    pool: { min: 0, max: 4 },
    extraPools: [{ suffix: 'gpu', min: 0, max: 4, nodeLabels: { accelerator: 'h100' } }],
  });
  const gpu = () => system().poolName('gpu');

  test('a pod that fits no pool scales nothing and gets its reason event', async () => {
    const app = 'ssd';
    const t0 = Date.now();
    await deploy(system(), { name: app, replicas: 1, ...unpooled(system(), { disktype: 'ssd' }) });
    const [pod] = await waitFor(
      async () => {
        const p = await podsOf(system(), app);
        return p.length === 1 ? p : undefined;
      },
      { what: `the pod of ${app}` },
    );
    const podName = pod?.metadata?.name ?? '';
    const ours = (e: AnyScalewiseEvent) =>
      dataOf(e, 'io.scalewise.NotTriggerScaleUp').pods.some(
        (p) => p.namespace === system().namespace && p.name === podName,
      );
    const event = await waitForEvent(system(), 'NotTriggerScaleUp', ours, { since: t0, timeoutMs: 30_000 });
    const reported = dataOf(event, 'io.scalewise.NotTriggerScaleUp').pods.find((p) => p.name === podName);
    assert.ok(reported);
    assert.deepEqual(
      reported.pools
        .filter((p) => system().pools.includes(p.pool))
        .map((p) => [p.pool, p.constraint])
        .sort(),
      system()
        .pools.map((p) => [p, 'node_selector'])
        .sort(),
      `one node_selector reason per pool: ${JSON.stringify(reported.pools)}`,
    );
    // Nothing may grow for it: hold a window of several samples, by design.
    const during = await quietWindow(system(), 5_000, ['ScaleUpDecision', 'ScaleUpStarted', 'NodeCreated']);
    assert.deepEqual(during, []);
    assert.deepEqual(
      eventsOf(system(), 'ScaleUpDecision').map((e) => e.id),
      [],
      'no ScaleUpDecision at all',
    );
    assert.ok(
      eventsOf(system(), 'NotTriggerScaleUp', { since: t0, where: ours }).length >= 2,
      'reported again while it waits',
    );
    for (const p of system().pools) assert.equal((await system().workersOf(p)).length, 0, `no node in ${p}`);
    assert.equal((await podsOf(system(), app))[0]?.status?.phase, 'Pending');
    await undeploy(system(), app);
  });

  test("a pod selecting a label carried by only one pool's template scales that pool and no other", async () => {
    const app = 'trainer';
    const t0 = Date.now();
    await deploy(system(), { name: app, replicas: 1, ...unpooled(system(), { accelerator: 'h100' }) });
    const [decision, , , , completed] = await expectChain(system(), ['ScaleUpDecision', ...SCALE_UP_ACTION], {
      since: t0,
      timeoutMs: 60_000,
    });
    const d = dataOf(decision, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d.pool, d.reason, d.count], [gpu(), 'pending_pods', 1]);
    assert.equal(poolOf(completed as AnyScalewiseEvent), gpu());
    const [pod] = await running(system(), app, 1);
    const node = pod?.spec?.nodeName ?? '';
    assert.equal(await poolOfNode(system(), node), gpu(), `${node} is of the gpu pool`);
    assert.ok(names(await system().workersOf(gpu())).includes(node));
    assert.equal((await system().workersOf(system().pool)).length, 0, 'no node in the main pool');
    assert.deepEqual(
      [...new Set(eventsOf(system(), 'ScaleUpDecision', { since: t0 }).map(poolOf))],
      [gpu()],
      'decisions for the gpu pool only',
    );
  });
});

describe('a tainted pool', () => {
  const system = suiteSystem({
    label: 'sched-taints',
    systemLabel: true,
    pool: { min: 0, max: 4 },
    extraPools: [
      {
        suffix: 'batch',
        min: 0,
        max: 4,
        nodeLabels: { dedicated: 'batch' },
        taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }],
      },
    ],
  });
  const batch = () => system().poolName('batch');

  test('a tainted pool is used only by pods that tolerate the taint', async () => {
    // 3000m of 4000m: one plain pod per node.
    const plain = { name: 'plain', cpu: '3000m', ...unpooled(system(), {}) };
    await deploy(system(), { ...plain, replicas: 1 });
    const [first] = await expectChain(system(), ['ScaleUpDecision', 'ScalingActionCompleted'], {
      timeoutMs: 60_000,
    });
    assert.equal(poolOf(first as AnyScalewiseEvent), system().pool);
    const [p1] = await running(system(), 'plain', 1);
    assert.equal(await poolOfNode(system(), p1?.spec?.nodeName ?? ''), system().pool);
    assert.equal(
      (await system().workersOf(batch())).length,
      0,
      'no batch node for a pod without the toleration',
    );

    const t1 = Date.now();
    await deploy(system(), {
      name: 'job',
      replicas: 1,
      cpu: '500m',
      ...unpooled(system(), { dedicated: 'batch' }),
      podSpec: {
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' }],
      },
    });
    const [second] = await expectChain(system(), ['ScaleUpDecision', 'ScalingActionCompleted'], {
      since: t1,
      timeoutMs: 60_000,
    });
    assert.equal(poolOf(second as AnyScalewiseEvent), batch());
    const [job] = await running(system(), 'job', 1);
    const batchNode = job?.spec?.nodeName ?? '';
    assert.equal(await poolOfNode(system(), batchNode), batch());

    // The batch node has 3500m free, enough for another plain pod; its taint must keep it
    // out: the main pool grows instead. One plain pod more than the main nodes (one each):
    // even if the main pool holds more nodes than its pods need, one must find new room.
    const t2 = Date.now();
    const mainNodes = (await system().workersOf(system().pool)).length;
    await scale(system(), 'plain', mainNodes + 1);
    const [third] = await expectChain(system(), ['ScaleUpDecision', 'ScalingActionCompleted'], {
      since: t2,
      timeoutMs: 60_000,
    });
    assert.equal(poolOf(third as AnyScalewiseEvent), system().pool);
    const plainPods = await running(system(), 'plain', mainNodes + 1);
    for (const p of plainPods) {
      assert.equal(
        await poolOfNode(system(), p.spec?.nodeName ?? ''),
        system().pool,
        `${p.metadata?.name} on a main node`,
      );
    }
    // Every batch node holds the tolerating pod only, and the batch pool grew for it alone.
    for (const n of names(await system().workersOf(batch()))) {
      const apps = (
        await system().kube.core.listNamespacedPod({
          namespace: system().namespace,
          fieldSelector: `spec.nodeName=${n}`,
        })
      ).items.map((p) => p.metadata?.labels?.app);
      assert.ok(
        apps.every((a) => a === 'job'),
        `only the tolerating pod on batch node ${n}: ${apps.join(', ')}`,
      );
    }
    const decided = eventsOf(system(), 'ScaleUpDecision');
    const describeAll = decided.map((e) => `${e.time} ${poolOf(e)}`).join('\n');
    assert.ok(
      decided.every(
        (e) => poolOf(e) === system().pool || (poolOf(e) === batch() && Date.parse(e.time) >= t1),
      ),
      `the batch pool grown only after the tolerating pod came; the decisions:\n${describeAll}`,
    );
    assert.ok(
      decided.filter((e) => Date.parse(e.time) >= t2).every((e) => poolOf(e) === system().pool),
      `only the main pool grown for the plain pods; the decisions:\n${describeAll}`,
    );
  });
});

describe('zones', () => {
  const zones = ['zone-a', 'zone-b', 'zone-c'];
  const system = suiteSystem({ label: 'sched-zones', pool: { min: 0, max: 6, zones } });

  test('a pod that needs a zone gets its new node in that zone, not in the next balanced one', async () => {
    // The pool is empty: the balanced rule alone would open its first node in zone-a, the
    // first listed among equals.
    const app = 'in-c';
    await deploy(system(), {
      name: app,
      replicas: 1,
      cpu: '3000m',
      nodeSelector: { [ZONE_LABEL]: 'zone-c' },
    });
    const [decision] = await expectChain(system(), ['ScaleUpDecision', 'ScalingActionCompleted'], {
      timeoutMs: 60_000,
    });
    const d = dataOf(decision, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d.reason, d.count, d.zones], ['pending_pods', 1, ['zone-c']]);
    const [pod] = await running(system(), app, 1);
    const nodes = await system().workers();
    const zoneOf = new Map(nodes.map((n) => [n.metadata?.name ?? '', n.metadata?.labels?.[ZONE_LABEL]]));
    assert.equal(zoneOf.get(pod?.spec?.nodeName ?? ''), 'zone-c', 'the pod on a node in zone-c');
    assert.deepEqual(
      [...new Set(zoneOf.values())],
      ['zone-c'],
      `every node of the pool in zone-c: ${JSON.stringify([...zoneOf])}`,
    );
    // Back to an empty pool for the next test (min 0: the idle node goes).
    await undeploy(system(), app);
    await waitFor(async () => (await system().workers()).length === 0, {
      timeoutMs: 60_000,
      what: 'the pool empty again',
    });
  });

  test('a zone topology spread is respected', async () => {
    const app = 'zonal';
    const t0 = Date.now();
    await deploy(system(), {
      name: app,
      replicas: 3,
      // 3000m of 4000m: one per node.
      cpu: '3000m',
      podSpec: {
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: ZONE_LABEL,
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { app } },
          },
        ],
      },
    });
    const [decision] = await expectChain(system(), ['ScaleUpDecision', 'ScalingActionCompleted'], {
      since: t0,
      timeoutMs: 60_000,
    });
    const d = dataOf(decision, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d.reason, d.count, [...(d.zones ?? [])].sort()], ['pending_pods', 3, zones]);
    const pods = await running(system(), app, 3);
    const nodes = await system().workers();
    const zoneOf = new Map(nodes.map((n) => [n.metadata?.name ?? '', n.metadata?.labels?.[ZONE_LABEL]]));
    assert.deepEqual(
      [...zoneOf.values()].sort(),
      zones,
      `3 nodes in 3 zones: ${JSON.stringify([...zoneOf])}`,
    );
    // The decision's 3 nodes, one in each zone.
    const created = eventsOf(system(), 'NodeCreated', {
      where: (e) => dataOf(e, 'io.scalewise.NodeCreated').action_id === decision?.id,
    }).map((e) => dataOf(e, 'io.scalewise.NodeCreated').node_name);
    assert.deepEqual(
      created.map((n) => zoneOf.get(n)).sort(),
      zones,
      `the decision's nodes, one per zone: ${JSON.stringify([...zoneOf])}`,
    );
    assert.deepEqual(
      pods.map((p) => zoneOf.get(p.spec?.nodeName ?? '')).sort(),
      zones,
      'one pod in each zone',
    );
  });
});

// The pods provider (seed 004) on the real Kafka, Redis, S3 and kube-apiserver with KWOK:
// a trigger's scale-up with a task id makes three worker pods that carry it, Running and Ready
// on a KWOK node, each reported and deleted once it completed; a scale-down deletes the idle
// worker and neither the one at a task nor the one marked busy. Each worker that left is in the
// pool ledger as removed by an action of ours, never lost.
//
// Completion: the native stack's KWOK completes only Job pods (scripts/k8s/kwok-stages.yaml,
// pod-complete selects ownerReferences kind Job), and a worker pod has no owner. So this test
// plays the kubelet for the end of the task: it writes the status the kubelet writes when the
// container exits 0 (phase Succeeded, container terminated) through the pods/status
// subresource of the real API server; node-manager sees it through its watch like any status.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig, type PoolConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, type EventData, shortName } from '@scalewise/events';
import { connectKube, ensureWorker, POOL_LABEL, type V1Pod } from '@scalewise/kube';
import { type Ledger, removedByUs } from '@scalewise/pool';
import { BUSY_ANNOTATION, podsProvider, TASK_LABEL, WORKER_POD_SELECTOR } from '@scalewise/providers';
import { createService, type Service } from '@scalewise/service';
import {
  completePod,
  integrationFixture,
  podsPool,
  poolServiceYaml,
  quiet,
  uniqueName,
  waitFor,
} from '@scalewise/testing';
import { defineNodeManager } from './service.ts';
import { decision as decisionOf } from './test-support/decision.ts';
import { dataOf, drivePool, recordedCount, refusedScaleDown } from './test-support/pool.ts';

const fx = integrationFixture({ kubernetes: true, connect: connectKube, recorder: recordTopics });
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A pods pool, its namespace, a KWOK node its pods run on, topics and groups of the test's own. */
async function setup() {
  const pool = uniqueName('pods');
  const host = `${pool}-host`;
  const yaml = poolServiceYaml(fx.stack, pool, {
    pool: {
      ...podsPool(pool, host, {
        command: ['sh', '-c'],
        args: ['echo working on $TASK_ID; sleep 30'],
        env: { LOG_LEVEL: 'debug' },
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
        labels: { app: 'otto-agent' },
      }),
      action_timeout_seconds: 40,
    },
    logLevel: process.env.NM_DEBUG ? 'debug' : 'warn',
  });
  await fx.namespace(pool, { nodes: `${POOL_LABEL}=${host}`, podsGone: true });
  // The node the worker pods run on: KWOK plays its kubelet (pods on it become Running and Ready).
  await ensureWorker(fx.kube, { name: host, pool: host, cpuMillicores: 16_000, memoryBytes: 32 * 2 ** 30 });
  const { rec, ledger, feed } = await drivePool(fx, yaml, pool);
  const service = await startManager(yaml);
  return {
    pool,
    rec,
    ledger,
    config: loadConfig({ text: yaml, env: {} }).config,
    service,
    yaml,
    feed,
  };
}

async function startManager(yaml: string): Promise<Service> {
  const service = createService(
    defineNodeManager({
      config: loadConfig({ text: yaml, env: {} }),
      fromBeginning: true,
      kube: fx.kube,
      telemetry: { logDestination: process.env.NM_DEBUG ? process.stderr : quiet },
    }),
  );
  return fx.start(service);
}

/** A decision as the decision engine makes it for `io.scalewise.trigger.scale`, with its task id. */
const decision = (
  type: 'io.scalewise.ScaleUpDecision' | 'io.scalewise.ScaleDownDecision',
  pool: string,
  current: number,
  count: number,
  taskId?: string,
) => decisionOf(type, pool, current, count, { taskId });

const workerPods = async (pool: string): Promise<V1Pod[]> =>
  (
    await fx.kube.core.listNamespacedPod({
      namespace: pool,
      labelSelector: `${WORKER_POD_SELECTOR},${POOL_LABEL}=${pool}`,
    })
  ).items;
const podReady = (p: V1Pod) =>
  p.status?.phase === 'Running' &&
  !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** What the kubelet writes when the worker's container exits (0: Succeeded, else Failed). */
const completeTask = (namespace: string, name: string, exitCode = 0) =>
  completePod(fx.admin.core, namespace, name, exitCode);

/** The worker left the pool, removed by the action `actionId` (not lost), as the ledger has it. */
function assertRemovedBy(ledger: Ledger, worker: string, actionId: string): void {
  const m = ledger.members[worker];
  assert.deepEqual([m?.present, m?.lost, removedByUs(ledger, worker)], [false, undefined, actionId], worker);
}

const completed = (rec: { of(t: string): AnyScalewiseEvent[] }) =>
  rec
    .of('io.scalewise.NodeRemoved')
    .filter((e) => (e.data as EventData<'io.scalewise.NodeRemoved'>).reason === 'completed');

describe('pods provider on the real servers', () => {
  test('a trigger with task_id makes three worker pods that carry it, Running; each is cleaned up after it completed', async () => {
    const { pool, rec, feed, config, ledger } = await setup();
    const up = decision('io.scalewise.ScaleUpDecision', pool, 0, 3, 'task-123');
    // Delivered twice: still three workers.
    await feed(up, up);
    await waitFor(() => rec.of('io.scalewise.ScalingActionCompleted').length === 1, {
      timeoutMs: 60_000,
      what: 'the scale-up completed',
    });
    const pods = await workerPods(pool);
    assert.equal(pods.length, 3);
    const poolConfig = config.autoscaler.pools[0] as PoolConfig;
    const listed = await podsProvider({ kube: fx.kube, pools: [poolConfig], log: silent }).list(poolConfig);
    assert.deepEqual(
      listed.map((i) => [i.node, i.id, i.alive]).sort(),
      pods.map((p) => [p.metadata?.name, `pod://${pool}/${p.metadata?.name}`, true]).sort(),
    );
    for (const p of pods) {
      assert.ok(podReady(p), `${p.metadata?.name} Running and Ready`);
      assert.equal(p.metadata?.labels?.[TASK_LABEL], 'task-123');
      assert.equal(p.metadata?.labels?.['managed-by'], 'scalewise');
      assert.equal(p.metadata?.labels?.app, 'otto-agent');
      assert.equal(p.spec?.nodeName, `${pool}-host`);
      const env = p.spec?.containers[0]?.env ?? [];
      assert.equal(env.find((e) => e.name === 'TASK_ID')?.value, 'task-123');
    }
    // The action's events name the pods, say they are pods, and chain as a node scale-up does.
    const chain = rec.events.filter((e) => e.correlationid === up.correlationid);
    const names = pods.map((p) => p.metadata?.name as string).sort();
    for (const type of ['io.scalewise.NodeCreated', 'io.scalewise.NodeReady'] as const) {
      const of = chain.filter((e) => e.type === type);
      assert.deepEqual(of.map((e) => (e.data as { node_name: string }).node_name).sort(), names);
      for (const e of of) assert.equal((e.data as { worker_kind?: string }).worker_kind, 'pod');
    }
    const done = rec.of('io.scalewise.ScalingActionCompleted')[0]
      ?.data as EventData<'io.scalewise.ScalingActionCompleted'>;
    assert.deepEqual([done.action_id, done.previous_workers, done.new_workers], [up.id, 0, 3]);

    // Each task ends in turn (the last one fails); each worker is reported and deleted after it, the others stay.
    for (const [i, name] of names.entries()) {
      await completeTask(pool, name, i === names.length - 1 ? 1 : 0);
      await waitFor(() => completed(rec).length === i + 1, {
        timeoutMs: 30_000,
        what: `${name} reported completed`,
      });
      await waitFor(async () => !(await workerPods(pool)).some((p) => p.metadata?.name === name), {
        timeoutMs: 30_000,
        what: `${name} deleted`,
      });
      const left = (await workerPods(pool)).map((p) => p.metadata?.name).sort();
      assert.deepEqual(left, names.slice(i + 1), 'only the finished worker went');
      // In the ledger before its end was published: gone, by the scale-up that made it.
      assertRemovedBy(await ledger(), name, up.id);
    }
    const ends = completed(rec);
    assert.deepEqual(ends.map((e) => (e.data as { node_name: string }).node_name).sort(), names);
    for (const e of ends) {
      const d = e.data as EventData<'io.scalewise.NodeRemoved'>;
      assert.deepEqual(
        [d.action_id, d.provider, d.worker_kind, d.pod_phase, d.task_id],
        [up.id, 'pods', 'pod', d.node_name === names.at(-1) ? 'Failed' : 'Succeeded', 'task-123'],
      );
      // In the scale-up's chain, caused by the worker's NodeReady.
      assert.equal(e.correlationid, up.correlationid);
      const ready = chain.find(
        (x) =>
          x.type === 'io.scalewise.NodeReady' && (x.data as { node_name: string }).node_name === d.node_name,
      );
      assert.equal(e.causationid, ready?.id);
    }
  });

  test('a ScaleDownDecision deletes the idle worker, never the one at a task nor the one marked busy', async () => {
    const { pool, rec, feed, ledger } = await setup();
    const idle = decision('io.scalewise.ScaleUpDecision', pool, 0, 2);
    await feed(idle);
    await waitFor(() => rec.of('io.scalewise.ScalingActionCompleted').length === 1, {
      timeoutMs: 60_000,
      what: 'two workers without a task',
    });
    const task = decision('io.scalewise.ScaleUpDecision', pool, 2, 1, 'build-42');
    await feed(task);
    await waitFor(() => rec.of('io.scalewise.ScalingActionCompleted').length === 2, {
      timeoutMs: 60_000,
      what: 'one worker at a task',
    });
    const pods = await workerPods(pool);
    assert.equal(pods.length, 3);
    const atTask = pods.find((p) => p.metadata?.labels?.[TASK_LABEL] === 'build-42')?.metadata
      ?.name as string;
    const free = pods.filter((p) => p.metadata?.name !== atTask).map((p) => p.metadata?.name as string);
    // One of the free workers took work of its own and says so.
    const [marked, spare] = free as [string, string];
    await fx.admin.core.patchNamespacedPod({
      name: marked,
      namespace: pool,
      body: [
        { op: 'add', path: `/metadata/annotations/${BUSY_ANNOTATION.replace('/', '~1')}`, value: 'true' },
      ],
    });
    await waitFor(
      async () =>
        (await workerPods(pool)).some(
          (p) => p.metadata?.name === marked && p.metadata.annotations?.[BUSY_ANNOTATION] === 'true',
        ),
      { timeoutMs: 10_000, what: 'the busy mark' },
    );
    // Asked for two: only the spare one may go.
    const down = decision('io.scalewise.ScaleDownDecision', pool, 3, 2);
    // The watch sees the mark within milliseconds; give it a moment before the decision.
    await new Promise((r) => setTimeout(r, 500));
    await feed(down);
    await recordedCount(rec, 'io.scalewise.ScalingActionCompleted', 3, 'the scale-down');
    const [started] = dataOf(rec, 'io.scalewise.ScaleDownStarted');
    assert.deepEqual(started?.nodes, [spare]);
    const chain = rec.events.filter((e) => e.correlationid === down.correlationid);
    assert.deepEqual(chain.map((e) => shortName(e.type)).sort(), [
      'NodeDrained',
      'NodeRemoved',
      'ScaleDownStarted',
      'ScalingActionCompleted',
    ]);
    const removed = chain.find((e) => e.type === 'io.scalewise.NodeRemoved')
      ?.data as EventData<'io.scalewise.NodeRemoved'>;
    assert.deepEqual([removed.node_name, removed.worker_kind], [spare, 'pod']);
    await waitFor(async () => (await workerPods(pool)).length === 2, {
      timeoutMs: 30_000,
      what: 'the idle worker deleted',
    });
    assert.deepEqual(
      (await workerPods(pool)).map((p) => p.metadata?.name).sort(),
      [atTask, marked].sort(),
      'the busy workers stay',
    );
    const after = await ledger();
    assertRemovedBy(after, spare, down.id);
    for (const w of [atTask, marked]) assert.equal(after.members[w]?.present, true, `${w} still a member`);

    // Nothing idle is left: the next scale-down fails and says why.
    const none = decision('io.scalewise.ScaleDownDecision', pool, 2, 1);
    const why = await refusedScaleDown({ rec, feed }, none, 'the refused scale-down', 30_000);
    assert.match(why, /runs task build-42/);
    assert.match(why, /scalewise\.io\/busy/);
    assert.equal((await workerPods(pool)).length, 2);
  });

  test('a worker that finished while node-manager was down is reported and deleted when it is back', async () => {
    const { pool, rec, feed, service, yaml } = await setup();
    const up = decision('io.scalewise.ScaleUpDecision', pool, 0, 1, 'nightly-7');
    await feed(up);
    await waitFor(() => rec.of('io.scalewise.ScalingActionCompleted').length === 1, {
      timeoutMs: 60_000,
      what: 'one worker',
    });
    const [name] = (await workerPods(pool)).map((p) => p.metadata?.name as string);
    assert.ok(name);
    await service.stop();
    await completeTask(pool, name);
    // Nobody watches: the finished pod stays.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await workerPods(pool))[0]?.status?.phase, 'Succeeded');
    assert.equal(completed(rec).length, 0);
    await startManager(yaml);
    await waitFor(() => completed(rec).length === 1, {
      timeoutMs: 30_000,
      what: 'the end reported after the restart',
    });
    await waitFor(async () => (await workerPods(pool)).length === 0, {
      timeoutMs: 30_000,
      what: 'the pod deleted',
    });
    const d = completed(rec)[0]?.data as EventData<'io.scalewise.NodeRemoved'>;
    assert.deepEqual([d.node_name, d.task_id, d.pod_phase], [name, 'nightly-7', 'Succeeded']);
  });
});

// node-manager on the real Kafka, Redis, S3 and kube-apiserver with KWOK: a scale-up that
// makes pending pods run, a scale-down that drains the least utilised node and one that a
// PodDisruptionBudget blocks, a decision delivered twice, and the process SIGKILLed mid
// scale-up and restarted. The events' numbers are the pool ledger's, whose facts node-manager
// writes before it publishes them, and before it touches a node.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, type EventData, type ScalewiseEvent, shortName } from '@scalewise/events';
import {
  type CoreApi,
  connectKube,
  ensureWorker,
  isReady,
  type Kube,
  POOL_LABEL,
  SCALE_DOWN_DISABLED,
  type V1Pod,
} from '@scalewise/kube';
import { type Ledger, listed, removedByUs, workersOf } from '@scalewise/pool';
import { createService } from '@scalewise/service';
import {
  integrationFixture,
  poolServiceYaml,
  poolWebDeployment,
  quiet,
  repositoryRoot,
  testKafka,
  uniqueName,
  waitFor,
} from '@scalewise/testing';
import { defineNodeManager, type NodeManagerService } from './service.ts';
import { decision } from './test-support/decision.ts';
import { dataOf, drivePool, recordedCount, refusedScaleDown } from './test-support/pool.ts';

const fx = integrationFixture({ kubernetes: true, connect: connectKube, recorder: recordTopics });

/** A pool, topics, groups and a namespace of the test's own. */
async function setup() {
  const pool = uniqueName('nm');
  const prefix = `${pool}.`;
  const yaml = poolServiceYaml(fx.stack, pool, {
    pool: {
      provider: 'kwok',
      min: 0,
      max: 10,
      node_size: { cpu_millicores: 2000, memory_mib: 4096 },
      action_timeout_seconds: 40,
    },
    logLevel: process.env.NM_DEBUG ? 'debug' : 'warn',
  });
  await fx.namespace(pool, { nodes: `${POOL_LABEL}=${pool}` });
  const { ledgers, ...driven } = await drivePool(fx, yaml, pool);
  return {
    pool,
    prefix,
    yaml,
    ...driven,
    /** The pool has `count` Ready workers already, listed into the ledger as state-sync lists them. */
    async existing(count: number): Promise<void> {
      const names = Array.from({ length: count }, (_, i) => `${pool}-old-${i + 1}`);
      for (const name of names)
        await ensureWorker(fx.kube, { name, pool, cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30 });
      await waitFor(async () => (await workers(pool)).filter(isReady).length === count, {
        timeoutMs: 30_000,
        what: `${count} workers Ready`,
      });
      await ledgers.apply(pool, 'listing', (l) => ({
        ledger: listed(
          l,
          names.map((name) => ({ name, ready: true })),
          Date.now(),
        ).ledger,
        outputs: [],
      }));
    },
  };
}

async function startManager(yaml: string, client: Kube = fx.kube): Promise<NodeManagerService> {
  const definition = defineNodeManager({
    config: loadConfig({ text: yaml, env: {} }),
    fromBeginning: true,
    kube: client,
    telemetry: { logDestination: process.env.NM_DEBUG ? process.stderr : quiet },
  });
  await fx.start(createService(definition));
  return definition;
}

interface Touch {
  node: string;
  call: 'cordon' | 'delete';
  /** The ledger as read before the call went to the API server. */
  ledger: Ledger;
}

/**
 * The test's API client with its cordons and Node deletions noted, each with the ledger as it
 * was just before: what node-manager, given it, had written before it touched a node.
 */
function touchingKube(ledger: () => Promise<Ledger>): { kube: Kube; touches: Touch[] } {
  const touches: Touch[] = [];
  const core: CoreApi = Object.create(fx.kube.core);
  core.patchNode = async (req, options) => {
    const ops = (Array.isArray(req.body) ? req.body : []) as { path?: string; value?: unknown }[];
    if (ops.some((op) => op.path === '/spec/unschedulable' && op.value === true))
      touches.push({ node: req.name, call: 'cordon', ledger: await ledger() });
    return fx.kube.core.patchNode(req, options);
  };
  core.deleteNode = async (req, options) => {
    touches.push({ node: req.name, call: 'delete', ledger: await ledger() });
    return fx.kube.core.deleteNode(req, options);
  };
  return { kube: { ...fx.kube, core }, touches };
}

const deployment = (pool: string, replicas: number, cpu = '500m') =>
  poolWebDeployment(fx.admin.apps, pool, { replicas, cpu, memory: '128Mi' });
const pods = async (pool: string): Promise<V1Pod[]> =>
  (await fx.kube.core.listNamespacedPod({ namespace: pool })).items;
const workers = async (pool: string) =>
  (await fx.kube.core.listNode({ labelSelector: `${POOL_LABEL}=${pool}` })).items;
async function startGroupAtZero(groupId: string, topic: string): Promise<void> {
  const admin = testKafka(fx.stack).admin();
  await admin.connect();
  try {
    // Just after the topic was created a partition may still be electing its leader: retry.
    await waitFor(
      async () => {
        try {
          const offsets = await admin.fetchTopicOffsets(topic);
          await admin.setOffsets({
            groupId,
            topic,
            partitions: offsets.map((o) => ({ partition: o.partition, offset: '0' })),
          });
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 20_000, what: `offset 0 committed for ${groupId}` },
    );
  } finally {
    await admin.disconnect();
  }
}

const types = (events: AnyScalewiseEvent[]) => events.map((e) => shortName(e.type));

describe('node-manager on the real servers', () => {
  test("ScaleUpDecision for 2 on a pool of 2: two KWOK workers Ready, the pending pods Running, events in order with the ledger's numbers", async () => {
    const { pool, yaml, rec, feed, existing, ledger } = await setup();
    await existing(2);
    // One pod per worker: two run on the pool's workers, two wait for new ones.
    await deployment(pool, 4, '1500m');
    await waitFor(
      async () => {
        const all = await pods(pool);
        return all.length === 4 && all.filter((p) => p.status?.phase === 'Running').length === 2;
      },
      { timeoutMs: 30_000, what: 'two pods Running, two pending' },
    );
    await startManager(yaml);
    // The decision's count of the pool is stale on purpose: the events state the ledger's.
    const d = decision('io.scalewise.ScaleUpDecision', pool, 0, 2);
    await feed(d);
    const chainOf = () => rec.events.filter((e) => e.correlationid === d.correlationid);
    // Topics are read in parallel: the completion may be recorded before the last NodeReady.
    await waitFor(() => chainOf().length === 6, {
      timeoutMs: 60_000,
      what: 'the scale-up completed, all its events recorded',
    });
    const chain = chainOf();
    const order = types(chain);
    assert.deepEqual([...order].sort(), [
      'NodeCreated',
      'NodeCreated',
      'NodeReady',
      'NodeReady',
      'ScaleUpStarted',
      'ScalingActionCompleted',
    ]);
    // The seed's order, by causation (topics are read in parallel, so not by arrival).
    const started = chain.find((e) => e.type === 'io.scalewise.ScaleUpStarted');
    const completed = chain.find((e) => e.type === 'io.scalewise.ScalingActionCompleted');
    assert.equal(started?.causationid, d.id);
    for (const e of chain.filter((x) => x.type === 'io.scalewise.NodeCreated'))
      assert.equal(e.causationid, started?.id);
    assert.ok(chain.some((e) => e.type === 'io.scalewise.NodeReady' && e.id === completed?.causationid));
    for (const e of chain)
      assert.ok(
        Date.parse(e.time) <= Date.parse(completed?.time ?? ''),
        `${e.type} not after the completion`,
      );
    for (const e of chain.filter((x) => x.type === 'io.scalewise.NodeReady')) {
      const created = chain.find((x) => x.type === 'io.scalewise.NodeCreated' && x.id === e.causationid);
      assert.ok(created, 'each NodeReady is caused by its NodeCreated');
      assert.ok((e.data as { ready_after: number }).ready_after >= 0);
    }
    const start = started?.data as EventData<'io.scalewise.ScaleUpStarted'>;
    assert.deepEqual([start.previous_workers, start.target_workers], [2, 4]);
    const done = completed?.data as EventData<'io.scalewise.ScalingActionCompleted'>;
    assert.deepEqual([done.action_id, done.previous_workers, done.new_workers], [d.id, 2, 4]);
    assert.ok(done.duration >= 0);
    // The pool as the API server has it, and as the ledger has it.
    assert.equal((await workers(pool)).filter(isReady).length, 4);
    assert.equal(workersOf(await ledger()), 4);
    await waitFor(async () => (await pods(pool)).filter((p) => p.status?.phase === 'Running').length === 4, {
      timeoutMs: 60_000,
      what: 'the pending pods Running on the new workers',
    });
  });

  test('ScaleDownDecision: the least utilised worker is drained and removed, never a disabled one; a PDB with maxUnavailable 0 refuses the next one before any cordon', async () => {
    const { pool, yaml, rec, feed, ledger } = await setup();
    const touching = touchingKube(ledger);
    await startManager(yaml, touching.kube);
    const up = decision('io.scalewise.ScaleUpDecision', pool, 0, 3);
    await feed(up);
    await waitFor(() => rec.of('io.scalewise.ScalingActionCompleted').length === 1, {
      timeoutMs: 60_000,
      what: 'three workers',
    });
    const names = (await workers(pool)).map((n) => n.metadata?.name as string).sort();
    // One worker may never go, even empty and cordoned (the most attractive victim otherwise);
    // the two pods fill the others, so the worker left after the first scale-down carries them.
    await fx.kube.core.patchNode({
      name: names[0] as string,
      body: [
        { op: 'add', path: `/metadata/annotations/${SCALE_DOWN_DISABLED.replace('/', '~1')}`, value: 'true' },
        { op: 'add', path: '/spec/unschedulable', value: true },
      ],
    });
    await deployment(pool, 2, '900m');
    await waitFor(async () => (await pods(pool)).filter((p) => p.status?.phase === 'Running').length === 2, {
      timeoutMs: 60_000,
      what: 'two pods Running',
    });
    const busyPods = await pods(pool);
    const down = decision('io.scalewise.ScaleDownDecision', pool, 3, 1);
    await feed(down);
    await recordedCount(rec, 'io.scalewise.ScalingActionCompleted', 2, 'the scale-down');
    const [started] = dataOf(rec, 'io.scalewise.ScaleDownStarted');
    const victim = started?.nodes[0] as string;
    assert.notEqual(victim, names[0], 'never the disabled worker');
    const podsOnNode = (n: string) => busyPods.filter((p) => p.spec?.nodeName === n).length;
    const other = names.find((n) => n !== names[0] && n !== victim) as string;
    assert.ok(podsOnNode(victim) <= podsOnNode(other), 'the least utilised of the workers that may go');
    // The nodes and actions topics are recorded side by side: NodeRemoved may come after the
    // completion.
    const chain = await waitFor(
      () => {
        const c = rec.events.filter((e) => e.correlationid === down.correlationid);
        return c.length >= 4 ? c : undefined;
      },
      { timeoutMs: 10_000, what: 'the scale-down chain of four events' },
    );
    assert.deepEqual(types(chain).sort(), [
      'NodeDrained',
      'NodeRemoved',
      'ScaleDownStarted',
      'ScalingActionCompleted',
    ]);
    const byType = new Map(chain.map((e) => [shortName(e.type), e]));
    assert.equal(byType.get('ScaleDownStarted')?.causationid, down.id);
    assert.equal(byType.get('NodeDrained')?.causationid, byType.get('ScaleDownStarted')?.id);
    assert.equal(byType.get('NodeRemoved')?.causationid, byType.get('NodeDrained')?.id);
    assert.equal(byType.get('ScalingActionCompleted')?.causationid, byType.get('NodeRemoved')?.id);
    assert.equal((await workers(pool)).length, 2);
    // The victim was in the ledger as this action's before node-manager first touched it (its
    // cordon) and when it deleted it: its departure is never taken for a loss.
    const [cordon, deletion] = touching.touches;
    assert.deepEqual(
      touching.touches.map((t) => [t.call, t.node]),
      [
        ['cordon', victim],
        ['delete', victim],
      ],
    );
    for (const t of [cordon, deletion]) assert.equal(removedByUs(t?.ledger as Ledger, victim), down.id);
    assert.equal(cordon?.ledger.members[victim]?.present, true, 'its removal not yet recorded at the cordon');
    const after = await ledger();
    assert.deepEqual(
      [after.members[victim]?.present, after.members[victim]?.lost, removedByUs(after, victim)],
      [false, undefined, down.id],
    );

    // Now every pod is under a budget that allows no disruption.
    await fx.admin.policy.createNamespacedPodDisruptionBudget({
      namespace: pool,
      body: {
        metadata: { name: 'web-pdb' },
        spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'web' } } },
      },
    });
    await waitFor(
      async () =>
        (await fx.admin.policy.readNamespacedPodDisruptionBudget({ name: 'web-pdb', namespace: pool })).status
          ?.expectedPods === 2,
      { timeoutMs: 30_000, what: 'the budget observed' },
    );
    // The only worker left to choose carries the pods (the other is disabled).
    // The re-check on the cluster as it is now (the scheduling simulation's removal pass) finds
    // the budget before anything is cordoned: the node is refused, named with its pod and PDB.
    const blocked = decision('io.scalewise.ScaleDownDecision', pool, 2, 1);
    const why = await refusedScaleDown({ rec, feed }, blocked, 'the blocked scale-down reported', 120_000);
    assert.match(why, new RegExp(`${pool}/web-pdb`));
    assert.match(why, /re-checked on the cluster as it is now/);
    const kept = (await workers(pool)).find((n) => n.metadata?.name !== names[0]);
    assert.notEqual(
      (await fx.kube.core.readNode({ name: kept?.metadata?.name as string })).spec?.unschedulable,
      true,
      'never cordoned',
    );
    assert.equal(rec.of('io.scalewise.NodeDrained').length, 1, 'only the first scale-down drained a node');
    assert.equal(touching.touches.length, 2, 'no node touched since');
  });

  test('a decision delivered twice, and node-manager SIGKILLed mid scale-up and restarted: exactly the target', async (t) => {
    const { pool, yaml, rec, feed, existing, ledger } = await setup();
    await existing(0);
    const dir = mkdtempSync(join(tmpdir(), 'nm-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, yaml);
    const main = join(repositoryRoot(), 'services', 'node-manager', 'src', 'main.ts');
    const spawnManager = (): ChildProcess => {
      const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', main], {
        env: { ...process.env, SCALEWISE_CONFIG: file },
        stdio: ['ignore', 'ignore', process.env.NM_DEBUG ? 'inherit' : 'ignore'],
      });
      fx.defer(async () => child.kill('SIGKILL'));
      return child;
    };
    // The child's consumer group is new: commit offset 0 for it so it reads what is already
    // on the topic (a new group would otherwise start at the end, racing this publish).
    await startGroupAtZero(`${pool}.node-manager`, `${pool}.decisions`);
    const d = decision('io.scalewise.ScaleUpDecision', pool, 0, 3);
    await feed(d, d);
    const first = spawnManager();
    await waitFor(() => rec.of('io.scalewise.ScaleUpStarted').length >= 1, {
      timeoutMs: 60_000,
      what: 'the scale-up started',
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    spawnManager();
    await waitFor(() => rec.of('io.scalewise.ScalingActionCompleted').length >= 1, {
      timeoutMs: 90_000,
      what: 'the scale-up completed after the restart',
    });
    await new Promise((r) => setTimeout(r, 2000));
    const listed = (await workers(pool)).map((n) => n.metadata?.name);
    const named = (type: string) =>
      rec.of(type as 'io.scalewise.NodeCreated').map((e) => (e.data as { node_name: string }).node_name);
    assert.equal(
      listed.length,
      3,
      `exactly the target, nothing created twice: listed [${listed.join(', ')}], NodeCreated [${named('io.scalewise.NodeCreated').join(', ')}], NodeReady [${named('io.scalewise.NodeReady').join(', ')}]`,
    );
    assert.equal(
      new Set(rec.of('io.scalewise.NodeCreated').map((e) => (e.data as { node_name: string }).node_name))
        .size,
      3,
    );
    const done = rec.of('io.scalewise.ScalingActionCompleted').map((e) => e.id);
    assert.equal(new Set(done).size, 1, 'one completion (copies share its id)');
    // Every copy of the start states the same numbers, and the ledger counted each worker once.
    const starts = rec.of('io.scalewise.ScaleUpStarted').map((e) => JSON.stringify([e.id, e.data]));
    assert.equal(new Set(starts).size, 1, `one start: ${starts.join(' ')}`);
    const completion = rec.of('io.scalewise.ScalingActionCompleted')[0]
      ?.data as EventData<'io.scalewise.ScalingActionCompleted'>;
    assert.deepEqual([completion.previous_workers, completion.new_workers], [0, 3]);
    assert.equal(workersOf(await ledger()), 3);
  });

  test('a decision handled again gives back the start it gave, numbers included, though the ledger moved on, and starts nothing', async () => {
    const { pool, yaml, rec, feed, existing, ledger } = await setup();
    await existing(1);
    const nm = await startManager(yaml);
    const d = decision('io.scalewise.ScaleUpDecision', pool, 0, 1);
    await feed(d);
    await waitFor(
      () =>
        rec.of('io.scalewise.ScaleUpStarted').length === 1 &&
        rec.of('io.scalewise.ScalingActionCompleted').length === 1,
      { timeoutMs: 60_000, what: 'the scale-up started and completed' },
    );
    const started = rec.of('io.scalewise.ScaleUpStarted')[0] as AnyScalewiseEvent;
    const stated = started.data as EventData<'io.scalewise.ScaleUpStarted'>;
    assert.deepEqual([stated.previous_workers, stated.target_workers], [1, 2]);
    assert.equal(workersOf(await ledger()), 2);
    // As a redelivery that got past the bus's processed-events check (a crash before the commit).
    const handle = nm.manager()?.handlers['io.scalewise.ScaleUpDecision'];
    const again = await handle?.(d as ScalewiseEvent<'io.scalewise.ScaleUpDecision'>, {
      topic: `${pool}.decisions`,
      partition: 0,
      offset: '0',
      attempt: 1,
      heartbeat: async () => undefined,
    });
    assert.deepEqual(
      (again ?? []).map((e) => [e.id, e.data]),
      [[started.id, started.data]],
    );
    assert.deepEqual(await nm.manager()?.running(), []);
    assert.equal((await workers(pool)).length, 2, 'nothing created again');
  });
});

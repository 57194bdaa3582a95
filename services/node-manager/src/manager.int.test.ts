// node-manager on the real Kafka, Redis, S3 and kube-apiserver with KWOK: a scale-up that
// makes pending pods run, a scale-down that drains the least utilised node and one that a
// PodDisruptionBudget blocks, a decision delivered twice, and the process SIGKILLed mid
// scale-up and restarted.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, createEvent, type EventData, sampleData } from '@scalewise/events';
import { connectKube, isReady, type Kube, POOL_LABEL, SCALE_DOWN_DISABLED } from '@scalewise/kube';
import { createService, type Service } from '@scalewise/service';
import {
  getStack,
  repositoryRoot,
  type StackEndpoints,
  serversYaml,
  testKafka,
  uniqueName,
  waitFor,
} from '@scalewise/testing';
import { defineNodeManager } from './service.ts';

const quiet = new Writable({ write: (_c, _e, done) => done() });
let stack: StackEndpoints;
let kube: Kube;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  stack = await getStack({ kubernetes: true });
  assert.ok(stack.kubernetes);
  kube = connectKube({ kubeconfig: stack.kubernetes.kubeconfig });
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** A pool, topics, groups and a namespace of the test's own. */
async function setup() {
  const pool = uniqueName('nm')
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  const prefix = `${pool}.`;
  const yaml = `
cluster_id: ${pool}
autoscaler:
  pools:
    - name: ${pool}
      provider: kwok
      min: 0
      max: 10
      node_size: { cpu_millicores: 2000, memory_mib: 4096 }
      action_timeout_seconds: 40
events: { topic_prefix: "${prefix}", group_prefix: "${prefix}", partitions: 3 }
${serversYaml(stack)}
telemetry: { log_level: ${process.env.NM_DEBUG ? 'debug' : 'warn'} }
shutdown_timeout_seconds: 10
`;
  await kube.core.createNamespace({ body: { metadata: { name: pool } } });
  cleanups.push(async () => {
    await kube.core.deleteNamespace({ name: pool }).catch(() => undefined);
    await kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${pool}` }).catch(() => undefined);
  });
  await waitFor(
    async () => (await kube.core.listNamespacedServiceAccount({ namespace: pool })).items.length > 0,
    {
      timeoutMs: 30_000,
      what: 'the default ServiceAccount',
    },
  );
  // A publisher of the test's own (it also creates the topics), then the recorder.
  const feeder = await createService({
    name: 'test-feeder',
    config: loadConfig({ text: yaml, env: {} }),
    telemetry: { logDestination: quiet },
  });
  await feeder.start();
  cleanups.push(() => feeder.stop());
  const rec = await recordTopics(
    stack.kafka.brokers,
    [`${prefix}nodes`, `${prefix}actions`],
    uniqueName('rec'),
  );
  cleanups.push(() => rec.stop());
  return { pool, prefix, yaml, rec, feed: (...e: AnyScalewiseEvent[]) => feeder.bus.publisher.publish(...e) };
}

async function startManager(yaml: string): Promise<Service> {
  const service = await createService(
    defineNodeManager({
      config: loadConfig({ text: yaml, env: {} }),
      fromBeginning: true,
      kube,
      telemetry: { logDestination: process.env.NM_DEBUG ? process.stderr : quiet },
    }),
  );
  cleanups.push(() => service.stop());
  await service.start();
  return service;
}

const decision = (
  type: 'io.scalewise.ScaleUpDecision' | 'io.scalewise.ScaleDownDecision',
  pool: string,
  current: number,
  count: number,
) =>
  createEvent(
    type,
    {
      ...(sampleData[type] as object),
      pool,
      current_workers: current,
      desired_workers: type === 'io.scalewise.ScaleUpDecision' ? current + count : current - count,
      count,
    } as EventData<typeof type>,
    { source: '/scalewise/test/decision-engine', clusterid: pool },
  ) as AnyScalewiseEvent;

async function deployment(pool: string, replicas: number, cpu = '500m') {
  await kube.apps.createNamespacedDeployment({
    namespace: pool,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            nodeSelector: { [POOL_LABEL]: pool },
            containers: [{ name: 'web', image: 'web', resources: { requests: { cpu, memory: '128Mi' } } }],
          },
        },
      },
    },
  });
}
const pods = async (pool: string): Promise<V1Pod[]> =>
  (await kube.core.listNamespacedPod({ namespace: pool })).items;
const workers = async (pool: string) =>
  (await kube.core.listNode({ labelSelector: `${POOL_LABEL}=${pool}` })).items;
async function startGroupAtZero(groupId: string, topic: string): Promise<void> {
  const admin = testKafka(stack).admin();
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

const types = (events: AnyScalewiseEvent[]) => events.map((e) => e.type.replace('io.scalewise.', ''));

describe('node-manager on the real servers', () => {
  test('ScaleUpDecision for 2: two KWOK workers Ready, the pending pods Running, events in order with durations', async () => {
    const { pool, yaml, rec, feed } = await setup();
    await deployment(pool, 4);
    await waitFor(async () => (await pods(pool)).length === 4, {
      timeoutMs: 30_000,
      what: 'four pending pods',
    });
    await startManager(yaml);
    const d = decision('io.scalewise.ScaleUpDecision', pool, 0, 2);
    await feed(d);
    await waitFor(() => rec.of('io.scalewise.ScalingActionCompleted').length === 1, {
      timeoutMs: 60_000,
      what: 'the scale-up completed',
    });
    const chain = rec.events.filter((e) => e.correlationid === d.correlationid);
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
    const done = rec.of('io.scalewise.ScalingActionCompleted')[0]
      ?.data as EventData<'io.scalewise.ScalingActionCompleted'>;
    assert.deepEqual([done.action_id, done.previous_workers, done.new_workers], [d.id, 0, 2]);
    assert.ok(done.duration >= 0);
    assert.equal((await workers(pool)).filter(isReady).length, 2);
    await waitFor(async () => (await pods(pool)).filter((p) => p.status?.phase === 'Running').length === 4, {
      timeoutMs: 60_000,
      what: 'the pending pods Running on the new workers',
    });
  });

  test('ScaleDownDecision: the least utilised worker is drained and removed, never a disabled one; a PDB with maxUnavailable 0 refuses the next one before any cordon', async () => {
    const { pool, yaml, rec, feed } = await setup();
    await startManager(yaml);
    const up = decision('io.scalewise.ScaleUpDecision', pool, 0, 3);
    await feed(up);
    await waitFor(() => rec.of('io.scalewise.ScalingActionCompleted').length === 1, {
      timeoutMs: 60_000,
      what: 'three workers',
    });
    const names = (await workers(pool)).map((n) => n.metadata?.name as string).sort();
    // One worker may never go, even empty and cordoned (the most attractive victim otherwise);
    // the two pods fill the others, so the worker left after the first scale-down carries them.
    await kube.core.patchNode({
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
    await waitFor(() => rec.of('io.scalewise.ScalingActionCompleted').length === 2, {
      timeoutMs: 60_000,
      what: 'the scale-down',
    });
    const started = rec.of('io.scalewise.ScaleDownStarted')[0]
      ?.data as EventData<'io.scalewise.ScaleDownStarted'>;
    const victim = started.nodes[0] as string;
    assert.notEqual(victim, names[0], 'never the disabled worker');
    const podsOnNode = (n: string) => busyPods.filter((p) => p.spec?.nodeName === n).length;
    const other = names.find((n) => n !== names[0] && n !== victim) as string;
    assert.ok(podsOnNode(victim) <= podsOnNode(other), 'the least utilised of the workers that may go');
    const chain = rec.events.filter((e) => e.correlationid === down.correlationid);
    assert.deepEqual(types(chain).sort(), [
      'NodeDrained',
      'NodeRemoved',
      'ScaleDownStarted',
      'ScalingActionCompleted',
    ]);
    const byType = new Map(chain.map((e) => [e.type.replace('io.scalewise.', ''), e]));
    assert.equal(byType.get('ScaleDownStarted')?.causationid, down.id);
    assert.equal(byType.get('NodeDrained')?.causationid, byType.get('ScaleDownStarted')?.id);
    assert.equal(byType.get('NodeRemoved')?.causationid, byType.get('NodeDrained')?.id);
    assert.equal(byType.get('ScalingActionCompleted')?.causationid, byType.get('NodeRemoved')?.id);
    assert.equal((await workers(pool)).length, 2);

    // Now every pod is under a budget that allows no disruption.
    await kube.policy.createNamespacedPodDisruptionBudget({
      namespace: pool,
      body: {
        metadata: { name: 'web-pdb' },
        spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'web' } } },
      },
    });
    await waitFor(
      async () =>
        (await kube.policy.readNamespacedPodDisruptionBudget({ name: 'web-pdb', namespace: pool })).status
          ?.expectedPods === 2,
      { timeoutMs: 30_000, what: 'the budget observed' },
    );
    // The only worker left to choose carries the pods (the other is disabled).
    const blocked = decision('io.scalewise.ScaleDownDecision', pool, 2, 1);
    await feed(blocked);
    await waitFor(() => rec.of('io.scalewise.ScalingActionFailed').length === 1, {
      timeoutMs: 120_000,
      what: 'the blocked scale-down reported',
    });
    const f = rec.of('io.scalewise.ScalingActionFailed')[0]
      ?.data as EventData<'io.scalewise.ScalingActionFailed'>;
    // The re-check on the cluster as it is now (the scheduling simulation's removal pass) finds
    // the budget before anything is cordoned: the node is refused, named with its pod and PDB.
    assert.equal(f.error_code, 'NO_ELIGIBLE_NODES');
    assert.match(f.message, new RegExp(`${pool}/web-pdb`));
    assert.match(f.message, /re-checked on the cluster as it is now/);
    const kept = (await workers(pool)).find((n) => n.metadata?.name !== names[0]);
    assert.notEqual(
      (await kube.core.readNode({ name: kept?.metadata?.name as string })).spec?.unschedulable,
      true,
      'never cordoned',
    );
    assert.equal(rec.of('io.scalewise.NodeDrained').length, 1, 'only the first scale-down drained a node');
  });

  test('a decision delivered twice, and node-manager SIGKILLed mid scale-up and restarted: exactly the target', async (t) => {
    const { pool, yaml, rec, feed } = await setup();
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
      cleanups.push(async () => child.kill('SIGKILL'));
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
  });
});

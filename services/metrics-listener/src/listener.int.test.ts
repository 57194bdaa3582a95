// metrics-listener on the real kube-apiserver, scheduler and KWOK, Kafka, Redis and S3:
// pods that cannot be placed become PendingPodsDetected naming their Deployment, a full
// worker ResourcePressureAlert, an idle pool UnderutilizationWarning only after the
// configured consecutive samples.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig } from '@scalewise/config';
import type { EventData } from '@scalewise/events';
import {
  connectKube,
  ensureNode,
  kwokNodeManifest,
  MANAGED_BY,
  POOL_LABEL,
  WORKER_KIND_LABEL,
} from '@scalewise/kube';
import { createService } from '@scalewise/service';
import {
  integrationFixture,
  podsPool,
  poolServiceYaml,
  poolWebDeployment,
  quiet,
  serviceYaml,
  uniqueName,
  waitFor,
} from '@scalewise/testing';
import { leaseName } from './app.ts';
import { defineMetricsListener } from './service.ts';
import { recordedData, startListener } from './test-support/listener.ts';

const fx = integrationFixture({ kubernetes: true, connect: connectKube, recorder: recordTopics });

async function setup(
  workers: number,
  sensing = '{ sample_interval_seconds: 1, underutilized_periods: 3 }',
  beforeStart?: (pool: string) => Promise<void>,
) {
  const pool = uniqueName('ml');
  const prefix = `${pool}.`;
  await fx.namespace(pool, { nodes: `${POOL_LABEL}=${pool}` });
  for (let i = 1; i <= workers; i++) {
    await ensureNode(
      fx.kube,
      kwokNodeManifest({ name: `${pool}-${i}`, pool, cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30 }),
    );
  }
  const text = serviceYaml(fx.stack, {
    clusterId: pool,
    prefix,
    autoscaler: `  pools: [{ name: ${pool}, min: 1, max: 6, node_size: { cpu_millicores: 2000, memory_mib: 4096 } }]
  sensing: ${sensing}`,
  });
  await beforeStart?.(pool);
  const { service, rec } = await startListener(fx, text, prefix, ['metrics', 'signals', 'nodes']);
  return { pool, rec, service };
}

/** Pods of the namespace the scheduler has marked unschedulable. */
async function unschedulablePods(namespace: string): Promise<number> {
  return (await fx.kube.core.listNamespacedPod({ namespace })).items.filter((p) =>
    p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'),
  ).length;
}

const deployment = (pool: string, replicas: number, cpu: string) =>
  poolWebDeployment(fx.admin.apps, pool, { replicas, cpu, memory: '256Mi' });

describe('metrics-listener on the real servers', () => {
  test('a full worker: PendingPodsDetected naming the Deployment, ResourcePressureAlert on CPU, PoolMetricsObserved', async () => {
    const { pool, rec } = await setup(1);
    // 900m each on a 2000m worker: two fit (90 % CPU), the third waits.
    await deployment(pool, 3, '900m');
    await waitFor(() => rec.of('io.scalewise.PendingPodsDetected').length >= 1, {
      timeoutMs: 60_000,
      what: 'PendingPodsDetected',
    });
    const p = rec.of('io.scalewise.PendingPodsDetected').at(-1)
      ?.data as EventData<'io.scalewise.PendingPodsDetected'>;
    assert.equal(p.pool, pool);
    assert.equal(p.pending_count, 1);
    assert.deepEqual(p.affected_deployments, [`${pool}/web`]);
    assert.equal(p.requested_cpu_millicores, 900);
    await waitFor(() => rec.of('io.scalewise.ResourcePressureAlert').length >= 1, {
      timeoutMs: 30_000,
      what: 'ResourcePressureAlert',
    });
    const a = rec.of('io.scalewise.ResourcePressureAlert').at(-1)
      ?.data as EventData<'io.scalewise.ResourcePressureAlert'>;
    assert.deepEqual([a.resource, a.cpu_avg, a.workers], ['cpu', 90, 1]);
    // PoolMetricsObserved goes to its own topic: it may arrive after the alert of its round.
    const observed = () =>
      recordedData(rec, 'io.scalewise.PoolMetricsObserved').filter((d) => d.pending_pods === 1);
    await waitFor(() => observed().length >= 1, {
      timeoutMs: 30_000,
      what: 'PoolMetricsObserved with the pending pod',
    });
    const m = observed().at(-1)!;
    assert.deepEqual([m.workers, m.ready_workers, m.pending_pods, m.source], [1, 1, 1, 'requests']);
  });

  test('a pod turning unschedulable is reported from the watch, without a sampling round; more pods later, all that wait', async () => {
    // No round in the test's time but the one at start: whatever is reported comes from the watch.
    const { pool, rec } = await setup(1, '{ sample_interval_seconds: 600 }');
    await deployment(pool, 3, '900m');
    const pending = () => recordedData(rec, 'io.scalewise.PendingPodsDetected');
    await waitFor(() => pending().length >= 1, {
      timeoutMs: 60_000,
      what: 'PendingPodsDetected from the watch',
    });
    const first = pending()[0];
    assert.equal(first?.pool, pool);
    assert.equal(first?.pending_count, 1);
    assert.deepEqual(first?.affected_deployments, [`${pool}/web`]);
    await fx.admin.apps.patchNamespacedDeploymentScale({
      name: 'web',
      namespace: pool,
      body: [{ op: 'replace', path: '/spec/replicas', value: 5 }],
    });
    await waitFor(() => pending().some((p) => p.pending_count === 3), {
      timeoutMs: 60_000,
      what: 'PendingPodsDetected with the three pods then waiting',
    });
    assert.equal(
      rec.of('io.scalewise.PoolMetricsObserved').length,
      1,
      'no sampling round ran but the one at start',
    );
    const atStart = rec.of('io.scalewise.PoolMetricsObserved')[0]?.data as
      | EventData<'io.scalewise.PoolMetricsObserved'>
      | undefined;
    assert.equal(atStart?.pending_pods, 0, 'the round at start saw none');
  });

  test('pods already waiting when it starts are reported by a round at start, not one interval later', async () => {
    const { pool, rec } = await setup(1, '{ sample_interval_seconds: 600 }', async (p) => {
      await deployment(p, 3, '900m');
      await waitFor(async () => (await unschedulablePods(p)) > 0, {
        timeoutMs: 60_000,
        what: 'a pod marked unschedulable before the start',
      });
    });
    await waitFor(() => rec.of('io.scalewise.PendingPodsDetected').length >= 1, {
      timeoutMs: 60_000,
      what: 'PendingPodsDetected from the round at start',
    });
    const p = rec.of('io.scalewise.PendingPodsDetected')[0]?.data as
      | EventData<'io.scalewise.PendingPodsDetected'>
      | undefined;
    assert.deepEqual([p?.pool, p?.pending_count], [pool, 1]);
  });

  test('react_to_pending_pods false: an unschedulable pod waits for the round', async () => {
    const { pool, rec } = await setup(1, '{ sample_interval_seconds: 600, react_to_pending_pods: false }');
    // The first round runs once this replica holds the Lease, which may take a moment on a
    // fresh stack: the pods must come after it, or that round reports them (CI saw it once).
    await waitFor(() => rec.of('io.scalewise.PoolMetricsObserved').length > 0, {
      timeoutMs: 30_000,
      what: 'the first sampling round',
    });
    await deployment(pool, 3, '900m');
    // The scheduler has marked the third pod unschedulable; the watch has seen it by a margin.
    await waitFor(async () => (await unschedulablePods(pool)) > 0, {
      timeoutMs: 60_000,
      what: 'a pod marked unschedulable',
    });
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(rec.of('io.scalewise.PendingPodsDetected').length, 0);
  });

  test('an idle pool above its minimum: UnderutilizationWarning only from the third consecutive sample', async () => {
    const { pool, rec } = await setup(3);
    await waitFor(() => rec.of('io.scalewise.UnderutilizationWarning').length >= 1, {
      timeoutMs: 60_000,
      what: 'UnderutilizationWarning',
    });
    const first = rec.of('io.scalewise.UnderutilizationWarning')[0];
    const w = first?.data as EventData<'io.scalewise.UnderutilizationWarning'>;
    assert.equal(w.pool, pool);
    assert.equal(w.periods, 3);
    assert.ok(w.duration >= 1.5, `held for its samples (${w.duration} s)`);
    const before = rec
      .of('io.scalewise.PoolMetricsObserved')
      .filter((e) => Date.parse(e.time) < Date.parse(first?.time ?? ''));
    assert.ok(before.length >= 2, 'two samples came first without a warning');
  });
});

describe('metrics-listener with a pods pool on the real servers', () => {
  test('worker pods are its workers (Running ones ready), worker_kind pod; no utilisation signals, no node health', async () => {
    const pool = uniqueName('mp');
    const host = `${pool}-host`;
    const prefix = `${pool}.`;
    await fx.namespace(pool, { nodes: `${POOL_LABEL}=${host}`, podsGone: true });
    // The node the worker pods run on, in a pool of its own: KWOK makes its pods Running.
    await ensureNode(
      fx.kube,
      kwokNodeManifest({ name: host, pool: host, cpuMillicores: 16_000, memoryBytes: 32 * 2 ** 30 }),
    );
    // Worker pods as node-manager's pods provider labels them, and a pod of the namespace that is not one.
    const pod = (name: string, labels: Record<string, string>) =>
      fx.kube.core.createNamespacedPod({
        namespace: pool,
        body: {
          metadata: { name, labels },
          spec: {
            nodeSelector: { 'kubernetes.io/hostname': host },
            containers: [{ name: 'w', image: 'busybox:1.36', resources: { requests: { cpu: '100m' } } }],
          },
        },
      });
    const workerLabels = { [MANAGED_BY]: 'scalewise', [WORKER_KIND_LABEL]: 'pod', [POOL_LABEL]: pool };
    for (const i of [1, 2, 3]) await pod(`${pool}-w${i}`, workerLabels);
    await pod(`${pool}-other`, { app: 'other', [POOL_LABEL]: pool });
    const text = poolServiceYaml(fx.stack, pool, {
      pool: podsPool(pool),
      autoscaler: { sensing: { sample_interval_seconds: 1, underutilized_periods: 2 } },
    });
    const { rec } = await startListener(fx, text, prefix, ['metrics', 'signals', 'nodes']);
    const observed = () => recordedData(rec, 'io.scalewise.PoolMetricsObserved');
    await waitFor(() => observed().some((m) => m.ready_workers === 3), {
      timeoutMs: 60_000,
      what: 'three Running worker pods observed',
    });
    const m = observed().find((x) => x.ready_workers === 3);
    assert.deepEqual(
      [m?.pool, m?.workers, m?.cpu_avg, m?.memory_avg, m?.worker_kind],
      [pool, 3, 0, 0, 'pod'],
    );
    await fx.kube.core.deleteNamespacedPod({
      name: `${pool}-w3`,
      namespace: pool,
      body: { gracePeriodSeconds: 0 },
    });
    const seen = observed().length;
    await waitFor(
      () =>
        observed()
          .slice(seen)
          .some((x) => x.workers === 2),
      {
        timeoutMs: 30_000,
        what: 'two workers once one is deleted',
      },
    );
    // Idle by CPU (0) for far more samples than underutilized_periods, above its minimum: nothing.
    await waitFor(() => observed().length >= seen + 4, { timeoutMs: 30_000, what: 'four more samples' });
    assert.deepEqual(
      rec.events.map((e) => e.type).filter((t) => t !== 'io.scalewise.PoolMetricsObserved'),
      [],
      'no UnderutilizationWarning, ResourcePressureAlert or NodeHealthDegraded for worker pods',
    );
  });
});

describe('metrics-listener replicas on the real servers', () => {
  test('two replicas elect one sampler on a Lease; when it stops, the other takes over', async () => {
    const pool = uniqueName('me');
    const prefix = `${pool}.`;
    await ensureNode(
      fx.kube,
      kwokNodeManifest({ name: `${pool}-1`, pool, cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30 }),
    );
    fx.defer(() => fx.kube.core.deleteNode({ name: `${pool}-1` }).catch(() => undefined));
    const text = serviceYaml(fx.stack, {
      clusterId: pool,
      prefix,
      autoscaler: `  pools: [{ name: ${pool}, min: 1, max: 6 }]
  sensing:
    sample_interval_seconds: 1
    leader_election: { lease_seconds: 3, renew_seconds: 1 }`,
    });
    const replica = async () => {
      const def = defineMetricsListener({
        config: loadConfig({ text, env: {} }),
        kube: fx.kube,
        telemetry: { logDestination: quiet },
      });
      const service = await fx.start(createService(def));
      return { service, listener: () => def.listener() as NonNullable<ReturnType<typeof def.listener>> };
    };
    const a = await replica();
    const b = await replica();
    const rec = await fx.record([`${prefix}metrics`]);

    await waitFor(() => [a, b].filter((r) => r.listener().isLeader()).length === 1, {
      timeoutMs: 30_000,
      what: 'one leader of two',
    });
    const [leader, follower] = a.listener().isLeader() ? [a, b] : [b, a];
    assert.deepEqual(await follower.listener().sample(), [], 'the follower samples nothing');
    assert.ok((await leader.listener().sample()).length > 0, 'the leader samples');
    const lease = await fx.kube.coordination.readNamespacedLease({
      name: leaseName(pool),
      namespace: 'default',
    });
    assert.ok(lease.spec?.holderIdentity, 'the Lease names its holder');
    // Written as MicroTimes, which the API server takes only with six fractional digits.
    assert.match(lease.spec?.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(Math.abs(Date.parse(lease.spec?.renewTime ?? '') - Date.now()) < 60_000, 'renewed just now');
    fx.defer(() =>
      fx.admin.coordination
        .deleteNamespacedLease({ name: leaseName(pool), namespace: 'default' })
        .catch(() => undefined),
    );

    // The leader stops (it releases the Lease): the other samples from then on.
    await leader.service.stop();
    const stoppedAt = Date.now();
    await waitFor(() => follower.listener().isLeader(), {
      timeoutMs: 30_000,
      what: 'the other replica elected',
    });
    await waitFor(
      () => rec.of('io.scalewise.PoolMetricsObserved').some((e) => Date.parse(e.time) > stoppedAt + 1000),
      { timeoutMs: 30_000, what: 'samples after the first leader stopped' },
    );
  });
});

// state-sync of a pods pool on the real kube-apiserver with KWOK, Kafka, Redis and S3, with
// node-manager running beside it (so the test joins two services and lives in e2e/; the rest of
// state-sync's integration tests are services/state-sync/src/sync.int.test.ts). Its worker pods
// (made by the test with node-manager's own manifest, Running on a KWOK node) are the pool's
// workers in all three views; a worker pod that finished and that node-manager cleaned up is
// not lost, a running one deleted is, one a scale-down removes is not.
//
// Completion: the stack's KWOK completes only Job pods, so the test writes the status the
// kubelet writes when the task's container exits 0, through the real pods/status subresource
// (as node-manager's pods test does).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig, podsOptionsSchema } from '@scalewise/config';
import type { EventData } from '@scalewise/events';
import { connectKube, ensureWorker, POOL_LABEL } from '@scalewise/kube';
import { defineNodeManager } from '@scalewise/node-manager';
import { actionStarted, removedByUs } from '@scalewise/pool';
import { workerPodManifest } from '@scalewise/providers';
import { createService, type Service } from '@scalewise/service';
import { defineStateSync } from '@scalewise/state-sync';
import { assertSyncedAgree, ledgerOf, recordsOf } from '@scalewise/state-sync/test-support/views';
import {
  completePod,
  integrationFixture,
  podsPool,
  poolServiceYaml,
  quiet,
  uniqueName,
  waitFor,
} from '@scalewise/testing';

const fx = integrationFixture({ kubernetes: true, connect: connectKube, recorder: recordTopics });

/** The pool's stored state, as the API and CLI read it. */
async function stored(service: Service, cluster: string, pool: string) {
  const s = await service.bus.redis.hget(`scalewise:${cluster}:state-sync:state:${pool}`, 's');
  return s ? (JSON.parse(s) as { workers: number; nodes: object }) : null;
}

/** What the kubelet writes when the worker's container exits 0 (read again when KWOK wrote in between). */
async function completeTask(namespace: string, name: string): Promise<void> {
  // waitFor tries again while the probe throws (a 409 Conflict), until its deadline.
  await waitFor(
    async () => {
      await completePod(fx.admin.core, namespace, name);
      return true;
    },
    { timeoutMs: 10_000, what: `the completed status of ${name} written` },
  );
}

describe('state-sync of a pods pool on the real servers', () => {
  test('worker pods are the workers: synced at 3; a completed one cleaned up by node-manager is not lost, a deleted running one is, one a scale-down removes is not', async () => {
    const pool = uniqueName('sp');
    const host = `${pool}-host`;
    const prefix = `${pool}.`;
    const yaml = poolServiceYaml(fx.stack, pool, {
      pool: podsPool(pool, host),
      autoscaler: { sensing: { sync_interval_seconds: 1 } },
    });
    await fx.namespace(pool, { nodes: `${POOL_LABEL}=${host}`, podsGone: true });
    // The node the worker pods run on: KWOK plays its kubelet (its pods become Running and Ready).
    await ensureWorker(fx.kube, { name: host, pool: host, cpuMillicores: 16_000, memoryBytes: 32 * 2 ** 30 });
    const config = loadConfig({ text: yaml, env: {} });
    const poolConfig = config.config.autoscaler.pools[0];
    assert.ok(poolConfig);
    const options = podsOptionsSchema.parse(poolConfig.provider_options);
    const workers = [1, 2, 3].map((i) => `${pool}-w${i}`);
    for (const name of workers) {
      await fx.kube.core.createNamespacedPod({
        namespace: pool,
        body: workerPodManifest({ name, pool, actionId: 'decision-up-1', options }),
      });
    }
    const service = await fx.start(
      createService(defineStateSync({ config, kube: fx.kube, telemetry: { logDestination: quiet } })),
    );
    // node-manager beside it: it cleans up the worker pods that finish (NodeRemoved, completed).
    const _manager = await fx.start(
      createService(
        defineNodeManager({
          config,
          kube: fx.kube,
          fromBeginning: true,
          telemetry: { logDestination: quiet },
        }),
      ),
    );
    // Started once the services made the topics; it reads them from the beginning.
    const rec = await fx.record([`${prefix}state`, `${prefix}nodes`]);

    const syncedAt = (n: number, from = 0) =>
      rec.events.slice(from).some((e) => {
        if (e.type !== 'io.scalewise.ClusterStateSynced') return false;
        const d = e.data as EventData<'io.scalewise.ClusterStateSynced'>;
        return d.workers === n && d.k8s_nodes === n && d.docker_containers === n && d.db_workers === n;
      });
    await waitFor(() => syncedAt(3), {
      timeoutMs: 60_000,
      what: 'ClusterStateSynced with 3 worker pods in all three views',
    });
    const lostNames = () =>
      rec.of('io.scalewise.NodeUnexpectedlyLost').map((e) => (e.data as { node_name: string }).node_name);

    // 1. w1 finishes its task: node-manager reports it and deletes it; not a loss.
    let mark = rec.events.length;
    await completeTask(pool, `${pool}-w1`);
    await waitFor(
      () =>
        rec.of('io.scalewise.NodeRemoved').some((e) => {
          const d = e.data as EventData<'io.scalewise.NodeRemoved'>;
          return d.node_name === `${pool}-w1` && d.reason === 'completed';
        }),
      { timeoutMs: 20_000, what: "node-manager's NodeRemoved (completed) for w1" },
    );
    await waitFor(
      async () =>
        (await fx.kube.core.listNamespacedPod({ namespace: pool })).items.every(
          (p) => p.metadata?.name !== `${pool}-w1`,
        ),
      { timeoutMs: 20_000, what: 'w1 deleted by node-manager' },
    );
    await waitFor(() => syncedAt(2, mark), { timeoutMs: 15_000, what: 'ClusterStateSynced at 2' });
    assert.deepEqual(lostNames(), [], 'a completed worker is not lost');

    // 2. w2 deleted while it runs, with no scale-down in flight: lost within seconds.
    mark = rec.events.length;
    const t0 = Date.now();
    await fx.kube.core.deleteNamespacedPod({ namespace: pool, name: `${pool}-w2` });
    await waitFor(() => lostNames().length >= 1, { timeoutMs: 15_000, what: 'NodeUnexpectedlyLost for w2' });
    const lost = rec.of('io.scalewise.NodeUnexpectedlyLost')[0]
      ?.data as EventData<'io.scalewise.NodeUnexpectedlyLost'>;
    assert.deepEqual([lost.node_name, lost.cause, lost.remaining_workers], [`${pool}-w2`, 'node_deleted', 1]);
    // The live worker pods: neither finished nor terminating.
    const live = (await fx.kube.core.listNamespacedPod({ namespace: pool })).items.filter(
      (p) => !p.metadata?.deletionTimestamp && !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''),
    );
    assert.equal(lost.remaining_workers, live.length, 'the worker pods left in the API server');
    const lostAfterMs = Date.now() - t0;
    assert.ok(lostAfterMs < 15_000, `lost after ${lostAfterMs} ms`);
    await waitFor(() => syncedAt(1, mark), { timeoutMs: 15_000, what: 'ClusterStateSynced at 1' });

    // 3. A scale-down removing w3: node-manager writes its victims in the ledger before it
    // touches them, so the deletion is expected (no ScaleDownStarted reaches state-sync).
    await recordsOf(service, pool, 'node-manager').apply(
      pool,
      'test/ScaleDownStarted/decision-down-1',
      (ledger) => ({
        ledger: actionStarted(ledger, {
          id: 'decision-down-1',
          direction: 'down',
          count: 1,
          nodes: [`${pool}-w3`],
          now: Date.now(),
          timeoutMs: 600_000,
        }),
        outputs: [],
      }),
    );
    mark = rec.events.length;
    await fx.kube.core.deleteNamespacedPod({ namespace: pool, name: `${pool}-w3` });
    await waitFor(() => syncedAt(0, mark), { timeoutMs: 15_000, what: 'ClusterStateSynced at 0' });
    assert.deepEqual(lostNames(), [`${pool}-w2`], 'only the deleted running worker was lost');
    const drifts = rec
      .of('io.scalewise.StateDriftDetected')
      .map((e) => (e.data as EventData<'io.scalewise.StateDriftDetected'>).drift)
      .filter((d) => !(d.length === 1 && d[0]?.name === 'store'));
    assert.deepEqual(drifts, [], 'no drift but the first listing into the ledger');
    assert.equal((await stored(service, pool, pool))?.workers, 0);
    const ledger = await ledgerOf(service, pool);
    assert.equal(
      removedByUs(ledger, `${pool}-w1`),
      'decision-up-1',
      'the completed worker left by its scale-up',
    );
    assert.equal(removedByUs(ledger, `${pool}-w3`), 'decision-down-1');
    assertSyncedAgree(rec);
    console.log(`pods pool: deleted running worker pod -> NodeUnexpectedlyLost in ${lostAfterMs} ms`);
  });
});

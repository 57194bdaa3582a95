// state-sync on the real kube-apiserver with KWOK, Kafka, Redis and S3: a deleted node with
// no scale-down in flight is lost within seconds, one a scale-down removes is not; a store
// key deleted in Redis is drift, repaired, then synced.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, createEvent, type EventData, sampleData } from '@scalewise/events';
import {
  connectKube,
  deleteNode,
  ensureNode,
  type Kube,
  kwokNodeManifest,
  POOL_LABEL,
} from '@scalewise/kube';
import { createService, type Service } from '@scalewise/service';
import { getStack, type StackEndpoints, serversYaml, uniqueName, waitFor } from '@scalewise/testing';
import { defineStateSync } from './service.ts';

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

async function setup(
  workers: number,
): Promise<{ pool: string; service: Service; rec: Awaited<ReturnType<typeof recordTopics>> }> {
  const pool = uniqueName('ss')
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  cleanups.push(() => kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${pool}` }));
  for (let i = 1; i <= workers; i++) {
    await ensureNode(
      kube,
      kwokNodeManifest({ name: `${pool}-${i}`, pool, cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30 }),
    );
  }
  const prefix = `${pool}.`;
  const loaded = loadConfig({
    text: `
cluster_id: ${pool}
autoscaler:
  pools: [{ name: ${pool}, min: 1, max: 6 }]
  sensing: { sync_interval_seconds: 1 }
events: { topic_prefix: "${prefix}", group_prefix: "${prefix}", partitions: 3 }
${serversYaml(stack)}
telemetry: { log_level: warn }
shutdown_timeout_seconds: 10
`,
    env: {},
  });
  const service = await createService(
    defineStateSync({ config: loaded, kube, fromBeginning: true, telemetry: { logDestination: quiet } }),
  );
  cleanups.push(() => service.stop());
  await service.start();
  const rec = await recordTopics(
    stack.kafka.brokers,
    [`${prefix}state`, `${prefix}nodes`],
    uniqueName('rec'),
  );
  cleanups.push(() => rec.stop());
  return { pool, service, rec };
}

const synced = (rec: { of(...t: string[]): AnyScalewiseEvent[] }, workers: number) =>
  rec.of('io.scalewise.ClusterStateSynced').some((e) => (e.data as { workers: number }).workers === workers);

describe('state-sync on the real servers', () => {
  test('a node deleted with no scale-down in flight is lost within seconds; one a scale-down removes is not', async () => {
    const { pool, service, rec } = await setup(3);
    await waitFor(() => synced(rec, 3), { timeoutMs: 30_000, what: 'ClusterStateSynced with 3 workers' });
    const t0 = Date.now();
    await deleteNode(kube, `${pool}-3`);
    await waitFor(() => rec.of('io.scalewise.NodeUnexpectedlyLost').length >= 1, {
      timeoutMs: 15_000,
      what: 'NodeUnexpectedlyLost',
    });
    const lost = rec.of('io.scalewise.NodeUnexpectedlyLost')[0]
      ?.data as EventData<'io.scalewise.NodeUnexpectedlyLost'>;
    assert.deepEqual([lost.node_name, lost.cause, lost.remaining_workers], [`${pool}-3`, 'node_deleted', 2]);
    assert.ok(Date.now() - t0 < 15_000);
    // A scale-down that removes worker 2: announced first, so its disappearance is expected.
    await service.bus.publisher.publish(
      createEvent(
        'io.scalewise.ScaleDownStarted',
        {
          ...sampleData['io.scalewise.ScaleDownStarted'],
          pool,
          action_id: 'decision-x',
          count: 1,
          previous_workers: 2,
          target_workers: 1,
          nodes: [`${pool}-2`],
        },
        { source: '/scalewise/test/node-manager', clusterid: pool },
      ),
    );
    await waitFor(
      async () =>
        Object.keys(
          (await service.bus.redis.hgetall(`scalewise:${pool}:state-sync:state:${pool}`)).s
            ? (JSON.parse(
                (await service.bus.redis.hgetall(`scalewise:${pool}:state-sync:state:${pool}`)).s ?? '{}',
              ).removing ?? {})
            : {},
        ).length === 1,
      {
        timeoutMs: 15_000,
        what: 'the scale-down recorded in the store',
      },
    );
    await deleteNode(kube, `${pool}-2`);
    await waitFor(() => synced(rec, 1), { timeoutMs: 15_000, what: 'ClusterStateSynced with 1 worker' });
    assert.deepEqual(
      rec.of('io.scalewise.NodeUnexpectedlyLost').map((e) => (e.data as { node_name: string }).node_name),
      [`${pool}-3`],
      'the removed node was not lost',
    );
  });

  test('store tampering: the pool key deleted in Redis is drift, repaired, then ClusterStateSynced', async () => {
    const { pool, service, rec } = await setup(2);
    await waitFor(() => synced(rec, 2), { timeoutMs: 30_000, what: 'ClusterStateSynced' });
    const key = `scalewise:${pool}:state-sync:state:${pool}`;
    assert.equal(await service.bus.redis.del(key), 1);
    const mark = rec.events.length;
    await waitFor(() => rec.events.slice(mark).some((e) => e.type === 'io.scalewise.StateDriftDetected'), {
      timeoutMs: 15_000,
      what: 'StateDriftDetected',
    });
    const drift = rec.events.slice(mark).find((e) => e.type === 'io.scalewise.StateDriftDetected')
      ?.data as EventData<'io.scalewise.StateDriftDetected'>;
    assert.equal(drift.repaired, true);
    assert.equal(drift.db_workers, 0);
    assert.deepEqual(
      drift.drift.map((d) => d.kind),
      ['state_stale'],
    );
    await waitFor(() => rec.events.slice(mark).some((e) => e.type === 'io.scalewise.ClusterStateSynced'), {
      timeoutMs: 15_000,
      what: 'ClusterStateSynced after the repair',
    });
    const stored = JSON.parse((await service.bus.redis.hget(key, 's')) ?? '{}') as {
      workers: number;
      nodes: Record<string, unknown>;
    };
    assert.equal(stored.workers, 2);
    assert.deepEqual(Object.keys(stored.nodes).sort(), [`${pool}-1`, `${pool}-2`]);
  });
});

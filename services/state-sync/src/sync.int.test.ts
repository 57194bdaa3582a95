// state-sync on the real kube-apiserver with KWOK, Kafka, Redis and S3. Each sync writes the
// pool's listing into the pool ledger (packages/pool) and judges from it: a node deleted by
// hand is lost, with the workers left in the API server; one a scale-down removes (its victims
// in the ledger, as node-manager writes them) is not, though state-sync consumes no event;
// ClusterStateSynced comes only when Kubernetes, the provider and the ledger name the same
// nodes. The ledger knows the pool's size as soon as the service started, and a node added is
// synced at once, coalesced. A pods pool: its worker pods (made by the test with node-manager's
// own manifest, Running on a KWOK node) are the pool's workers in all three views; a worker pod
// that finished and that node-manager (running beside) cleaned up is not lost, a running one
// deleted is, one a scale-down removes is not.
//
// Completion: the stack's KWOK completes only Job pods, so the test writes the status the
// kubelet writes when the task's container exits 0, through the real pods/status subresource
// (as node-manager's pods test does).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig, podsOptionsSchema } from '@scalewise/config';
import type { EventData } from '@scalewise/events';
import {
  connectKube,
  deleteNode,
  ensureNode,
  ensureWorker,
  kwokNodeManifest,
  POOL_LABEL,
} from '@scalewise/kube';
import { defineNodeManager } from '@scalewise/node-manager';
import {
  actionStarted,
  createPoolStore,
  type Ledger,
  LISTING_LAG_MS,
  memberNames,
  removedByUs,
  workersOf,
} from '@scalewise/pool';
import { workerPodManifest } from '@scalewise/providers';
import { createService, type Service } from '@scalewise/service';
import {
  completePod,
  freePort,
  integrationFixture,
  podsPool,
  poolServiceYaml,
  quiet,
  serversYaml,
  uniqueName,
  waitFor,
} from '@scalewise/testing';
import { defineStateSync, type StateSyncService } from './service.ts';

const fx = integrationFixture({ kubernetes: true, connect: connectKube, recorder: recordTopics });

type Recorder = Awaited<ReturnType<typeof recordTopics>>;

const addNode = (pool: string, name: string) =>
  ensureNode(fx.kube, kwokNodeManifest({ name, pool, cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30 }));

async function setup(
  workers: number,
  options: { replicas?: number; syncIntervalSeconds?: number } = {},
): Promise<{ pool: string; service: Service; sync: StateSyncService; rec: Recorder }> {
  const pool = uniqueName('ss');
  fx.defer(() => fx.kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${pool}` }));
  for (let i = 1; i <= workers; i++) await addNode(pool, `${pool}-${i}`);
  const prefix = `${pool}.`;
  const loaded = loadConfig({
    text: poolServiceYaml(fx.stack, pool, {
      pool: { min: 1, max: 6 },
      autoscaler: { sensing: { sync_interval_seconds: options.syncIntervalSeconds ?? 1 } },
    }),
    env: {},
  });
  const services: Service[] = [];
  const defs: StateSyncService[] = [];
  for (let i = 0; i < (options.replicas ?? 1); i++) {
    const def = defineStateSync({ config: loaded, kube: fx.kube, telemetry: { logDestination: quiet } });
    const s = await fx.start(createService(def));
    services.push(s);
    defs.push(def);
  }
  const service = services[0] as Service;
  const sync = defs[0] as StateSyncService;
  const rec = await fx.record([`${prefix}state`, `${prefix}nodes`, `${prefix}actions`]);
  return { pool, service, sync, rec };
}

/** The pool record in Redis, as another service reads it (cluster id = pool name in these tests). */
const recordsOf = (service: Service, cluster: string, as = 'test') =>
  createPoolStore<unknown, never>({ redis: service.bus.redis, clusterId: cluster, service: as });
const ledgerOf = async (service: Service, cluster: string, pool = cluster): Promise<Ledger> =>
  (await recordsOf(service, cluster).get(pool)).ledger;

const syncedData = (rec: Recorder) =>
  rec
    .of('io.scalewise.ClusterStateSynced')
    .map((e) => e.data as EventData<'io.scalewise.ClusterStateSynced'>);
const synced = (rec: Recorder, workers: number, from = 0) =>
  rec.events
    .slice(from)
    .some(
      (e) =>
        e.type === 'io.scalewise.ClusterStateSynced' &&
        (e.data as EventData<'io.scalewise.ClusterStateSynced'>).workers === workers,
    );
const lostOf = (rec: Recorder) =>
  rec
    .of('io.scalewise.NodeUnexpectedlyLost')
    .map((e) => e.data as EventData<'io.scalewise.NodeUnexpectedlyLost'>);

/** Every ClusterStateSynced recorded states one number in all four of its counts. */
function assertSyncedAgree(rec: Recorder): void {
  for (const d of syncedData(rec)) {
    assert.deepEqual(
      [d.k8s_nodes, d.docker_containers, d.db_workers],
      [d.workers, d.workers, d.workers],
      `in sync with views that differ: ${JSON.stringify(d)}`,
    );
  }
}

/** The pool's Nodes in the API server. */
const nodesOf = async (pool: string) =>
  (await fx.kube.core.listNode({ labelSelector: `${POOL_LABEL}=${pool}` })).items.map(
    (n) => n.metadata?.name ?? '',
  );

describe('state-sync on the real servers', () => {
  test('two replicas reconciling the same pool report a deleted node lost once', async () => {
    const { pool, rec } = await setup(3, { replicas: 2 });
    await waitFor(() => synced(rec, 3), { timeoutMs: 30_000, what: 'ClusterStateSynced with 3 workers' });
    await deleteNode(fx.kube, `${pool}-3`);
    await waitFor(() => synced(rec, 2), { timeoutMs: 30_000, what: 'ClusterStateSynced with 2 workers' });
    // A few more rounds of both replicas.
    const seen = rec.events.length;
    await waitFor(
      () => rec.of('io.scalewise.ClusterStateSynced').length >= 4 && rec.events.length > seen + 3,
      { timeoutMs: 30_000, what: 'more rounds' },
    );
    assert.deepEqual(
      lostOf(rec).map((l) => [l.node_name, l.remaining_workers]),
      [[`${pool}-3`, 2]],
      'one NodeUnexpectedlyLost for the one node',
    );
    assertSyncedAgree(rec);
  });

  test('a node deleted by hand is lost with the workers left in the API server; one whose scale-down node-manager wrote in the ledger is not, though no ScaleDownStarted was ever published', async () => {
    const { pool, service, rec } = await setup(3);
    await waitFor(() => synced(rec, 3), { timeoutMs: 30_000, what: 'ClusterStateSynced with 3 workers' });
    const t0 = Date.now();
    await deleteNode(fx.kube, `${pool}-3`);
    await waitFor(() => lostOf(rec).length >= 1, { timeoutMs: 15_000, what: 'NodeUnexpectedlyLost' });
    const lostAfterMs = Date.now() - t0;
    const lost = lostOf(rec)[0];
    assert.deepEqual([lost?.node_name, lost?.cause], [`${pool}-3`, 'node_deleted']);
    assert.equal(lost?.remaining_workers, (await nodesOf(pool)).length, 'the Nodes left in the API server');
    assert.equal(lost?.remaining_workers, 2);
    assert.ok(lostAfterMs < 15_000, `lost after ${lostAfterMs} ms`);

    // node-manager starts a scale-down of worker 2: its victims in the ledger before it touches them.
    const mark = rec.events.length;
    await recordsOf(service, pool, 'node-manager').apply(
      pool,
      'test/ScaleDownStarted/decision-x',
      (ledger) => ({
        ledger: actionStarted(ledger, {
          id: 'decision-x',
          direction: 'down',
          count: 1,
          nodes: [`${pool}-2`],
          now: Date.now(),
          timeoutMs: 600_000,
          ...(workersOf(ledger) !== null ? { from: workersOf(ledger) as number } : {}),
        }),
        outputs: [],
      }),
    );
    await deleteNode(fx.kube, `${pool}-2`);
    await waitFor(() => synced(rec, 1, mark), {
      timeoutMs: 15_000,
      what: 'ClusterStateSynced with 1 worker',
    });
    assert.deepEqual(
      lostOf(rec).map((l) => l.node_name),
      [`${pool}-3`],
      'the node the scale-down removed was not lost',
    );
    assert.deepEqual(
      rec.of('io.scalewise.ScaleDownStarted'),
      [],
      'state-sync learnt it from the ledger alone',
    );
    const ledger = await ledgerOf(service, pool);
    assert.equal(removedByUs(ledger, `${pool}-2`), 'decision-x');
    assert.deepEqual(memberNames(ledger), [`${pool}-1`]);
    assertSyncedAgree(rec);
  });

  test('ClusterStateSynced only when the names agree: a ledger holding as many workers under another name is drift and a loss, repaired, then in sync', async () => {
    const { pool, service, rec } = await setup(3);
    await waitFor(() => synced(rec, 3), { timeoutMs: 30_000, what: 'ClusterStateSynced' });
    // Tampering: worker 1 renamed in the ledger, the count unchanged (3 in every view). Once the
    // node is older than the listing lag, the ledger should have known it: not churn.
    const created = (await fx.kube.core.readNode({ name: `${pool}-1` })).metadata?.creationTimestamp;
    await waitFor(() => Date.now() - new Date(created ?? 0).getTime() > LISTING_LAG_MS + 1_000, {
      timeoutMs: 15_000,
      what: 'worker 1 older than the listing lag',
    });
    const ghost = `${pool}-ghost`;
    const mark = rec.events.length;
    await recordsOf(service, pool).apply(pool, 'test/tamper', (ledger) => {
      const { [`${pool}-1`]: one, ...members } = ledger.members;
      assert.ok(one);
      return {
        ledger: { ...ledger, members: { ...members, [ghost]: { ...one, at: Date.now() - 60_000 } } },
        outputs: [],
      };
    });
    const since = () => rec.events.slice(mark);
    const lostGhost = () =>
      since().find(
        (e) =>
          e.type === 'io.scalewise.NodeUnexpectedlyLost' &&
          (e.data as { node_name: string }).node_name === ghost,
      );
    const drifted = () => since().find((e) => e.type === 'io.scalewise.StateDriftDetected');
    await waitFor(() => lostGhost() !== undefined && drifted() !== undefined, {
      timeoutMs: 15_000,
      what: 'NodeUnexpectedlyLost for the ghost and StateDriftDetected',
    });
    const drift = drifted()?.data as EventData<'io.scalewise.StateDriftDetected'>;
    assert.deepEqual(drift.drift, [{ kind: 'state_stale', name: `${pool}-1` }]);
    assert.deepEqual(
      [drift.k8s_nodes, drift.docker_containers, drift.db_workers, drift.repaired],
      [3, 3, 3, true],
    );
    // One cycle said both (its time ends every id it gave), and no ClusterStateSynced: the
    // counts agreed, the names did not. (The two are on different topics: no order between them.)
    const cycleOf = (e: { id: string } | undefined) => e?.id.split('/').at(-1);
    const cycle = cycleOf(drifted());
    assert.equal(cycleOf(lostGhost()), cycle);
    assert.deepEqual(
      since().filter((e) => e.type === 'io.scalewise.ClusterStateSynced' && cycleOf(e) === cycle),
      [],
    );
    await waitFor(() => synced(rec, 3, mark), {
      timeoutMs: 15_000,
      what: 'ClusterStateSynced after the repair',
    });
    assert.deepEqual(memberNames(await ledgerOf(service, pool)), [`${pool}-1`, `${pool}-2`, `${pool}-3`]);
    // The read model the API and CLI read says the same.
    const stored = JSON.parse(
      (await service.bus.redis.hget(`scalewise:${pool}:state-sync:state:${pool}`, 's')) ?? '{}',
    ) as { workers: number; nodes: Record<string, unknown> };
    assert.equal(stored.workers, 3);
    assert.deepEqual(Object.keys(stored.nodes).sort(), [`${pool}-1`, `${pool}-2`, `${pool}-3`]);
    assertSyncedAgree(rec);
  });

  test('the ledger knows the pool once the service started, and a node added is in it at once: one sync for a burst of additions, not one each', async () => {
    // No timer within the test: only the start and the watch can sync.
    const { pool, service, sync, rec } = await setup(3, { syncIntervalSeconds: 600 });
    await waitFor(async () => workersOf(await ledgerOf(service, pool)) === 3, {
      timeoutMs: 5_000,
      what: 'the ledger listing 3 workers after the start',
    });
    const records = recordsOf(service, pool);
    const v0 = (await records.get(pool)).ledgerVersion;
    assert.equal(v0, 1, 'one sync at the start (the initial listing of the watch queues none)');
    const added = Array.from({ length: 40 }, (_, i) => `${pool}-new-${i}`);
    await Promise.all(added.map((name) => addNode(pool, name)));
    await waitFor(async () => workersOf(await ledgerOf(service, pool)) === 43, {
      timeoutMs: 10_000,
      what: 'the 40 added nodes in the ledger',
    });
    // Let the running sync, and the one queued behind it, finish.
    await sync.sync()?.idle();
    const syncs = (await records.get(pool)).ledgerVersion - v0;
    assert.ok(syncs < added.length, `${syncs} syncs for ${added.length} nodes added`);
    console.log(`40 nodes added at once: ${syncs} syncs`);
    assert.deepEqual(lostOf(rec), []);
    assertSyncedAgree(rec);
  });
});

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

/** A 127.0.0.1 port nothing listens on (bound, then closed). */
const closedPort = freePort;

describe('state-sync with its provider down, on the real servers', () => {
  test('the Docker API refusing connections: no node is lost for it, no ClusterStateSynced, the failure is in the store and its breaker opens; a deleted node is still lost', async () => {
    const pool = uniqueName('sd');
    const prefix = `${pool}.`;
    fx.defer(() => fx.kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${pool}` }));
    // The pool's nodes as k3s agents would register them; their containers cannot be listed.
    for (let i = 1; i <= 3; i++) {
      await ensureNode(
        fx.kube,
        kwokNodeManifest({ name: `${pool}-${i}`, pool, cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30 }),
      );
    }
    const config = loadConfig({
      text: `
cluster_id: ${pool}
autoscaler:
  pools: [{ name: ${pool}, provider: docker, min: 1, max: 6 }]
  sensing: { sync_interval_seconds: 1 }
events:
  topic_prefix: "${prefix}"
  group_prefix: "${prefix}"
  partitions: 3
  retry: { attempts: 2, initial_ms: 20, max_ms: 50 }
${serversYaml(fx.stack)}
telemetry: { log_level: warn }
shutdown_timeout_seconds: 10
`,
      env: {},
    });
    const service = await fx.start(
      createService(
        defineStateSync({
          config,
          kube: fx.kube,
          env: { DOCKER_HOST: `tcp://127.0.0.1:${await closedPort()}` },
          telemetry: { logDestination: quiet },
        }),
      ),
    );
    const rec = await fx.record([`${prefix}state`, `${prefix}nodes`]);
    const read = async () => {
      const s = await service.bus.redis.hget(`scalewise:${pool}:state-sync:state:${pool}`, 's');
      return s
        ? (JSON.parse(s) as {
            workers: number;
            lastSync: number;
            providerError: { code: string; message: string; since: number } | null;
          })
        : null;
    };
    await waitFor(
      () =>
        rec.of('io.scalewise.CircuitBreakerStateChanged').some((e) => {
          const d = e.data as EventData<'io.scalewise.CircuitBreakerStateChanged'>;
          return d.service === 'state-sync' && d.breaker === 'provider-docker' && d.state === 'open';
        }),
      { timeoutMs: 30_000, what: "CircuitBreakerStateChanged: state-sync's provider-docker breaker open" },
    );
    // Three more cycles with the breaker open.
    const opened = Date.now();
    await waitFor(async () => ((await read())?.lastSync ?? 0) > opened + 2_500, {
      timeoutMs: 15_000,
      what: 'three cycles with the provider down',
    });
    const s = await read();
    assert.equal(s?.workers, 3);
    assert.equal(s?.providerError?.code, 'CIRCUIT_OPEN');
    assert.ok(
      (s?.providerError?.since ?? Infinity) < opened,
      'since the first failure, before the breaker opened',
    );
    assert.deepEqual(
      rec.of('io.scalewise.NodeUnexpectedlyLost'),
      [],
      'no instance is lost for a provider down',
    );
    assert.deepEqual(rec.of('io.scalewise.ClusterStateSynced'), [], 'the views cannot be said to agree');
    assert.deepEqual(
      rec
        .of('io.scalewise.StateDriftDetected')
        .map((e) => (e.data as EventData<'io.scalewise.StateDriftDetected'>).drift.map((d) => d.kind)),
      [['state_stale']],
      'only the first listing into the ledger',
    );

    // Kubernetes still says what it sees.
    await deleteNode(fx.kube, `${pool}-3`);
    await waitFor(() => rec.of('io.scalewise.NodeUnexpectedlyLost').length >= 1, {
      timeoutMs: 15_000,
      what: 'NodeUnexpectedlyLost for the deleted node',
    });
    const lost = rec.of('io.scalewise.NodeUnexpectedlyLost')[0]
      ?.data as EventData<'io.scalewise.NodeUnexpectedlyLost'>;
    assert.deepEqual([lost.node_name, lost.cause, lost.remaining_workers], [`${pool}-3`, 'node_deleted', 2]);
  });
});

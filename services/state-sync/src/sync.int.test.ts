// state-sync on the real kube-apiserver with KWOK, Kafka, Redis and S3. Each sync writes the
// pool's listing into the pool ledger (packages/pool) and judges from it: a node deleted by
// hand is lost, with the workers left in the API server; one a scale-down removes (its victims
// in the ledger, as node-manager writes them) is not, though state-sync consumes no event;
// ClusterStateSynced comes only when Kubernetes, the provider and the ledger name the same
// nodes. The ledger knows the pool's size as soon as the service started, and a node added is
// synced at once, coalesced. A pods pool needs node-manager running beside state-sync: that
// test joins two services, so it is in e2e/src/in-process/state-sync-pods.int.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig } from '@scalewise/config';
import type { EventData } from '@scalewise/events';
import { connectKube, deleteNode, ensureNode, kwokNodeManifest, POOL_LABEL } from '@scalewise/kube';
import { actionStarted, LISTING_LAG_MS, memberNames, removedByUs, workersOf } from '@scalewise/pool';
import { createService, type Service } from '@scalewise/service';
import {
  freePort,
  integrationFixture,
  poolServiceYaml,
  quiet,
  serversYaml,
  uniqueName,
  waitFor,
} from '@scalewise/testing';
import { defineStateSync, type StateSyncService } from './service.ts';
import { assertSyncedAgree, ledgerOf, recordsOf } from './test-support/views.ts';

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

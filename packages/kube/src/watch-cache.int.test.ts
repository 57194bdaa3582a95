// The watch cache on the real kube-apiserver (KWOK as the kubelet): it sees nodes and pods
// come, change and go; it reopens a watch the server ends without listing again; it lists
// again when the server answers 410 Gone, and reports what it missed; it waits out an API
// server that went away (a proxy of ours in front of the real one, so other tests are not
// disturbed) and catches up from where it was.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { ScalewiseError } from '@scalewise/errors';
import { kubeconfigWithServer, waitFor } from '@scalewise/testing';
import { connectKube } from './client.ts';
import { fixture } from './int-fixture.ts';
import { cordon, deleteNode, ensureNode, POOL_LABEL } from './nodes.ts';
import type { NodeInfo } from './projection.ts';
import { pendingUnschedulable } from './utilisation.ts';
import {
  apiListerWatcher,
  type CacheEvent,
  nodeCache,
  nodeProjection,
  podCache,
  WatchCache,
} from './watch-cache.ts';

/**
 * Starts `cache` (stopped when the test ends). Returns what it tells its listeners from the
 * start, as `<type> <name>`. The caller awaits `cache.synced` itself, at once: the 410 test
 * must set its gate before the cache's first watch opens.
 */
function started<T extends { resourceVersion: string }>(
  t: TestContext,
  cache: WatchCache<T>,
  name: (o: T) => string,
): string[] {
  cache.start();
  t.after(() => cache.stop());
  const events: string[] = [];
  cache.on((e: CacheEvent<T>) => events.push(`${e.type} ${name(e.object)}`));
  return events;
}

test('nodes: the cache sees a node added, made Ready, cordoned and deleted', async (t) => {
  const f = await fixture(t, 'kube-cache-nodes');
  const cache = nodeCache(f.kube, { labelSelector: `${POOL_LABEL}=${f.id}` });
  const events = started(t, cache, (n) => n.name);
  await cache.synced;
  assert.equal(cache.size, 0);

  const name = `${f.id}-a`;
  await ensureNode(f.kube, f.worker(name));
  const ready = await waitFor(() => cache.get(name)?.conditions.Ready?.status === 'True' && cache.get(name), {
    timeoutMs: 30_000,
    what: 'the node Ready in the cache',
  });
  assert.equal(ready.providerID, `kwok://${name}`);
  assert.deepEqual(ready.allocatable, { cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30, pods: 110 });
  assert.equal(ready.labels[POOL_LABEL], f.id);
  assert.equal(ready.annotations['kwok.x-k8s.io/node'], 'fake');

  await cordon(f.kube, name);
  await waitFor(() => cache.get(name)?.unschedulable === true, { what: 'the cordon in the cache' });
  await deleteNode(f.kube, name);
  await waitFor(() => cache.get(name) === undefined, { what: 'the node gone from the cache' });
  assert.equal(events[0], `add ${name}`);
  assert.equal(events.at(-1), `delete ${name}`);
  assert.ok(events.filter((e) => e === `update ${name}`).length >= 2, events.join(', '));
  assert.equal(cache.stats().lists, 1);
});

test('pods: the cache sees a pod unschedulable, then bound and Running when a node comes, then deleted', async (t) => {
  const f = await fixture(t, 'kube-cache-pods');
  const cache = podCache(f.kube, { labelSelector: `test=${f.id}` });
  const events = started(t, cache, (p) => p.name);
  await cache.synced;

  await f.kube.core.createNamespacedPod({
    namespace: f.id,
    body: {
      metadata: { name: 'job', labels: { test: f.id } },
      spec: {
        ...f.placement,
        containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '500m', memory: '256Mi' } } }],
      },
    },
  });
  const key = `${f.id}/job`;
  const pending = await waitFor(() => cache.get(key)?.unschedulableSince !== undefined && cache.get(key), {
    timeoutMs: 30_000,
    what: 'the pod unschedulable in the cache',
  });
  assert.deepEqual(pending.requests, { cpuMillicores: 500, memoryBytes: 256 * 2 ** 20 });
  const [waiting] = pendingUnschedulable(cache.values(), Date.now());
  assert.equal(waiting?.name, 'job');
  assert.ok((waiting?.waitingMs ?? -1) >= 0);

  await ensureNode(f.kube, f.worker(`${f.id}-a`));
  const running = await waitFor(() => cache.get(key)?.phase === 'Running' && cache.get(key), {
    timeoutMs: 60_000,
    what: 'the pod Running in the cache',
  });
  assert.equal(running.nodeName, `${f.id}-a`);
  assert.equal(running.unschedulableSince, undefined);
  assert.deepEqual(pendingUnschedulable(cache.values(), Date.now()), []);

  await f.kube.core.deleteNamespacedPod({ name: 'job', namespace: f.id, gracePeriodSeconds: 0 });
  await waitFor(() => cache.get(key) === undefined, {
    timeoutMs: 30_000,
    what: 'the pod gone from the cache',
  });
  assert.equal(events[0], 'add job');
  assert.equal(events.at(-1), 'delete job');
});

test('lists stream on this API server (sendInitialEvents), and hold what a paged list holds', async (t) => {
  const f = await fixture(t, 'kube-cache-stream');
  for (const i of [1, 2, 3]) await ensureNode(f.kube, f.worker(`${f.id}-${i}`));
  const selector = { labelSelector: `${POOL_LABEL}=${f.id}` };
  const streamed = nodeCache(f.kube, selector).start();
  t.after(() => streamed.stop());
  await streamed.synced;
  assert.equal(streamed.stats().streamedLists, 1, 'the list streamed');
  // The same objects through a paged list (the source without watchList), a page per node.
  const real = apiListerWatcher(f.kube, 'nodes', selector);
  const paged = new WatchCache<NodeInfo>({ list: real.list, watch: real.watch }, nodeProjection, {
    pageSize: 1,
  }).start();
  t.after(() => paged.stop());
  await paged.synced;
  assert.equal(paged.stats().streamedLists, 0);
  const byName = (c: WatchCache<NodeInfo>) => c.list().sort((a, b) => a.name.localeCompare(b.name));
  assert.equal(streamed.size, 3);
  // The control plane may still be writing the new nodes (labels, conditions): both caches
  // watch, so they agree once the last write reached both.
  await waitFor(() => isDeepStrictEqual(byName(streamed), byName(paged)), {
    timeoutMs: 15_000,
    what: 'the streamed and the paged cache holding the same nodes',
  });
  assert.deepEqual(byName(streamed), byName(paged));
  // And the stream's watch goes on from where the list ended.
  await ensureNode(f.kube, f.worker(`${f.id}-4`));
  await waitFor(() => streamed.get(`${f.id}-4`), { timeoutMs: 15_000, what: 'a node added after the list' });
  assert.equal(streamed.stats().lists, 1);
});

test('a server that ends the stream without the initial-events bookmark: the cache lists in pages', async (t) => {
  const f = await fixture(t, 'kube-cache-nostream');
  await ensureNode(f.kube, f.worker(`${f.id}-a`));
  // A plain watch without a resourceVersion sends every object as ADDED too; without its
  // bookmarks it is what a server that ignores sendInitialEvents sends. It ends at 1 s.
  const real = apiListerWatcher(f.kube, 'nodes', {
    labelSelector: `${POOL_LABEL}=${f.id}`,
    timeoutSeconds: 1,
  });
  let streams = 0;
  const cache = new WatchCache<NodeInfo>(
    {
      list: real.list,
      watch: real.watch,
      watchList(onEvent, signal) {
        streams++;
        return real.watch('', (type, object) => type !== 'BOOKMARK' && onEvent(type, object), signal);
      },
    },
    nodeProjection,
  );
  const events = started(t, cache, (n) => n.name);
  await cache.synced;
  assert.deepEqual(events, [`add ${f.id}-a`]);
  const s = cache.stats();
  assert.deepEqual([s.lists, s.streamedLists, s.errors], [1, 0, 0]);
  assert.equal(streams, 1);
});

test('a watch the API server ends is reopened from the last resourceVersion, without listing again', async (t) => {
  const f = await fixture(t, 'kube-cache-reopen');
  const cache = nodeCache(f.kube, { labelSelector: `${POOL_LABEL}=${f.id}`, timeoutSeconds: 1 }).start();
  t.after(() => cache.stop());
  await cache.synced;
  await waitFor(() => cache.stats().watches >= 3, {
    timeoutMs: 15_000,
    what: 'three watches, each ended by the server',
  });
  await ensureNode(f.kube, f.worker(`${f.id}-a`));
  await waitFor(() => cache.get(`${f.id}-a`), { timeoutMs: 15_000, what: 'the node in the cache' });
  const s = cache.stats();
  assert.equal(s.lists, 1, 'never listed again');
  assert.equal(s.relists, 0);
  assert.equal(s.errors, 0);
});

/**
 * Compacts etcd at its current revision (its JSON gateway), as the API server does every five
 * minutes: every older resourceVersion is gone, so a watch from one is answered 410 Gone
 * whether the API server's watch cache or etcd serves it.
 */
async function compactEtcd(endpoint: string): Promise<void> {
  const post = async (path: string, body: object) => {
    const res = await fetch(`${endpoint}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `etcd ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as { header: { revision: string } };
  };
  const { header } = await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
  await post('/v3/kv/compaction', { revision: header.revision, physical: true });
}

test('410 Gone: the cache lists again and reports what it missed as add and delete', async (t) => {
  const f = await fixture(t, 'kube-cache-gone');
  assert.ok(f.etcd, 'the stack names its etcd (scripts/stack env: ETCD_ENDPOINT)');
  const etcd = f.etcd;
  await ensureNode(f.kube, f.worker(`${f.id}-a`));
  // The real list and watch, except that one watch is opened late and from resourceVersion 1,
  // long compacted away: the API server answers 410 Gone, as to a client that fell behind.
  const real = apiListerWatcher(f.kube, 'nodes', {
    labelSelector: `${POOL_LABEL}=${f.id}`,
    timeoutSeconds: 1,
  });
  let stale: Promise<void> | undefined;
  let release!: () => void;
  const gone410: string[] = [];
  const cache = new WatchCache<NodeInfo>(
    {
      list: real.list,
      async watch(rv, onEvent, signal) {
        if (!stale) return real.watch(rv, onEvent, signal);
        const gate = stale;
        stale = undefined;
        await gate;
        return real.watch(
          '1',
          (type, object) => {
            if (type === 'ERROR') gone410.push(String((object as { code?: number }).code));
            onEvent(type, object);
          },
          signal,
        );
      },
    },
    nodeProjection,
  );
  const events = started(t, cache, (n) => n.name);
  await cache.synced;
  assert.deepEqual(events, [`add ${f.id}-a`]);

  stale = new Promise((r) => {
    release = r;
  });
  // While no watch is open, one node goes and another comes.
  await waitFor(() => stale === undefined, {
    timeoutMs: 10_000,
    what: 'the cache waiting to reopen its watch',
  });
  await deleteNode(f.kube, `${f.id}-a`);
  await ensureNode(f.kube, f.worker(`${f.id}-b`));
  // A fresh control plane has compacted nothing yet: resourceVersion 1 would still be served.
  await compactEtcd(etcd);
  release();

  await waitFor(() => cache.get(`${f.id}-b`) && !cache.get(`${f.id}-a`), {
    timeoutMs: 15_000,
    what: 'the relist to bring the cache up to date',
  });
  assert.deepEqual(gone410, ['410'], 'the API server answered 410 Gone');
  assert.equal(cache.stats().relists, 1);
  assert.equal(cache.stats().lists, 2);
  // The relist's difference (KWOK may update b afterwards, making it Ready).
  assert.deepEqual(events.slice(1, 3), [`add ${f.id}-b`, `delete ${f.id}-a`]);
});

/** A TCP proxy on 127.0.0.1 in front of the API server, that can be taken down and brought back on the same port. */
async function proxy(target: URL): Promise<{ port: number; down(): Promise<void>; up(): Promise<void> }> {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = 0;
  const up = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = tcpConnect(Number(target.port || 443), target.hostname);
        for (const x of [client, upstream]) {
          sockets.add(x);
          x.on('close', () => sockets.delete(x));
          x.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const x of sockets) x.destroy();
      const s = server;
      server = undefined;
      if (s) s.close(() => resolve());
      else resolve();
    });
  await up();
  return { port, down, up };
}

test('an API server that goes away: failures reported as retriable, backoff, then the cache catches up from where it was', async (t) => {
  const f = await fixture(t, 'kube-cache-outage');
  const target = new URL(f.kube.server);
  assert.equal(target.hostname, '127.0.0.1');
  const p = await proxy(target);
  t.after(() => p.down());
  // The same credentials, through the proxy (the server's certificate names 127.0.0.1, any port).
  const dir = mkdtempSync(join(tmpdir(), 'kube-cache-outage-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const viaProxy = join(dir, 'kubeconfig');
  writeFileSync(
    viaProxy,
    kubeconfigWithServer(readFileSync(f.kubeconfig, 'utf8'), `https://127.0.0.1:${p.port}`),
  );
  const kube = connectKube({ kubeconfig: viaProxy });
  t.after(() => kube.close());
  const waits: number[] = [];
  const errors: Error[] = [];
  const cache = nodeCache(kube, {
    labelSelector: `${POOL_LABEL}=${f.id}`,
    backoff: { initialMs: 100, maxMs: 800 },
    sleep: (ms, signal) => {
      waits.push(ms);
      return sleepFor(ms, undefined, { signal });
    },
  });
  cache.onError((e) => errors.push(e));
  cache.start();
  t.after(() => cache.stop());
  await cache.synced;
  await ensureNode(f.kube, f.worker(`${f.id}-before`));
  await waitFor(() => cache.get(`${f.id}-before`), { what: 'the first node in the cache' });

  await p.down();
  await ensureNode(f.kube, f.worker(`${f.id}-during`));
  await waitFor(() => errors.length >= 5, { timeoutMs: 20_000, what: 'five failed attempts' });
  assert.equal(cache.get(`${f.id}-during`), undefined, 'not seen while the API is away');
  for (const e of errors) {
    assert.ok(e instanceof ScalewiseError, String(e));
    assert.equal(e.code, 'DEPENDENCY_UNAVAILABLE', e.message);
    assert.equal(e.retriable, true);
  }
  // Doubling from 100 ms up to 800 ms, each jittered to between half and all of it.
  const bounds = [100, 200, 400, 800, 800];
  for (const [i, w] of waits.slice(0, 5).entries()) {
    const b = bounds[i] as number;
    assert.ok(w >= b / 2 && w <= b, `wait ${i} was ${w} ms, expected ${b / 2}..${b}`);
  }

  await p.up();
  await waitFor(() => cache.get(`${f.id}-during`), {
    timeoutMs: 15_000,
    what: 'the node made during the outage',
  });
  assert.equal(cache.stats().lists, 1, 'resumed from its resourceVersion, not listed again');
  await deleteNode(f.kube, `${f.id}-during`);
  await waitFor(() => !cache.get(`${f.id}-during`), { what: 'a deletion after the outage' });
});

// A 5,000-node / 150,000-pod cluster as objects on a real kube-apiserver (nodes KWOK
// manages, pods bound to them with requests), and the real metrics-listener and
// decision-engine processes run against it: the time of a full resync (list and watch of
// every node and pod until the caches are synced), the time of a steady-state sampling
// round (p50/p99 of the service's own per-round measurement), and the RSS of both
// services. Reported, never asserted.
//
//   node --expose-gc bench/src/cluster-scale.bench.ts [--nodes 5000] [--pods-per-node 30] [--pools 5] [--rounds 30]
//     [--page-sizes 500[,5000...]] [--resyncs floor,typed,pages,stream]
//
// The cluster is big enough to disturb everything else on the shared stack, so it gets a
// control plane of its own: scripts/stack's k8s component in a separate run directory
// ($SCALEWISE_HOME/run-bench-cluster) on other ports (API 16443). Its etcd keeps the
// objects between runs, so a second run only creates what is missing.
// `--down` stops that control plane; `--reset` also deletes its data.
//
// KWOK makes the nodes Ready and keeps their leases; the pods are bound (spec.nodeName) and
// labelled scalewise.io/kwok-no-start, which KWOK's pod-ready stage skips: running 150,000
// pods is a status write each, most of an hour on two cores. Utilisation counts a bound
// pod's requests whatever its phase (as the scheduler does), so a round does the same work.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import {
  apiGet,
  apiListerWatcher,
  connectKube,
  INITIAL_EVENTS_END,
  type Kube,
  kwokNodeManifest,
  type ListerWatcher,
  type NodeInfo,
  nodeCache,
  nodeProjection,
  type PodInfo,
  podCache,
  podProjection,
  WatchCache,
} from '@scalewise/kube';
import { getStack, kubeAdmin, serversYaml, uniqueName } from '@scalewise/testing';
import { benchArgs } from './args.ts';
import { bundleAsImage } from './image.ts';
import { pct } from './stats.ts';

const { counts, values } = benchArgs(
  { nodes: 5000, 'pods-per-node': 30, pools: 5, rounds: 30 },
  {
    'page-sizes': { type: 'string', default: '500' },
    resyncs: { type: 'string', default: 'floor,typed,pages,stream' },
    down: { type: 'boolean', default: false },
    reset: { type: 'boolean', default: false },
  },
);
const { nodes: nodeCount, 'pods-per-node': podsPerNode, pools: poolCount, rounds } = counts;
const pageSizes = values['page-sizes'].split(',').map(Number);
const resyncModes = values.resyncs.split(',');
for (const m of resyncModes) {
  if (!['floor', 'typed', 'pages', 'stream'].includes(m))
    throw new Error(`--resyncs takes floor, typed, pages and stream separated by commas, got '${m}'`);
}
for (const size of pageSizes) {
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(
      `--page-sizes must be positive integers separated by commas, got '${values['page-sizes']}'`,
    );
  }
}

const repo = resolve(import.meta.dirname, '../..');
const stackScript = join(repo, 'scripts', 'stack');
const home = process.env.SCALEWISE_HOME ?? join(homedir(), '.cache', 'scalewise');
const stackEnv = {
  ...process.env,
  SCALEWISE_HOME: home,
  SCALEWISE_RUN_DIR: join(home, 'run-bench-cluster'),
  SCALEWISE_K8S_PORT: '16443',
  SCALEWISE_ETCD_PORT: '12379',
  SCALEWISE_ETCD_PEER_PORT: '12380',
  SCALEWISE_KCM_PORT: '12257',
  SCALEWISE_SCHEDULER_PORT: '12259',
  SCALEWISE_KWOK_PORT: '12247',
};
const stackCmd = (...args: string[]) => {
  const r = spawnSync(stackScript, args, { env: stackEnv, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/stack ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout.trim();
};

if (values.down || values.reset) {
  stackCmd('down', 'k8s');
  if (values.reset) rmSync(stackEnv.SCALEWISE_RUN_DIR, { recursive: true, force: true });
  console.log(values.reset ? 'bench control plane stopped and deleted' : 'bench control plane stopped');
  process.exit(0);
}

const t0 = performance.now();
stackCmd('up', 'k8s');
const kubeconfig = stackCmd('kubeconfig');
const kube = connectKube({ kubeconfig });
/** client-node's typed API, for the `typed` resync (the way the caches listed before). */
const typed = kubeAdmin(kubeconfig);
const ns = 'bench-cluster';
const pools = Array.from({ length: poolCount }, (_, i) => `bench-${i}`);
const nodeName = (i: number) => `bench-node-${String(i).padStart(5, '0')}`;
console.log(`control plane up in ${((performance.now() - t0) / 1000).toFixed(1)} s (${kubeconfig})`);

/** Runs `fn` over `items` with at most `width` calls in flight. */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}
const status = (err: unknown) => (err as { code?: number }).code;
/** Creates, with "already exists" as success and a few retries for a dropped connection or a 5xx
 * (the API server closes HTTP/2 connections now and then under this load). */
async function create(fn: () => Promise<unknown>) {
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return;
    } catch (err) {
      const code = status(err);
      if (code === 409) return;
      if (attempt >= 6 || (typeof code === 'number' && code < 500 && code !== 429)) throw err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
}

/** The pods of the namespace matching a field selector, counted page by page (the API sets
 * remainingItemCount only for lists without selectors). */
async function countPods(k: Kube, fieldSelector?: string) {
  let n = 0;
  let cont: string | undefined;
  do {
    const page = await k.core.listNamespacedPod({
      namespace: ns,
      limit: 5000,
      ...(fieldSelector ? { fieldSelector } : {}),
      ...(cont ? { _continue: cont } : {}),
    });
    n += page.items.length;
    cont = page.metadata?.continue;
  } while (cont);
  return n;
}

async function populate(k: Kube) {
  const t = performance.now();
  await create(() => k.core.createNamespace({ body: { metadata: { name: ns } } }));
  // Pods are refused until the controller manager has made the namespace's default account.
  while ((await k.core.listNamespacedServiceAccount({ namespace: ns })).items.length === 0) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const existingNodes = new Set(
    (await k.core.listNode({ labelSelector: 'scalewise.io/bench=cluster-scale' })).items.map(
      (n) => n.metadata?.name,
    ),
  );
  const missing = Array.from({ length: nodeCount }, (_, i) => i).filter(
    (i) => !existingNodes.has(nodeName(i)),
  );
  await inParallel(missing, 32, async (i) => {
    const node = kwokNodeManifest({
      name: nodeName(i),
      pool: pools[i % poolCount] as string,
      cpuMillicores: 32_000,
      memoryBytes: 128 * 2 ** 30,
      labels: { 'scalewise.io/bench': 'cluster-scale' },
    });
    await create(() => k.core.createNode({ body: node }));
  });
  const nodesMs = performance.now() - t;
  const total = nodeCount * podsPerNode;
  const have = await countPods(k);
  let created = 0;
  if (have < total) {
    const names = new Set<string>();
    let cont: string | undefined;
    do {
      const page = await k.core.listNamespacedPod({
        namespace: ns,
        limit: 5000,
        ...(cont ? { _continue: cont } : {}),
      });
      for (const p of page.items) if (p.metadata?.name) names.add(p.metadata.name);
      cont = page.metadata?.continue;
    } while (cont);
    const todo: [number, number][] = [];
    for (let i = 0; i < nodeCount; i++)
      for (let j = 0; j < podsPerNode; j++) if (!names.has(`${nodeName(i)}-p${j}`)) todo.push([i, j]);
    const started = performance.now();
    await inParallel(todo, 64, async ([i, j]) => {
      await create(() =>
        k.core.createNamespacedPod({
          namespace: ns,
          body: {
            metadata: {
              name: `${nodeName(i)}-p${j}`,
              labels: { app: `app-${j % 50}`, 'scalewise.io/kwok-no-start': 'true' },
            },
            spec: {
              nodeName: nodeName(i),
              tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
              containers: [
                { name: 'c', image: 'bench', resources: { requests: { cpu: '500m', memory: '1Gi' } } },
              ],
            },
          },
        }),
      );
      if (++created % 10_000 === 0)
        console.log(
          `  ${created}/${todo.length} pods created, ${Math.round(created / ((performance.now() - started) / 1000))}/s`,
        );
    });
  }
  return { nodesCreated: missing.length, nodesMs, podsCreated: created, populateMs: performance.now() - t };
}

async function waitReady(k: Kube, timeoutMs: number) {
  const t = performance.now();
  let ready = 0;
  while (performance.now() - t < timeoutMs) {
    const nodes = await k.core.listNode({ labelSelector: 'scalewise.io/bench=cluster-scale' });
    ready = nodes.items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
    if (ready === nodeCount) break;
    await new Promise((r) => setTimeout(r, 5000));
  }
  return { ready, waitMs: performance.now() - t };
}

const pop = await populate(kube);
console.log(
  `populated: ${pop.nodesCreated} nodes created in ${(pop.nodesMs / 1000).toFixed(1)} s, ${pop.podsCreated} pods; ${(pop.populateMs / 1000).toFixed(1)} s in all`,
);
const settled = await waitReady(kube, 20 * 60_000);
console.log(
  `KWOK: ${settled.ready}/${nodeCount} nodes Ready (waited ${(settled.waitMs / 1000).toFixed(1)} s); the pods stay bound and Pending`,
);

// A full resync as metrics-listener does it at start, side by side in this process, each mode
// listing every node and pod once (nodes and pods at the same time, as the caches do):
// - the floor: the API server's own time to send the lists, the bytes read and dropped, paged
//   (pages of the first --page-sizes) and streamed (sendInitialEvents, up to the bookmark
//   that ends the initial events);
// - typed: what the caches did before (client-node's typed lists, then the projection);
// - pages: packages/kube's caches with the list read in pages of raw JSON;
// - stream: packages/kube's caches as they run (a streaming list of raw JSON).
const resyncs: { mode: string; ms: number; heapMiB: number }[] = [];

/** Reads a list's pages and drops the bytes; the next page's token from the first bytes of each. */
async function floorPaged(path: string, limit: number): Promise<number> {
  const signal = AbortSignal.timeout(10 * 60_000);
  let token: string | undefined;
  let bytes = 0;
  do {
    const res = await apiGet(kube, path, { limit, continue: token }, { signal, idleMs: 60_000 });
    let head = '';
    for await (const chunk of res) {
      const b = chunk as Buffer;
      bytes += b.length;
      if (head.length < 4096) head += b.toString('latin1', 0, Math.min(b.length, 4096));
    }
    token = /"metadata":\{[^{}]*?"continue":"([^"]+)"/.exec(head)?.[1];
  } while (token);
  return bytes;
}
/** Reads a streaming list up to the bookmark that ends its initial events, dropping the bytes. */
async function floorStreamed(path: string): Promise<number> {
  const stream = new AbortController();
  const res = await apiGet(
    kube,
    path,
    {
      watch: true,
      sendInitialEvents: true,
      resourceVersionMatch: 'NotOlderThan',
      allowWatchBookmarks: true,
      timeoutSeconds: 600,
    },
    { signal: stream.signal, idleMs: 60_000 },
  );
  let bytes = 0;
  let tail = '';
  try {
    for await (const chunk of res) {
      const b = chunk as Buffer;
      bytes += b.length;
      const text = tail + b.toString('latin1', Math.max(0, b.length - 4096));
      if (text.includes(INITIAL_EVENTS_END)) break;
      tail = text.slice(-64);
    }
  } finally {
    stream.abort();
  }
  return bytes;
}
/** The lists as the caches read them before: client-node's typed models, then projected. */
function typedSource(resource: 'nodes' | 'pods'): ListerWatcher<unknown> {
  const real = apiListerWatcher(kube, resource);
  return {
    async list({ limit, continue: token }) {
      const request = { limit, ...(token ? { _continue: token } : {}) };
      const list =
        resource === 'nodes'
          ? await typed.core.listNode(request)
          : await typed.core.listPodForAllNamespaces(request);
      return {
        items: list.items,
        resourceVersion: list.metadata?.resourceVersion ?? '',
        continue: list.metadata?._continue,
      };
    },
    watch: real.watch,
  };
}
async function cacheResync(mode: string, caches: readonly [WatchCache<NodeInfo>, WatchCache<PodInfo>]) {
  global.gc?.();
  const t = performance.now();
  for (const c of caches) c.start();
  await Promise.all(caches.map((c) => c.synced));
  const ms = performance.now() - t;
  // What the caches hold (with --expose-gc: garbage collected first).
  global.gc?.();
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  resyncs.push({ mode, ms, heapMiB });
  console.log(
    `resync, ${mode}: ${caches[0].size} nodes and ${caches[1].size} pods in ${(ms / 1000).toFixed(2)} s; heap then ${heapMiB.toFixed(0)} MiB`,
  );
  await Promise.all(caches.map((c) => c.stop()));
}
const withoutStream = <R>(lw: ListerWatcher<R>): ListerWatcher<R> => ({ list: lw.list, watch: lw.watch });

for (const mode of resyncModes) {
  const pageSize = pageSizes[0] as number;
  if (mode === 'floor') {
    for (const paged of [true, false]) {
      global.gc?.();
      const t = performance.now();
      const bytes: number[] = await Promise.all(
        ['/api/v1/nodes', '/api/v1/pods'].map((path) =>
          paged ? floorPaged(path, pageSize) : floorStreamed(path),
        ),
      );
      const ms = performance.now() - t;
      const what = paged ? `floor, pages of ${pageSize}` : 'floor, streamed';
      resyncs.push({ mode: what, ms, heapMiB: Number.NaN });
      console.log(
        `resync, ${what}: ${((bytes[0] as number) / 2 ** 20).toFixed(0)} + ${((bytes[1] as number) / 2 ** 20).toFixed(0)} MiB of JSON read in ${(ms / 1000).toFixed(2)} s`,
      );
    }
  } else if (mode === 'typed') {
    for (const size of pageSizes)
      await cacheResync(`typed, pages of ${size} (before)`, [
        new WatchCache(typedSource('nodes'), nodeProjection, { pageSize: size }),
        new WatchCache(typedSource('pods'), podProjection, { pageSize: size }),
      ]);
  } else if (mode === 'pages') {
    for (const size of pageSizes)
      await cacheResync(`raw JSON, pages of ${size}`, [
        new WatchCache(withoutStream(apiListerWatcher(kube, 'nodes')), nodeProjection, { pageSize: size }),
        new WatchCache(withoutStream(apiListerWatcher(kube, 'pods')), podProjection, { pageSize: size }),
      ]);
  } else {
    await cacheResync('raw JSON, streamed (as the caches run)', [nodeCache(kube), podCache(kube)]);
  }
}
const streamedMs = resyncs.find((r) => r.mode.startsWith('raw JSON, streamed'))?.ms ?? Number.NaN;
const floorMs = resyncs.find((r) => r.mode === 'floor, streamed')?.ms ?? Number.NaN;

// The services: real processes, Kafka/Redis/S3 of the shared stack, topics of their own.
const stack = await getStack();
const prefix = `${uniqueName('bench-scale')}.`;
const dir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
const configFile = join(dir, 'scalewise.yaml');
writeFileSync(
  configFile,
  `
cluster_id: bench-scale
autoscaler:
  pools:
${pools.map((p) => `    - { name: ${p}, min: 1, max: ${nodeCount}, node_size: { cpu_millicores: 32000, memory_mib: 131072 } }`).join('\n')}
  sensing: { sample_interval_seconds: 2 }
events: { topic_prefix: "${prefix}", group_prefix: "${prefix}", partitions: 3 }
${serversYaml(stack, { kubeconfig: kubeconfig })}
telemetry: { log_level: debug }
`,
);

interface Proc {
  child: ChildProcess;
  spawnedAt: number;
  lines: { at: number; log: Record<string, unknown> }[];
}
// As the images run them: each service bundled (scripts/build-service.mjs) and started with
// the Dockerfile's ENTRYPOINT and allocator settings from a directory holding only its dist/.
async function startService(name: string): Promise<Proc> {
  const how = await bundleAsImage(name, dir);
  const child = spawn(process.execPath, how.args, {
    cwd: how.cwd,
    env: { ...process.env, ...how.env, SCALEWISE_CONFIG: configFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const proc: Proc = { child, spawnedAt: performance.now(), lines: [] };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      proc.lines.push({ at: performance.now(), log: JSON.parse(line) as Record<string, unknown> });
    } catch {
      // not a log line
    }
  });
  return proc;
}
/** Resident set size and its peak, in MiB, from /proc. */
function rss(pid: number | undefined) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}
async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const t = performance.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (performance.now() - t > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
async function stop(p: Proc) {
  if (p.child.exitCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

const engine = await startService('decision-engine');
const listener = await startService('metrics-listener');
try {
  const synced = await until('metrics-listener to sync its caches', 10 * 60_000, () =>
    listener.lines.find((l) => l.log.msg === 'watch caches synced'),
  );
  const listenerSynced = rss(listener.child.pid);
  const samples = await until(`${rounds} sampling rounds`, rounds * 60_000, () => {
    const s = listener.lines.filter((l) => l.log.msg === 'sampled');
    return s.length >= rounds ? s : undefined;
  });
  const ms = samples.map((s) => Number(s.log.ms));
  const listenerLoaded = rss(listener.child.pid);
  const engineLoaded = rss(engine.child.pid);
  const first = samples[0]?.log ?? {};
  console.log(`\ncluster: ${first.nodes} nodes, ${first.pods} pods in the watch caches; ${poolCount} pools`);
  console.table({
    ...Object.fromEntries(
      resyncs.map((r) => [
        `full resync in this process, ${r.mode}`,
        {
          value: (r.ms / 1000).toFixed(2),
          unit: Number.isNaN(r.heapMiB) ? 's' : `s (heap ${r.heapMiB.toFixed(0)} MiB)`,
        },
      ]),
    ),
    'streamed resync / its floor': { value: (streamedMs / floorMs).toFixed(2), unit: 'x' },
    'metrics-listener: process start to caches synced': {
      value: ((synced.at - listener.spawnedAt) / 1000).toFixed(2),
      unit: 's',
    },
    'sampling round p50': { value: pct(ms, 50).toFixed(1), unit: 'ms' },
    'sampling round p99': { value: pct(ms, 99).toFixed(1), unit: 'ms' },
    'sampling round max': { value: Math.max(...ms).toFixed(1), unit: 'ms' },
    'metrics-listener RSS after sync': { value: listenerSynced.rssMiB.toFixed(1), unit: 'MiB' },
    [`metrics-listener RSS after ${rounds} rounds (peak)`]: {
      value: `${listenerLoaded.rssMiB.toFixed(1)} (${listenerLoaded.peakMiB.toFixed(1)})`,
      unit: 'MiB',
    },
    'decision-engine RSS, same time (peak)': {
      value: `${engineLoaded.rssMiB.toFixed(1)} (${engineLoaded.peakMiB.toFixed(1)})`,
      unit: 'MiB',
    },
  });
} finally {
  await Promise.all([stop(listener), stop(engine)]);
  rmSync(dir, { recursive: true, force: true });
}
console.log('the bench control plane keeps running; `node bench/src/cluster-scale.bench.ts --down` stops it');
process.exit(0);

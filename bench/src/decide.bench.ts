// The policy core and the decision engine, in one run:
//  1. decisions per second of the pure cores (decide, enforce) over a mixed stream of inputs,
//     and of the decision engine's step with its Redis compare-and-set around each input;
//  2. input event -> decision event latency through the real broker (the decision-engine
//     service consuming a trigger and publishing its decision; one at a time, p50/p99), and
//     the end-to-end throughput of a burst of triggers.
// Reported, never asserted.
//
//   node bench/src/decide.bench.ts [--inputs 100000] [--latency 300] [--burst 3000]

import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { loadConfig } from '@scalewise/config';
import { defineDecisionEngine } from '@scalewise/decision-engine';
import { decide, definePoolPolicy, type EngineInput, initialState } from '@scalewise/decision-engine/core';
import { createEvent, type EventData, type EventType, fromKafkaMessage, sampleData } from '@scalewise/events';
import {
  defineFloorPolicy,
  type EnforcerInput,
  enforce,
  initialEnforcerState,
} from '@scalewise/min-enforcer/core';
import { createPoolStore, emptyLedger, type Ledger, listed } from '@scalewise/pool';
import { createService } from '@scalewise/service';
import { createStateStore } from '@scalewise/state';
import { getStack, serversYaml, uniqueName } from '@scalewise/testing';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { benchArgs } from './args.ts';
import { pct } from './stats.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { counts } = benchArgs({ inputs: 100_000, latency: 300, burst: 3000 });
const { inputs: N, latency: L, burst: B } = counts;
const f = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

// A day in the life of a pool, one input per 5 s of simulated time: samples, pressure, idle
// stretches, pending pods, and node-manager's answers to what was decided.
function* stream(count: number): Generator<[EngineInput, number]> {
  const t0 = Date.parse('2026-11-22T00:00:00Z');
  const e = <T extends EventType>(type: T, data: Partial<EventData<T>>, i: number) =>
    ({
      id: `in-${i}`,
      type,
      source: '/bench',
      data: { ...sampleData[type], ...data },
    }) as unknown as EngineInput;
  let workers = 3;
  for (let i = 0; i < count; i++) {
    const now = t0 + i * 5000;
    const phase = Math.floor(i / 200) % 4;
    const k = i % 10;
    if (k === 0)
      yield [
        e(
          'io.scalewise.ClusterStateSynced',
          { workers, k8s_nodes: workers, docker_containers: workers, db_workers: workers },
          i,
        ),
        now,
      ];
    else if (phase === 0 && k === 5)
      yield [
        e(
          'io.scalewise.PendingPodsDetected',
          { pending_count: 3, requested_cpu_millicores: 6000, requested_memory_bytes: 2 ** 31 },
          i,
        ),
        now,
      ];
    else if (phase === 1 && k === 5)
      yield [e('io.scalewise.ResourcePressureAlert', { workers, cpu_avg: 90, memory_avg: 60 }, i), now];
    else if (phase === 2 && k === 5)
      yield [
        e('io.scalewise.UnderutilizationWarning', { workers, cpu_avg: 10, memory_avg: 15, duration: 400 }, i),
        now,
      ];
    else if (phase === 3 && k === 5)
      yield [
        {
          id: `in-${i}`,
          type: 'io.scalewise.trigger.scale',
          source: '/ci/pipeline',
          data: { pool: 'workers', action: 'set', target: 4, reason: 'bench' },
        },
        now,
      ];
    else {
      workers = Math.max(
        1,
        Math.min(20, workers + (phase === 2 ? -1 : phase === 0 ? 1 : 0) * (k === 9 ? 1 : 0)),
      );
      yield [
        e(
          'io.scalewise.PoolMetricsObserved',
          {
            workers,
            ready_workers: workers,
            cpu_avg: phase === 2 ? 12 : 55,
            memory_avg: phase === 2 ? 20 : 50,
            pending_pods: 0,
          },
          i,
        ),
        now,
      ];
    }
  }
}

const policy = definePoolPolicy({ name: 'workers', min: 1, max: 20, cooldownSeconds: 30 });
const inputs = [...stream(N)];

/** A pool of 3 listed workers, as state-sync leaves it. */
const listedPool = (n: number): Ledger =>
  listed(
    emptyLedger('workers'),
    Array.from({ length: n }, (_, i) => ({ name: `workers-${i}`, ready: true })),
    Date.parse('2026-11-22T00:00:00Z'),
  ).ledger;

function coreDecide() {
  let state = initialState([policy], {}, { workers: listedPool(3) });
  let out = 0;
  const t = performance.now();
  for (const [input, now] of inputs) {
    const d = decide(state, input, now);
    state = d.state;
    out += d.events.length;
  }
  return { ms: performance.now() - t, out };
}

function coreEnforce() {
  const floor = defineFloorPolicy({ name: 'workers', min: 2, max: 20 });
  let state = initialEnforcerState([floor], { workers: listedPool(1) });
  let out = 0;
  const t0 = Date.parse('2026-11-22T00:00:00Z');
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const input: EnforcerInput =
      i % 3 === 0
        ? { type: 'tick', id: `tick-${i}` }
        : ({
            id: `e-${i}`,
            type: 'io.scalewise.ClusterStateSynced',
            source: '/bench',
            data: { ...sampleData['io.scalewise.ClusterStateSynced'], workers: i % 7 },
          } as EnforcerInput);
    const r = enforce(state, input, t0 + i * 1000);
    state = r.state;
    out += r.events.length;
  }
  return { ms: performance.now() - t, out };
}

const stack = await getStack();

/**
 * decide() per input through Redis, two ways side by side: the engine's state alone in a
 * state store (one key, one version: how the engine kept it before the ledger), and the pool
 * record (the ledger and the engine's part, both versions checked: how it keeps it now).
 */
async function withStore(count: number) {
  const redis = new Redis(stack.redis.url);
  const alone = createStateStore<unknown, unknown>({ redis, namespace: uniqueName('bench-de') });
  const clusterId = uniqueName('bench-de');
  const record = createPoolStore<unknown, unknown>({ redis, clusterId, service: 'decision-engine' });
  const ledger0 = listedPool(3);
  const start = initialState([policy], {}, { workers: ledger0 });
  const run = async (kind: 'alone' | 'record') => {
    let out = 0;
    let ledger = ledger0;
    const t = performance.now();
    for (const [input, now] of inputs.slice(0, count)) {
      if (kind === 'alone') {
        const r = await alone.apply('workers', input.id, (s) => {
          const d = decide(
            { pools: { workers: (s ?? start.pools.workers) as never }, ledgers: { workers: ledger } },
            input,
            now,
          );
          ledger = d.state.ledgers.workers ?? ledger;
          return { state: d.state.pools.workers, outputs: d.events };
        });
        out += r.outputs.length;
      } else {
        const r = await record.apply('workers', input.id, (l, part) => {
          const d = decide(
            {
              pools: { workers: (part ?? start.pools.workers) as never },
              ledgers: { workers: l.syncedAt === null ? ledger0 : l },
            },
            input,
            now,
          );
          return { ledger: d.state.ledgers.workers ?? l, part: d.state.pools.workers, outputs: d.events };
        });
        out += r.outputs.length;
      }
    }
    return { ms: performance.now() - t, out, count };
  };
  const a = await run('alone');
  const r = await run('record');
  await alone.delete('workers');
  await record.delete('workers');
  await redis.quit();
  return { alone: a, record: r };
}

async function throughBroker() {
  const prefix = `${uniqueName('bench-de')}.`;
  const loaded = loadConfig({
    text: `
cluster_id: ${uniqueName('bench')}
autoscaler:
  pools:
    - name: workers
      min: 1
      max: 1000000
      behavior: { scale_up: { policies: [{ type: Pods, value: 1000000, period_seconds: 15 }] } }
events: { topic_prefix: "${prefix}", group_prefix: "${prefix}", partitions: 6 }
${serversYaml(stack)}
telemetry: { log_level: warn }
`,
    env: {},
  });
  const service = await createService(
    defineDecisionEngine({
      config: loaded,
      fromBeginning: true,
      telemetry: { logDestination: new Writable({ write: (_c, _e, done) => done() }) },
    }),
  );
  await service.start();
  const cid = loaded.config.cluster_id;
  const arrived = new Map<string, number>();
  let waiting: { id: string; done: () => void } | undefined;
  let want = Number.POSITIVE_INFINITY;
  let burstDone: () => void = () => {};
  const kafka = new Kafka({
    clientId: uniqueName('bench'),
    brokers: stack.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: uniqueName('bench-rec'), maxWaitTimeInMs: 10 });
  await consumer.connect();
  await consumer.subscribe({ topics: [`${prefix}decisions`], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const e = fromKafkaMessage({ key: message.key, value: message.value, headers: message.headers ?? {} });
      if (!e.causationid) return;
      arrived.set(e.causationid, performance.now());
      if (waiting?.id === e.causationid) waiting.done();
      if (arrived.size >= want) burstDone();
    },
  });
  await service.bus.publisher.publish(
    createEvent(
      'io.scalewise.ClusterStateSynced',
      { ...sampleData['io.scalewise.ClusterStateSynced'], workers: 1 },
      { source: '/bench', clusterid: cid },
    ),
  );
  const trigger = () =>
    createEvent(
      'io.scalewise.trigger.scale',
      { pool: 'workers', action: 'scale_up', count: 1, reason: 'bench' },
      { source: '/bench', clusterid: cid },
    );
  // Warm-up, then one at a time.
  const lat: number[] = [];
  for (let i = 0; i < L + 20; i++) {
    const e = trigger();
    const got = new Promise<void>((r) => (waiting = { id: e.id, done: r }));
    const t = performance.now();
    await service.bus.publisher.publish(e);
    await got;
    if (i >= 20) lat.push((arrived.get(e.id) ?? Number.NaN) - t);
  }
  // A burst: every trigger of one pool, in order, through the state store.
  arrived.clear();
  const burst = Array.from({ length: B }, trigger);
  const all = new Promise<void>((r) => (burstDone = r));
  want = B;
  const t = performance.now();
  for (let i = 0; i < burst.length; i += 500) await service.bus.publisher.publish(...burst.slice(i, i + 500));
  await all;
  const burstMs = performance.now() - t;
  await consumer.disconnect();
  await service.stop();
  return { lat, burstMs };
}

const d = coreDecide();
const en = coreEnforce();
const s = await withStore(Math.min(N, 5000));
const b = await throughBroker();

console.log(
  `decision core and engine, ${f(N)} inputs (node ${process.version}, ${new Date().toISOString()})`,
);
console.log('path                                     inputs/s     decisions out');
console.log(`decide() (pure)                     ${f((N / d.ms) * 1000).padStart(12)}     ${f(d.out)}`);
console.log(`enforce() (pure)                    ${f((N / en.ms) * 1000).padStart(12)}     ${f(en.out)}`);
console.log(
  `decide() + state store (part alone) ${f((s.alone.count / s.alone.ms) * 1000).padStart(12)}     ${f(s.alone.out)} (${f(s.alone.count)} inputs)`,
);
console.log(
  `decide() + pool record (ledger)     ${f((s.record.count / s.record.ms) * 1000).padStart(12)}     ${f(s.record.out)} (${f(s.record.count)} inputs)`,
);
console.log(
  `  the ledger's cost per input: ${f((s.record.ms - s.alone.ms) / s.record.count, 3)} ms (${f(s.alone.ms / s.record.count, 3)} -> ${f(s.record.ms / s.record.count, 3)} ms; 1 pipelined read + 1 EVALSHA either way)`,
);
console.log(`service, burst of ${f(B)} triggers     ${f((B / b.burstMs) * 1000).padStart(12)}     ${f(B)}`);
console.log('');
console.log(`trigger -> decision through the broker, one at a time (${L}):`);
console.log(
  `  p50 ${f(pct(b.lat, 50), 1)} ms   p99 ${f(pct(b.lat, 99), 1)} ms   max ${f(Math.max(...b.lat), 1)} ms`,
);
console.log(
  `  pure decide() per input: ${f((d.ms / N) * 1000, 2)} us; share of the p50: ${f((d.ms / N / pct(b.lat, 50)) * 100, 3)} %`,
);
process.exit(0);

// The event bus against raw kafkajs on the same broker, in one run: throughput of N events
// published in batches and consumed, and end-to-end latency (publish -> handler) of single
// events sent one at a time. The bus adds the CloudEvents codec, schema validation, Redis
// idempotency, breakers and spans; raw kafkajs sends JSON with acks=-1. Both on a topic of 1
// and of 6 partitions, one after the other in the same run. Reported, never asserted.
// "CPU us/event" is this process's CPU time (user + system) over the throughput phase per
// event: the producer and the consumer together, the broker's and Redis's own CPU left out; on
// a shared machine it moves less than events/s.
// --diagnostics adds two lines per partition count, to tell where the difference goes: raw
// kafkajs sending the bus's records (the same ce_* headers and JSON value, no envelope,
// validation or Redis), and the bus with its idempotency in memory instead of Redis.
//
//   node bench/src/bus.bench.ts [--events 20000] [--latency 500] [--partitions 1,6] [--diagnostics]
import { performance } from 'node:perf_hooks';
import { createBus, createSubscriber, memoryIdempotency } from '@scalewise/bus';
import { createEvent, sampleData, toKafkaMessage } from '@scalewise/events';
import { getStack, uniqueName } from '@scalewise/testing';
import { Kafka, logLevel } from 'kafkajs';
import { benchArgs } from './args.ts';
import { pct } from './stats.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { counts, values } = benchArgs(
  { events: 20_000, latency: 500 },
  {
    partitions: { type: 'string', default: '1,6' },
    diagnostics: { type: 'boolean', default: false },
  },
);
const partitionCounts = values.partitions.split(',').map((x) => Number(x.trim()));
for (const p of partitionCounts) {
  if (!Number.isInteger(p) || p < 1)
    throw new Error(`--partitions: a list of integers >= 1, got ${values.partitions}`);
}
const { events: N, latency: L } = counts;
const BATCH = 500;
const stack = await getStack();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Result {
  eventsPerSecond: number;
  /** This process's CPU time (user + system) per event of the throughput phase, in us. */
  cpuPerEvent: number;
  p50: number;
  p99: number;
}

/** A handler-side waiter: resolves when `count` arrivals were seen. */
function arrivals() {
  let seen = 0;
  let want = Number.POSITIVE_INFINITY;
  let done: () => void = () => {};
  const at = new Map<string, number>();
  return {
    hit(id: string) {
      at.set(id, performance.now());
      seen += 1;
      if (seen >= want) done();
    },
    until(count: number) {
      want = count;
      return seen >= count ? Promise.resolve() : new Promise<void>((r) => (done = r));
    },
    at,
    reset() {
      seen = 0;
      at.clear();
    },
  };
}

/** One event to send: its id and its number, which picks its key (the latency events: 0). */
type Numbered = { id: string; n: number };

/**
 * The throughput phase (N events in batches of BATCH), then the latency phase (L single
 * events, one at a time), `send` publishing each batch, as `got` sees them arrive.
 */
async function measure(
  got: ReturnType<typeof arrivals>,
  send: (batch: Numbered[]) => Promise<unknown>,
): Promise<Result> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i += BATCH) {
    await send(Array.from({ length: Math.min(BATCH, N - i) }, (_, j) => ({ id: `t-${i + j}`, n: i + j })));
  }
  await got.until(N);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  got.reset();
  const lat: number[] = [];
  for (let i = 0; i < L; i++) {
    const id = `l-${i}`;
    const sent = performance.now();
    await send([{ id, n: 0 }]);
    await got.until(i + 1);
    lat.push((got.at.get(id) ?? Number.NaN) - sent);
  }
  return {
    eventsPerSecond: N / seconds,
    cpuPerEvent: (cpu.user + cpu.system) / N,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
  };
}

/** Raw kafkajs; with `ceHeaders`, records as the bus writes them (headers and JSON value). */
async function raw(partitions: number, ceHeaders = false): Promise<Result> {
  const kafka = new Kafka({
    clientId: uniqueName('raw'),
    brokers: stack.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const topic = uniqueName('bench-raw');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: false });
  for (;;) {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    if (meta?.topics[0]?.partitions.every((p) => p.leader >= 0)) break;
    await sleep(100);
  }
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: uniqueName('raw-g') });
  const got = arrivals();
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (ceHeaders) {
        JSON.parse(String(message.value));
        got.hit(String(message.headers?.ce_id));
        return;
      }
      const body = JSON.parse(String(message.value)) as { id: string };
      got.hit(body.id);
    },
  });
  await sleep(3000); // group join
  const payload = sampleData['io.scalewise.PoolMetricsObserved'];
  const template = toKafkaMessage(
    createEvent('io.scalewise.PoolMetricsObserved', payload, { source: '/bench', clusterid: 'local' }),
  );
  const message = (id: string, key: string) =>
    ceHeaders
      ? { key, value: JSON.stringify(payload), headers: { ...template.headers, ce_id: id } }
      : { key, value: JSON.stringify({ id, data: payload }) };
  const result = await measure(got, (batch) =>
    producer.send({ topic, acks: -1, messages: batch.map(({ id, n }) => message(id, `pool-${n % 7}`)) }),
  );
  await consumer.disconnect();
  await producer.disconnect();
  return result;
}

/** The bus; with `memory`, its subscriber keeps processed events in memory, not in Redis. */
async function viaBus(partitions: number, memory = false): Promise<Result> {
  const topicPrefix = `${uniqueName('bench-bus')}.`;
  const bus = createBus({
    service: 'bench',
    clusterid: 'local',
    kafka: { clientId: uniqueName('bus'), brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING },
    redis: { url: stack.redis.url },
    s3: { ...stack.s3, bucket: uniqueName('bench-dlq') },
    topicPrefix,
    partitions,
  });
  await bus.start();
  const got = arrivals();
  const handlers = { 'io.scalewise.PoolMetricsObserved': async (e: { id: string }) => got.hit(e.id) };
  const sub = memory
    ? createSubscriber({
        kafka: bus.kafka,
        groupId: uniqueName('bus-g'),
        service: 'bench',
        clusterid: 'local',
        handlers,
        publisher: bus.publisher,
        dlq: bus.dlq,
        idempotency: memoryIdempotency(),
        topicPrefix,
      })
    : bus.subscribe({ groupId: uniqueName('bus-g'), handlers });
  await sub.start();
  await sleep(3000);
  const payload = sampleData['io.scalewise.PoolMetricsObserved'];
  const make = (id: string, i: number) =>
    createEvent(
      'io.scalewise.PoolMetricsObserved',
      { ...payload, pool: `pool-${i % 7}` },
      { source: '/bench', clusterid: 'local', id },
    );
  const result = await measure(got, (batch) =>
    bus.publisher.publish(...batch.map(({ id, n }) => make(id, n))),
  );
  if (memory) await sub.stop(10_000);
  await bus.stop(10_000);
  return result;
}

console.log(
  `${N} events in batches of ${BATCH}, ${L} single events for latency; broker ${stack.kafka.brokers.join(',')}`,
);
console.log('partitions  path            events/s     p50 ms    p99 ms  CPU us/event');
for (const partitions of partitionCounts) {
  const r = await raw(partitions);
  const b = await viaBus(partitions);
  const row = (name: string, x: Result) =>
    `${String(partitions).padStart(10)}  ${name}${x.eventsPerSecond.toFixed(0).padStart(10)}${x.p50.toFixed(1).padStart(11)}${x.p99.toFixed(1).padStart(10)}${x.cpuPerEvent.toFixed(1).padStart(13)}`;
  console.log(row('raw kafkajs   ', r));
  console.log(row('scalewise bus ', b));
  console.log(
    `${String(partitions).padStart(10)}  bus / raw: throughput ${(b.eventsPerSecond / r.eventsPerSecond).toFixed(2)}, p50 ${(b.p50 / r.p50).toFixed(2)}, p99 ${(b.p99 / r.p99).toFixed(2)}`,
  );
  if (values.diagnostics) {
    const h = await raw(partitions, true);
    const m = await viaBus(partitions, true);
    console.log(row('raw, ce_* hdrs', h));
    console.log(row('bus, mem idem.', m));
    console.log(
      `${String(partitions).padStart(10)}  raw with ce_* headers / raw: ${(h.eventsPerSecond / r.eventsPerSecond).toFixed(2)}; bus with idempotency in memory / raw: ${(m.eventsPerSecond / r.eventsPerSecond).toFixed(2)}`,
    );
  }
}
console.log(`process RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
process.exit(0);

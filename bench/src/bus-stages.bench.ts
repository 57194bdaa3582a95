// The CPU cost per record of each stage of the bus's path, beside the raw kafkajs path of
// bus.bench.ts, with no broker: what the bus adds to a record that raw kafkajs does not pay.
// Each stage runs over batches of 500 records (as the bus bench publishes them) in rounds for
// --ms milliseconds; the figure is this process's CPU time per record (user + system) of the
// best round, so that other load on a shared machine counts as little as it can. The Redis
// stage uses the stack's Redis (the batch's check and mark, as the subscriber does them; the
// server's own CPU is not counted). kafkajs' record encode is the patched one
// (patches/kafkajs@2.2.4.patch: the headers written into the record's encoder, sized once); the
// "as 2.2.4 shipped" row runs the unpatched code beside it, the same bytes.
// Reported, never asserted.
//
//   node bench/src/bus-stages.bench.ts [--ms 1500] [--no-redis]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createBreaker, createRedisIdempotency, inProcessSpan, withRetry } from '@scalewise/bus';
// kafkajs' own record encoder and decoder (what producer.send and the fetcher run per record).
import {
  decodeRecordBytes,
  encodeRecord,
  encodeRecordAsShipped,
} from '@scalewise/bus/test-support/kafkajs-record';
import { createEvent, fromKafkaMessage, sampleData, toKafkaMessage } from '@scalewise/events';
import { getStack, uniqueName } from '@scalewise/testing';
import { Redis } from 'ioredis';

const { values } = parseArgs({
  options: { ms: { type: 'string', default: '1500' }, 'no-redis': { type: 'boolean', default: false } },
});
const budgetMs = Number(values.ms);
const BATCH = 500;

const ctx = { firstOffset: '0', firstTimestamp: Date.now(), magicByte: 2, timestampType: 0 };

/** CPU microseconds per record of `fn` over a batch of BATCH records: the best of 6 rounds. */
async function perRecord(fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await fn(); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 6; round++) {
    let n = 0;
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    while (performance.now() - t0 < budgetMs / 6) {
      await fn();
      n += BATCH;
    }
    const used = process.cpuUsage(cpu);
    best = Math.min(best, (used.user + used.system) / n);
  }
  return best;
}

const payload = sampleData['io.scalewise.PoolMetricsObserved'];
const make = (i: number) =>
  createEvent(
    'io.scalewise.PoolMetricsObserved',
    { ...payload, pool: `pool-${i % 7}` },
    { source: '/bench', clusterid: 'local', id: `t-${i}` },
  );
const events = Array.from({ length: BATCH }, (_, i) => make(i));
const encoded = events.map((e) => toKafkaMessage(e));
const rawValues = events.map((e) => JSON.stringify({ id: e.id, data: payload }));
const busBytes = encoded.map(
  (m, i) =>
    encodeRecord({ offsetDelta: i, timestampDelta: 0, key: m.key, value: m.value, headers: m.headers })
      .buffer,
);
const rawBytes = rawValues.map(
  (v, i) => encodeRecord({ offsetDelta: i, timestampDelta: 0, key: `pool-${i % 7}`, value: v }).buffer,
);
const consumed = busBytes.map((b) => decodeRecordBytes(b, ctx));

const rows: [string, number, number][] = [];
const row = async (stage: string, raw: (() => unknown) | undefined, bus: () => unknown) => {
  rows.push([stage, raw ? await perRecord(raw) : 0, await perRecord(bus)]);
};

await row(
  'build the input (raw: JSON.stringify; bus: createEvent, schema parse)',
  () => rawValues.map((_, i) => JSON.stringify({ id: `t-${i}`, data: payload })),
  () => events.map((_, i) => make(i)),
);
await row('encode the envelope (bus: toKafkaMessage)', undefined, () => events.map((e) => toKafkaMessage(e)));
await row(
  'kafkajs record encode (raw: no headers; bus: ce_* headers)',
  () => rawValues.map((v, i) => encodeRecord({ offsetDelta: i, timestampDelta: 0, key: 'pool-0', value: v })),
  () =>
    encoded.map((m, i) =>
      encodeRecord({ offsetDelta: i, timestampDelta: 0, key: m.key, value: m.value, headers: m.headers }),
    ),
);
await row('kafkajs record encode, as 2.2.4 shipped (before the patch)', undefined, () =>
  encoded.map((m, i) =>
    encodeRecordAsShipped({
      offsetDelta: i,
      timestampDelta: 0,
      key: m.key,
      value: m.value,
      headers: m.headers,
    }),
  ),
);
await row(
  'kafkajs record decode (raw: no headers; bus: ce_* headers)',
  () => rawBytes.map((b) => decodeRecordBytes(b, ctx)),
  () => busBytes.map((b) => decodeRecordBytes(b, ctx)),
);
await row(
  'decode the event (raw: JSON.parse; bus: fromKafkaMessage, validation)',
  () => consumed.map((m) => JSON.parse(String(m.value))),
  () => consumed.map((m, i) => fromKafkaMessage(m, { topic: 't', partition: 0, offset: String(i) })),
);
const policy = { maxAttempts: 5, baseMs: 100, maxMs: 10_000 };
await row('run the handler (bus: withRetry and the CONSUMER span around it)', undefined, async () => {
  const where = { topic: 't', partition: 0, offset: '0', group: 'g' };
  for (const e of events) await inProcessSpan(e, where, () => withRetry(async () => e.id, policy));
});
if (!values['no-redis']) {
  const stack = await getStack();
  const redis = new Redis(stack.redis.url);
  const breaker = createBreaker('redis');
  const store = createRedisIdempotency(redis, breaker, { prefix: uniqueName('stages') });
  let round = 0;
  await row('idempotency: the check and the mark of a batch (MGET, one script)', undefined, async () => {
    round += 1;
    const keys = events.map((e) => ({ source: e.source, id: `${round}-${e.id}` }));
    await store.seenMany('g', keys);
    await store.markMany('g', keys);
  });
  breaker.shutdown();
  redis.disconnect();
}

console.log(`CPU us per record, batches of ${BATCH}, best of 6 rounds in ${budgetMs} ms per stage`);
console.log('stage'.padEnd(72), 'raw'.padStart(8), 'bus'.padStart(8));
let rawSum = 0;
let busSum = 0;
for (const [stage, r, b] of rows) {
  // The unpatched kafkajs rows are the comparison for the rows above them, not more stages.
  const alternative = stage.includes('(before the patch)');
  rawSum += alternative ? 0 : r;
  busSum += alternative ? 0 : b;
  console.log(stage.padEnd(72), (r ? r.toFixed(1) : '-').padStart(8), b.toFixed(1).padStart(8));
}
console.log(
  'sum (the unpatched rows left out)'.padEnd(72),
  rawSum.toFixed(1).padStart(8),
  busSum.toFixed(1).padStart(8),
);
process.exit(0);

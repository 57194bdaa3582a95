// The whole system under faults, one after another, on servers of the bench's own (a private
// Kafka and Redis, S3 behind a proxy that can be cut; the shared kube-apiserver, scheduler and
// KWOK): for each fault, with it in force, `--lost` floor nodes are deleted and an external
// system sends `--bad` triggers whose data breaks the schema and `--malformed` records that
// are not CloudEvents. Per fault it prints:
//
// - floor: seconds from the deletions until the pool has its minimum again (Kubernetes' count);
// - after back: of those, the seconds after the server or service was back (started again and
//   answering), for the faults that end by themselves: what Scalewise adds to the outage;
// - handled / produced: the bad triggers answered (TriggerRejected) plus the malformed records
//   dead-lettered, of those sent;
// - duplicates: answers beyond one per trigger, dead letters beyond one per record, and nodes
//   beyond the minimum once settled (a repair made twice);
// - dead letters: DeadLetterRecorded for this fault's records.
//
// The faults: none; S3 cut off (restored once the floor is whole: the dead letters wait for
// it); the broker SIGKILLed and started 3 s later; Redis stopped and started 3 s later
// (append-only file); each service SIGKILLed and started again at once. Never asserted;
// numbers for docs/benchmarks.md.
//
// `--brokers N` runs a KRaft cluster of N combined broker + controller nodes (topics with 3
// replicas, min.insync.replicas 2) instead of one broker: the broker fault then SIGKILLs the
// broker that serves the system most (leads the most partitions of its topics, coordinates the
// most of its consumer groups) and starts it again 3 s later; `--victim controller` SIGKILLs the
// KRaft quorum's leader (the active controller) instead. `--broker-props k=v,...` adds
// server.properties to every broker (e.g. broker.session.timeout.ms=3000).
//
//   node bench/src/chaos.bench.ts [--lost 2] [--bad 10] [--malformed 5] [--only <fault,...>] [--sources]
//     [--brokers 1] [--victim busiest|controller] [--broker-props k=v,...]

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type PrivateServer, startPrivateKafka, startPrivateRedis } from '@scalewise/bus/test-support';
import {
  dataOf,
  eventsOf,
  type ServiceName,
  type System,
  type SystemOptions,
  serviceNames,
  startSystem,
  waitForSynced,
} from '@scalewise/e2e';
import { createEvent, toKafkaMessage, topicKeys } from '@scalewise/events';
import { testKafka } from '@scalewise/testing';
import { imageLauncher } from './image.ts';

const { values } = parseArgs({
  options: {
    lost: { type: 'string', default: '2' },
    bad: { type: 'string', default: '10' },
    malformed: { type: 'string', default: '5' },
    only: { type: 'string' },
    sources: { type: 'boolean', default: false },
    brokers: { type: 'string', default: '1' },
    victim: { type: 'string', default: 'busiest' },
    'broker-props': { type: 'string' },
  },
});
const lost = Number(values.lost);
const brokerCount = Number(values.brokers);
if (!Number.isInteger(brokerCount) || brokerCount < 1) {
  throw new Error(`--brokers must be an integer >= 1, got ${values.brokers}`);
}
if (values.victim !== 'busiest' && values.victim !== 'controller') {
  throw new Error(`--victim must be busiest or controller, got ${values.victim}`);
}
const brokerProps = Object.fromEntries(
  (values['broker-props'] ?? '')
    .split(',')
    .filter((kv) => kv.trim() !== '')
    .map((kv) => {
      const [k, v] = kv.split('=');
      if (!k || v === undefined) throw new Error(`--broker-props: expected k=v, got ${kv}`);
      return [k.trim(), v.trim()];
    }),
);
const bad = Number(values.bad);
const malformed = Number(values.malformed);
for (const [k, v] of Object.entries({ lost, bad, malformed })) {
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${k} must be an integer >= 0, got ${v}`);
}
const MIN = 3;
if (lost > MIN) throw new Error(`--lost must be at most the minimum (${MIN}), got ${lost}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kafka = await startPrivateKafka({ brokers: brokerCount, properties: brokerProps });
const redis = await startPrivateRedis({ appendOnly: true });
const launch: SystemOptions['launch'] = values.sources
  ? undefined
  : imageLauncher(mkdtempSync(join(tmpdir(), 'scalewise-chaos-')));
const s: System = await startSystem({
  label: 'bench-chaos',
  pool: { min: MIN, max: 12, underutilizedForSeconds: 3600 },
  initialWorkers: MIN,
  // An ordinary repair back to the minimum, as in the outage tests: the losses of every fault
  // add up in the emergency window, and EmergencyScaleUp's larger target is not what is
  // measured here (nodes above the minimum would read as made twice).
  emergencyScaleThreshold: 1000,
  s3Proxy: true,
  servers: { kafkaBrokers: kafka.brokers, redisUrl: redis.url },
  ...(launch ? { launch } : {}),
});
const proxy = s.s3Proxy;
if (!proxy) throw new Error('the system has no S3 proxy');

/** Java's String.hashCode, as the broker hashes a group id to its __consumer_offsets partition. */
function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * The index of the broker whose loss hurts the system most: the most of its consumer groups
 * coordinated (each weighs as 3 partitions: every member of the group waits for the new
 * coordinator), then the most partitions of its topics led.
 */
async function busiestBroker(): Promise<number> {
  const admin = testKafka(s.stack).admin();
  await admin.connect();
  try {
    const topics = topicKeys.map((k) => s.topic(k));
    const { topics: meta } = await admin.fetchTopicMetadata({ topics: [...topics, '__consumer_offsets'] });
    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(`${s.name}.`));
    const per = kafka.brokers.map(() => ({ leads: 0, coordinates: 0 }));
    const at = (nodeId: number) => per[nodeId - 1] ?? { leads: 0, coordinates: 0 };
    for (const t of meta.filter((t) => topics.includes(t.name))) {
      for (const p of t.partitions) at(p.leader).leads++;
    }
    const offsets = meta.find((t) => t.name === '__consumer_offsets')?.partitions ?? [];
    for (const g of ours) {
      const h = javaHash(g);
      const partition = (h === -2147483648 ? 0 : Math.abs(h)) % offsets.length;
      const leader = offsets.find((p) => p.partitionId === partition)?.leader;
      if (leader !== undefined) at(leader).coordinates++;
    }
    const score = (i: number) => (per[i]?.coordinates ?? 0) * 3 + (per[i]?.leads ?? 0);
    const leader = kafka.quorumLeader();
    const busiest = per.reduce((best, _, i) => (score(i) > score(best) ? i : best), 0);
    const victim = values.victim === 'controller' && leader !== undefined ? leader : busiest;
    console.log(
      `brokers (node id: partitions led / groups coordinated of ${ours.length}): ${per
        .map((b, i) => `${i + 1}: ${b.leads} / ${b.coordinates}`)
        .join(
          ', ',
        )}; quorum leader (active controller) node ${leader === undefined ? '?' : leader + 1}; SIGKILLing node ${victim + 1}`,
    );
    return victim;
  } finally {
    await admin.disconnect();
  }
}
let downBroker: PrivateServer = kafka;

interface Fault {
  name: string;
  /** Puts the fault in force; returns what ends it (awaited after the floor is measured or at once). */
  start(): Promise<void>;
  /** Ends it: `at` 'floor' once the floor is whole, or a delay in ms after the start. */
  end: { at: 'floor' | number; run(): Promise<void> };
}
const faults: Fault[] = [
  { name: 'none', start: async () => undefined, end: { at: 'floor', run: async () => undefined } },
  { name: 'S3 cut off', start: () => proxy.cut(), end: { at: 'floor', run: () => proxy.restore() } },
  {
    name: 'broker SIGKILLed',
    start: async () => {
      downBroker = brokerCount === 1 ? kafka : kafka.broker(await busiestBroker());
      await downBroker.kill();
    },
    end: { at: 3000, run: () => downBroker.start() },
  },
  { name: 'Redis restarted', start: () => redis.stop(), end: { at: 3000, run: () => redis.start() } },
  ...serviceNames.map(
    (svc: ServiceName): Fault => ({
      name: `${svc} SIGKILLed`,
      start: () => s.kill(svc),
      end: {
        at: 0,
        run: async () => {
          await s.restart(svc);
        },
      },
    }),
  ),
];
const only = values.only?.split(',').map((x) => x.trim());
const chosen = only ? faults.filter((f) => only.includes(f.name)) : faults;
if (only && chosen.length !== only.length) {
  throw new Error(
    `--only: unknown fault in ${values.only}; the faults: ${faults.map((f) => f.name).join(', ')}`,
  );
}

/** Sends records as an external producer that retries until the broker acknowledges. */
async function produce(messages: { value: Buffer; headers: Record<string, string> }[]): Promise<void> {
  const k = testKafka(s.stack);
  for (;;) {
    const producer = k.producer();
    try {
      await producer.connect();
      await producer.send({
        topic: s.topic('triggers'),
        acks: -1,
        messages: messages.map((m) => ({ key: s.pool, ...m })),
      });
      return;
    } catch {
      await sleep(500);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }
}

const liveWorkers = async () => (await s.workers()).filter((n) => !n.metadata?.deletionTimestamp).length;

interface Row {
  fault: string;
  'floor (s)': string;
  'after back (s)': string;
  'handled / produced': string;
  duplicates: number;
  'dead letters': number;
  'extra nodes': number;
}
const rows: Row[] = [];

await waitForSynced(s, MIN);
for (const [round, fault] of chosen.entries()) {
  const t0 = Date.now();
  await fault.start();
  let backAt: number | undefined;
  const ending =
    typeof fault.end.at === 'number'
      ? sleep(fault.end.at)
          .then(() => fault.end.run())
          .then(() => {
            backAt = Date.now();
          })
      : undefined;
  // The losses, then the records, while the fault is in force.
  const names = (await s.workers()).slice(0, lost).map((n) => n.metadata?.name as string);
  const deleted = Date.now();
  await Promise.all(names.map((name) => s.kube.core.deleteNode({ name, gracePeriodSeconds: 0 })));
  const ids = Array.from({ length: bad }, (_, i) => {
    const e = createEvent(
      'io.scalewise.trigger.scale',
      { pool: s.pool, action: 'scale_up', count: 1 },
      { source: '/bench/chaos', clusterid: s.clusterId },
    );
    return {
      id: e.id,
      message: toKafkaMessage({
        ...e,
        data: { pool: s.pool, action: 'scale_up', count: 0, reason: `${round}/${i}` },
      }),
    };
  });
  const junkIds = Array.from({ length: malformed }, (_, i) => `chaos-${round}-junk-${i}`);
  const producing = produce([
    ...ids.map((t) => ({ value: t.message.value, headers: t.message.headers })),
    ...junkIds.map((id) => ({
      value: Buffer.from('{"pool": '),
      headers: { ce_id: id, ce_type: 'io.scalewise.trigger.scale' },
    })),
  ]);
  // The floor, as Kubernetes counts it.
  let floor = Number.NaN;
  let floorAt = Number.NaN;
  for (const deadline = Date.now() + 180_000; Date.now() < deadline; await sleep(100)) {
    if (lost === 0 || (await liveWorkers()) >= MIN) {
      floorAt = Date.now();
      floor = (floorAt - deleted) / 1000;
      break;
    }
  }
  await ending;
  const afterBack =
    backAt === undefined || Number.isNaN(floorAt)
      ? '-'
      : floorAt <= backAt
        ? 'whole before'
        : ((floorAt - backAt) / 1000).toFixed(1);
  if (fault.end.at === 'floor') await fault.end.run();
  await producing;
  // Every record answered or dead-lettered (or a timeout: counted as not handled).
  const idSet = new Set(ids.map((t) => t.id));
  const answers = () =>
    eventsOf(s, 'TriggerRejected', {
      where: (e) => idSet.has(dataOf(e, 'io.scalewise.TriggerRejected').trigger_id),
    });
  const letters = () =>
    eventsOf(s, 'DeadLetterRecorded', {
      since: t0 - 1000,
      where: (e) => dataOf(e, 'io.scalewise.DeadLetterRecorded').topic === s.topic('triggers'),
    });
  for (const deadline = Date.now() + 180_000; Date.now() < deadline; await sleep(200)) {
    const answered = new Set(answers().map((e) => dataOf(e, 'io.scalewise.TriggerRejected').trigger_id));
    if (answered.size >= bad && new Set(letters().map((e) => e.id)).size >= malformed) break;
  }
  await waitForSynced(s, MIN, { since: deleted, timeoutMs: 120_000 }).catch(() => undefined);
  // Room for a second answer, a second dead letter or a node made twice to show up.
  await sleep(3000);
  const answerIds = new Set(answers().map((e) => e.id));
  const answered = new Set(answers().map((e) => dataOf(e, 'io.scalewise.TriggerRejected').trigger_id));
  const letterData = letters().map((e) => ({ id: e.id, d: dataOf(e, 'io.scalewise.DeadLetterRecorded') }));
  const letterIds = new Set(letterData.map((l) => l.id));
  const records = new Set(letterData.map((l) => `${l.d.partition}/${l.d.offset}`));
  const extra = Math.max(0, (await liveWorkers()) - MIN);
  rows.push({
    fault: fault.name,
    'floor (s)': Number.isNaN(floor) ? 'not restored' : floor.toFixed(1),
    'after back (s)': afterBack,
    'handled / produced': `${answered.size + records.size} / ${bad + malformed}`,
    duplicates: answerIds.size - answered.size + (letterIds.size - records.size),
    'dead letters': letterIds.size,
    'extra nodes': extra,
  });
  console.log(JSON.stringify(rows.at(-1)));
  // Back to the minimum before the next fault when a repair overshot (scale-down is off):
  // the extra nodes deleted, as losses above the floor.
  if (extra > 0) {
    const spare = (await s.workers()).slice(MIN).map((n) => n.metadata?.name as string);
    await Promise.all(spare.map((name) => s.kube.core.deleteNode({ name, gracePeriodSeconds: 0 })));
    await waitForSynced(s, MIN, { timeoutMs: 60_000 }).catch(() => undefined);
  }
}

console.log(
  `\n${brokerCount === 1 ? 'one broker' : `${brokerCount} brokers (KRaft, 3 replicas, min.insync.replicas 2)`}${values['broker-props'] ? ` with ${values['broker-props']}` : ''}${brokerCount > 1 ? `; the broker fault kills the ${values.victim === 'controller' ? 'active controller' : 'busiest broker'}` : ''}; ${lost} floor node(s) lost, ${bad} bad triggers and ${malformed} malformed records per fault; pool min ${MIN}; services ${values.sources ? 'from sources' : 'as their images run them'}; 2 shared cores`,
);
console.table(rows);
await s.stop();
await kafka.destroy();
await redis.destroy();

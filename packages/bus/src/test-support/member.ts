// One replica of a consumer group in a process of its own, for tests that SIGKILL it: a bus
// subscribed to PoolMetricsObserved whose side effect is `SADD <effects> <name>:<event id>`.
// Prints one JSON line per state change on stdout: {"state":"handled"} after its first event,
// {"state":"failed","why":...} when its consumer stops for good; SIGTERM stops it gracefully
// (the bus drains and the consumer leaves its group).
//
//   node member.ts '<json of MemberOptions>'

import { Redis } from 'ioredis';
import { logLevel } from 'kafkajs';
import { createBus } from '../bus.ts';

export interface MemberOptions {
  /** This replica's name in the side effects. */
  name: string;
  brokers: string[];
  redisUrl: string;
  s3: {
    endpoint: string;
    accessKeyId: string;
    secretAccessKey: string;
    region: string;
    forcePathStyle: true;
  };
  bucket: string;
  topicPrefix: string;
  groupId: string;
  groupInstanceId?: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  effects: string;
}

const o = JSON.parse(process.argv[2] ?? '{}') as MemberOptions;
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const redis = new Redis(o.redisUrl);
const bus = createBus({
  service: 'member',
  clusterid: 'local',
  kafka: { clientId: o.name, brokers: o.brokers, logLevel: logLevel.NOTHING },
  redis: { url: o.redisUrl },
  s3: { ...o.s3, bucket: o.bucket },
  topicPrefix: o.topicPrefix,
  partitions: 3,
  membership: {
    sessionTimeoutMs: o.sessionTimeoutMs,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    ...(o.groupInstanceId ? { groupInstanceId: o.groupInstanceId } : {}),
  },
});
await bus.start();
let handled = false;
const sub = bus.subscribe({
  groupId: o.groupId,
  fromBeginning: true,
  handlers: {
    'io.scalewise.PoolMetricsObserved': async (e) => {
      await redis.sadd(o.effects, `${o.name}:${e.id}`);
      if (!handled) say({ state: 'handled' });
      handled = true;
    },
  },
});
await sub.start();
const watch = setInterval(() => {
  const why = sub.failure();
  if (why) {
    say({ state: 'failed', why });
    clearInterval(watch);
  }
}, 100);
process.once('SIGTERM', () => {
  clearInterval(watch);
  void bus.stop(10_000).then(() => {
    redis.disconnect();
    say({ state: 'stopped' });
    process.exit(0);
  });
});

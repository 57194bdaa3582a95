/**
 * The live stream's own consumer, one per replica: a consumer group of one member
 * (`<group prefix>alert-manager-stream-<replica>`, a name no other replica uses) over every
 * topic, so each replica reads every partition and its WebSocket clients see every event,
 * whichever replica they are connected to. It starts at the end of each partition and never
 * commits: a live feed has nothing to resume, and a group without offsets is dropped by the
 * broker once its member leaves (after `offsets.retention.check.interval.ms`).
 *
 * kafkajs has no manual partition assignment (every consumer is in a group), hence the group.
 * The history and the notifications stay in the shared groups, so they happen once per event.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Bus, BusLogger } from '@scalewise/bus';
import { type AnyScalewiseEvent, fromKafkaMessage, type RawRecord } from '@scalewise/events';

// kafkajs's types, as the bus hands its client out (alert-manager does not depend on kafkajs).
type Kafka = Bus['kafka'];
type Consumer = ReturnType<Kafka['consumer']>;
/** A record as the consumer hands it over (the parts the codec reads). */
interface ConsumedRecord {
  topic: string;
  partition: number;
  message: RawRecord & { offset: string };
}

export interface LiveFeed {
  /** This replica's group. */
  readonly groupId: string;
  /**
   * Joins and waits until the end of each partition is resolved: every event produced after
   * it returns is published to the hub. After `readyTimeoutMs` it returns all the same (a
   * warning logged), the consumer still joining.
   * @throws the kafkajs error when the consumer cannot connect or subscribe
   */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface LiveFeedDeps {
  kafka: Kafka;
  /** `consumerGroupId(config, 'alert-manager-stream-')`; the replica's name is appended. */
  groupPrefix: string;
  topics: readonly string[];
  publish(event: AnyScalewiseEvent): void;
  log: BusLogger;
  /** @default os.hostname() */
  replica?: string;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** @default 30000 */
  readyTimeoutMs?: number;
}

/** A group name part from a host or pod name: Kafka takes any string, ACL prefixes and logs read better plain. */
const plain = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100);

export function createLiveFeed(deps: LiveFeedDeps): LiveFeed {
  // Two replicas on one host (or one pod name reused) still get two groups.
  const groupId = `${deps.groupPrefix}${plain(deps.replica ?? hostname())}-${randomBytes(4).toString('hex')}`;
  let consumer: Consumer | undefined;
  return {
    groupId,
    async start() {
      const c = deps.kafka.consumer({
        groupId,
        // A live feed: a short wait between fetches keeps its latency low.
        maxWaitTimeInMs: 250,
        allowAutoTopicCreation: false,
        ...(deps.sessionTimeoutMs ? { sessionTimeout: deps.sessionTimeoutMs } : {}),
        ...(deps.heartbeatIntervalMs ? { heartbeatInterval: deps.heartbeatIntervalMs } : {}),
      });
      consumer = c;
      c.on(c.events.CRASH, ({ payload }) =>
        deps.log.error({ group: groupId, err: String(payload.error) }, 'live stream consumer crashed'),
      );
      const ready = firstFetchAfterJoin(c);
      await c.connect();
      await c.subscribe({ topics: [...deps.topics], fromBeginning: false });
      await c.run({
        autoCommit: false,
        eachMessage: async (payload) => publishDecoded(payload, deps.publish),
      });
      const timeoutMs = deps.readyTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const reading = await Promise.race([ready.then(() => true), late]);
      clearTimeout(timer);
      // Not fatal: kafkajs goes on joining, and the stream is not what the replica is for.
      if (reading)
        deps.log.info({ group: groupId, topics: deps.topics.length }, 'live stream consumer reading');
      else deps.log.warn({ group: groupId, timeout_ms: timeoutMs }, 'live stream consumer not reading yet');
    },
    async stop() {
      await consumer?.disconnect().catch(() => undefined);
      consumer = undefined;
    },
  };
}

/**
 * Resolves at the first fetch after the consumer joined: the end offsets are resolved in that
 * fetch, not at the join.
 */
function firstFetchAfterJoin(c: Consumer): Promise<void> {
  let joined = false;
  return new Promise<void>((resolve) => {
    const offJoin = c.on(c.events.GROUP_JOIN, () => {
      joined = true;
      offJoin();
    });
    const offFetch = c.on(c.events.FETCH, () => {
      if (!joined) return;
      offFetch();
      resolve();
    });
  });
}

/**
 * Publishes the record's event. A record that is not one the shared group dead-letters (or
 * skips, counted): the feed only shows events.
 */
async function publishDecoded(
  { topic, partition, message }: ConsumedRecord,
  publish: (event: AnyScalewiseEvent) => void,
): Promise<void> {
  let event: AnyScalewiseEvent;
  try {
    event = fromKafkaMessage(message, { topic, partition, offset: message.offset });
  } catch {
    return;
  }
  publish(event);
}

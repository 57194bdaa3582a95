import { ScalewiseError } from '@scalewise/errors';
import { type TopicKey, topicKeys, topicName } from '@scalewise/events';
import type { Admin } from 'kafkajs';

/**
 * The service that dead-letters an undecodable record of each topic: the one that would have
 * acted on it. Every other reader of the topic skips such a record (counted and logged), so
 * that a bad record makes one dead letter, not one per consumer group.
 */
export const deadLetterOwners: Readonly<Record<TopicKey, string>> = {
  metrics: 'decision-engine',
  signals: 'decision-engine',
  nodes: 'min-enforcer',
  decisions: 'node-manager',
  actions: 'decision-engine',
  state: 'min-enforcer',
  triggers: 'decision-engine',
  dlq: 'alert-manager',
  // alert-manager keeps every audit record in its history; nobody else reads the topic.
  audit: 'alert-manager',
};

export interface TopicOptions {
  /** @default 'scalewise.' */
  prefix?: string;
  /** Full names of single topics, overriding prefix + key. */
  names?: Partial<Record<TopicKey, string>>;
  /** @default 6 */
  partitions?: number;
  /**
   * Replicas per partition. @default the brokers' `default.replication.factor` (-1 in the
   * request; 1 on the single broker of the stack, 3 on a cluster of the test-support's)
   */
  replicationFactor?: number;
  /** @default every topic of DESIGN.md section 4 */
  topics?: readonly TopicKey[];
  /** How long to wait for every partition of the created topics to have a leader. @default 30000 */
  leaderTimeoutMs?: number;
}

/** Metadata errors a KRaft broker returns for a topic it created a moment ago. */
const settlingErrors = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
]);

/**
 * Creates the missing Scalewise topics (the brokers have auto-creation off) and waits until
 * every partition of them has a leader. Existing topics are left as they are.
 *
 * kafkajs' own `waitForLeaders` retries only LEADER_NOT_AVAILABLE, but a fresh KRaft broker
 * answers UNKNOWN_TOPIC_OR_PARTITION until the topic reaches its metadata cache
 * (tulios/kafkajs#815, #1563), so the wait is done here.
 * @returns the names created.
 */
export async function ensureTopics(admin: Admin, options: TopicOptions = {}): Promise<string[]> {
  const prefix = options.prefix ?? 'scalewise.';
  const wanted = (options.topics ?? topicKeys).map((k) => topicName(k, prefix, options.names));
  const existing = new Set(await admin.listTopics());
  const missing = wanted.filter((t) => !existing.has(t));
  if (missing.length > 0) {
    try {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: options.partitions ?? 6,
          replicationFactor: options.replicationFactor ?? -1,
        })),
      });
    } catch (err) {
      // Another process created them between listTopics and createTopics.
      if (!isTopicExists(err)) throw err;
    }
  }
  await waitForLeaders(admin, wanted, options.leaderTimeoutMs ?? 30_000);
  return missing;
}

function isTopicExists(err: unknown): boolean {
  const e = err as { type?: string; errors?: { type?: string }[] } | undefined;
  if (e?.type === 'TOPIC_ALREADY_EXISTS') return true;
  return (
    Array.isArray(e?.errors) &&
    e.errors.length > 0 &&
    e.errors.every((x) => x.type === 'TOPIC_ALREADY_EXISTS')
  );
}

/** The time of {@link whileSettling}: the wall clock, or a test's stepped one. */
export interface SettlingClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const wallClock: SettlingClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/**
 * Runs `fn` again while the broker answers with an error of a partition that is still settling
 * (a topic created or a leadership moved a moment ago), up to `timeoutMs`; the pauses double
 * from 50 ms to 1 s.
 * @throws the last error when it is of another kind or the time is up.
 */
export async function whileSettling<T>(
  fn: () => Promise<T>,
  timeoutMs = 30_000,
  clock: SettlingClock = wallClock,
): Promise<T> {
  const deadline = clock.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    try {
      return await fn();
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type === undefined || !settlingErrors.has(type) || clock.now() + delay > deadline) throw err;
    }
    await clock.sleep(delay);
  }
}

async function waitForLeaders(admin: Admin, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no metadata yet';
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      const leaderless = meta.flatMap((t) =>
        t.partitions
          .filter((p) => p.leader < 0 || p.partitionErrorCode !== 0)
          .map((p) => `${t.name}[${p.partitionId}]`),
      );
      if (leaderless.length === 0 && meta.length === topics.length) {
        // The metadata names a leader before that broker serves the partition (KRaft applies
        // the leadership a moment later: ListOffsets and Produce answer NOT_LEADER_FOR_PARTITION
        // meanwhile). Asking every partition for its offsets proves it is served.
        for (const t of topics) await admin.fetchTopicOffsets(t);
        return;
      }
      last = `partitions without a leader: ${leaderless.slice(0, 5).join(', ')}`;
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type === undefined || !settlingErrors.has(type)) throw err;
      last = type;
    }
    if (Date.now() + delay > deadline) {
      throw new ScalewiseError(
        'TIMEOUT',
        `topics ${topics.join(', ')} have no leaders after ${timeoutMs} ms (${last})`,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

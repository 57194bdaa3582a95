import { type TopicKey, topicKeys, topicName } from '@scalewise/events';
import type { Admin } from 'kafkajs';

export interface TopicOptions {
  /** @default 'scalewise.' */
  prefix?: string;
  /** @default 6 */
  partitions?: number;
  /** @default 1 */
  replicationFactor?: number;
  /** @default every topic of DESIGN.md section 4 */
  topics?: readonly TopicKey[];
}

/**
 * Creates the missing Scalewise topics (the brokers have auto-creation off) and waits for
 * their leaders. Existing topics are left as they are.
 * @returns the names created.
 */
export async function ensureTopics(admin: Admin, options: TopicOptions = {}): Promise<string[]> {
  const prefix = options.prefix ?? 'scalewise.';
  const wanted = (options.topics ?? topicKeys).map((k) => topicName(k, prefix));
  const existing = new Set(await admin.listTopics());
  const missing = wanted.filter((t) => !existing.has(t));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: options.partitions ?? 6,
      replicationFactor: options.replicationFactor ?? 1,
    })),
  });
  return missing;
}

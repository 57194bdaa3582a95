import { type Admin, Kafka, logLevel } from 'kafkajs';
import { uniqueName } from './names.ts';
import type { StackEndpoints } from './stack.ts';

/** A kafkajs client for the test servers, quiet unless something is wrong. */
export function testKafka(stack: StackEndpoints, clientId = uniqueName('test-client')): Kafka {
  return new Kafka({ clientId, brokers: stack.kafka.brokers, logLevel: logLevel.ERROR });
}

/**
 * Creates a topic that no other test uses and waits until its partitions have leaders.
 * @returns the topic's name.
 */
export async function freshTopic(
  stack: StackEndpoints,
  options: { prefix?: string; partitions?: number } = {},
): Promise<string> {
  const topic = uniqueName(options.prefix ?? 'test-topic');
  const admin: Admin = testKafka(stack).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: options.partitions ?? 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

/** A consumer group id that no other test uses. */
export function freshGroupId(prefix = 'test-group'): string {
  return uniqueName(prefix);
}

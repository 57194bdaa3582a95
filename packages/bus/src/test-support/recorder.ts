/**
 * Records the events that reach some topics, decoded, in the order each partition gave them:
 * how integration tests watch a service's outputs on the real broker.
 */
import { type AnyScalewiseEvent, fromKafkaMessage } from '@scalewise/events';
import { Kafka, logLevel } from 'kafkajs';

export interface Recorder {
  /** Every event seen so far, in arrival order. */
  readonly events: readonly AnyScalewiseEvent[];
  /** The events of some types, in arrival order. */
  of(...types: string[]): AnyScalewiseEvent[];
  stop(): Promise<void>;
}

/**
 * Starts a consumer of its own (a fresh group, from the beginning) on the given full topic
 * names and resolves once it has joined. Records that are not CloudEvents are kept out and
 * counted in `undecodable`.
 */
export async function recordTopics(
  brokers: string[],
  topics: string[],
  groupId: string,
): Promise<Recorder & { undecodable: number }> {
  const kafka = new Kafka({ clientId: groupId, brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const events: AnyScalewiseEvent[] = [];
  const rec = {
    events,
    undecodable: 0,
    of: (...types: string[]) => events.filter((e) => types.includes(e.type)),
    async stop() {
      await consumer.disconnect();
    },
  };
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const joined = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
  });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      try {
        events.push(
          fromKafkaMessage(
            { key: message.key, value: message.value, headers: message.headers ?? {} },
            { topic, partition, offset: message.offset },
          ),
        );
      } catch {
        rec.undecodable++;
      }
    },
  });
  await joined;
  return rec;
}

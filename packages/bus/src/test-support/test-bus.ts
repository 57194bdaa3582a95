/**
 * A bus of an integration test's own on the stack's servers: topic prefix, client id and
 * dead-letter bucket no other test shares, every log of kafkajs off.
 */
import type { EventType } from '@scalewise/events';
import { type StackEndpoints, uniqueName } from '@scalewise/testing';
import { logLevel } from 'kafkajs';
import type { Bus, BusConfig } from '../bus.ts';
import type { HandlerRegistry, Subscriber } from '../subscriber.ts';

/**
 * The config of a bus named `service` on `stack`, with `overrides` on top; its topic prefix is
 * `<label>-<unique>.`. Pure but for the unique names.
 */
export function testBusConfig(
  stack: StackEndpoints,
  service: string,
  label: string,
  overrides: Partial<BusConfig> = {},
): BusConfig & { topicPrefix: string } {
  return {
    service,
    clusterid: 'local',
    kafka: {
      clientId: uniqueName(`${label}-client`),
      brokers: stack.kafka.brokers,
      logLevel: logLevel.NOTHING,
    },
    redis: { url: stack.redis.url },
    s3: { ...stack.s3, bucket: uniqueName('dlq') },
    topicPrefix: `${uniqueName(label)}.`,
    partitions: 3,
    ...overrides,
  };
}

/**
 * `bus.subscribe(...)` with `handlers`, from the beginning of the topics, in a group of its own
 * unless `options` names one; started when it resolves.
 */
export async function subscribed<T extends EventType>(
  bus: Bus,
  handlers: HandlerRegistry<T>,
  options: Omit<Parameters<Bus['subscribe']>[0], 'groupId' | 'handlers'> & { groupId?: string } = {},
): Promise<Subscriber> {
  const sub = bus.subscribe({ groupId: uniqueName('g'), fromBeginning: true, handlers, ...options });
  await sub.start();
  return sub;
}

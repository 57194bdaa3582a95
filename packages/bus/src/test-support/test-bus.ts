/**
 * A bus of an integration test's own on the stack's servers: topic prefix, client id and
 * dead-letter bucket no other test shares, every log of kafkajs off.
 */
import { type StackEndpoints, uniqueName } from '@scalewise/testing';
import { logLevel } from 'kafkajs';
import type { BusConfig } from '../bus.ts';

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

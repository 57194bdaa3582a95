// What the benches that drive node-manager on the real API server share: node-manager as a
// service of its own with its logs discarded, a namespace ready to hold pods, and the events
// node-manager publishes on its nodes topic.

import { Writable } from 'node:stream';
import { loadConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, fromKafkaMessage } from '@scalewise/events';
import type { Kube } from '@scalewise/kube';
import { defineNodeManager } from '@scalewise/node-manager';
import { createService, type Service } from '@scalewise/service';
import { type Consumer, Kafka, logLevel } from 'kafkajs';

/** node-manager on the configuration `yaml`, started, reading its topics from the beginning. */
export async function startNodeManager(yaml: string, kube: Kube): Promise<Service> {
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const nm = await createService(
    defineNodeManager({
      config: loadConfig({ text: yaml, env: {} }),
      fromBeginning: true,
      kube,
      telemetry: { logDestination: quiet },
    }),
  );
  await nm.start();
  return nm;
}

/** Creates `namespace` and waits for its default service account (until then, pods are refused). */
export async function createNamespace(kube: Kube, namespace: string): Promise<void> {
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
  for (;;) {
    if ((await kube.core.listNamespacedServiceAccount({ namespace })).items.length > 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Calls `onEvent` with each event of the `<prefix>.nodes` topic, from its beginning, as it
 * arrives. Returns the consumer, to disconnect at the end.
 */
export async function onNodeEvents(
  brokers: string[],
  prefix: string,
  onEvent: (e: AnyScalewiseEvent) => void,
): Promise<Consumer> {
  const kafka = new Kafka({ clientId: prefix, brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${prefix}.bench`, maxWaitTimeInMs: 10 });
  await consumer.connect();
  await consumer.subscribe({ topics: [`${prefix}.nodes`], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) =>
      onEvent(fromKafkaMessage({ key: message.key, value: message.value, headers: message.headers ?? {} })),
  });
  return consumer;
}

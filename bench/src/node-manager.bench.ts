// node-manager on the real kube-apiserver with KWOK, Kafka, Redis: for 20 scale-ups of one
// worker each, the time from publishing the ScaleUpDecision to NodeReady on Kafka, and to the
// pod that was waiting for it Running (seen by polling the API every 20 ms). Reported, never
// asserted.
//
//   node bench/src/node-manager.bench.ts [--runs 20]

import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { loadConfig } from '@scalewise/config';
import { createEvent, fromKafkaMessage, sampleData } from '@scalewise/events';
import { connectKube, POOL_LABEL } from '@scalewise/kube';
import { defineNodeManager } from '@scalewise/node-manager';
import { createService } from '@scalewise/service';
import { getStack, serversYaml, uniqueName } from '@scalewise/testing';
import { Kafka, logLevel } from 'kafkajs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(values.runs);
const stack = await getStack({ kubernetes: true });
if (!stack.kubernetes) throw new Error('no Kubernetes API');
const kube = connectKube({ kubeconfig: stack.kubernetes.kubeconfig });
const pool = uniqueName('bench-nm')
  .replace(/[^a-z0-9-]/g, '-')
  .slice(0, 40);
const yaml = `
cluster_id: ${pool}
autoscaler:
  pools: [{ name: ${pool}, min: 0, max: 100, node_size: { cpu_millicores: 1000, memory_mib: 2048 } }]
events: { topic_prefix: "${pool}.", group_prefix: "${pool}.", partitions: 3 }
${serversYaml(stack)}
telemetry: { log_level: error }
`;
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
await kube.core.createNamespace({ body: { metadata: { name: pool } } });
for (;;) {
  if ((await kube.core.listNamespacedServiceAccount({ namespace: pool })).items.length > 0) break;
  await new Promise((r) => setTimeout(r, 100));
}
const ready = new Map<string, number>();
const kafka = new Kafka({ clientId: pool, brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: `${pool}.bench`, maxWaitTimeInMs: 10 });
await consumer.connect();
await consumer.subscribe({ topics: [`${pool}.nodes`], fromBeginning: true });
await consumer.run({
  eachMessage: async ({ message }) => {
    const e = fromKafkaMessage({ key: message.key, value: message.value, headers: message.headers ?? {} });
    if (e.type === 'io.scalewise.NodeReady')
      ready.set((e.data as { action_id: string }).action_id, performance.now());
  },
});
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN;
const toReady: number[] = [];
const toRunning: number[] = [];
for (let i = 0; i < runs; i++) {
  const name = `job-${i}`;
  await kube.core.createNamespacedPod({
    namespace: pool,
    body: {
      metadata: { name },
      spec: {
        nodeSelector: { [POOL_LABEL]: pool },
        containers: [{ name: 'c', image: 'c', resources: { requests: { cpu: '800m', memory: '256Mi' } } }],
      },
    },
  });
  const d = createEvent(
    'io.scalewise.ScaleUpDecision',
    {
      ...sampleData['io.scalewise.ScaleUpDecision'],
      pool,
      current_workers: i,
      desired_workers: i + 1,
      count: 1,
    },
    { source: '/bench', clusterid: pool },
  );
  const t0 = performance.now();
  await nm.bus.publisher.publish(d);
  for (;;) {
    const p = await kube.core.readNamespacedPod({ name, namespace: pool });
    if (p.status?.phase === 'Running') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  toRunning.push(performance.now() - t0);
  while (!ready.has(d.id)) await new Promise((r) => setTimeout(r, 5));
  toReady.push((ready.get(d.id) as number) - t0);
}
console.log(
  `node-manager, ${runs} scale-ups of one KWOK worker (node ${process.version}, ${new Date().toISOString()})`,
);
console.log(
  `decision published -> NodeReady on Kafka:  p50 ${pct(toReady, 50).toFixed(0)} ms  p99 ${pct(toReady, 99).toFixed(0)} ms  max ${Math.max(...toReady).toFixed(0)} ms`,
);
console.log(
  `decision published -> waiting pod Running: p50 ${pct(toRunning, 50).toFixed(0)} ms  p99 ${pct(toRunning, 99).toFixed(0)} ms  max ${Math.max(...toRunning).toFixed(0)} ms`,
);
await consumer.disconnect();
await nm.stop();
await kube.core.deleteNamespace({ name: pool }).catch(() => undefined);
await kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${pool}` }).catch(() => undefined);
process.exit(0);

// node-manager's pods provider on the real kube-apiserver with KWOK, Kafka, Redis: for 20
// scale-ups of one worker pod each (a trigger's decision with a task id), the time from
// publishing the ScaleUpDecision to the worker pod Running (seen by polling the API every 20
// ms) and to its NodeReady on Kafka; then, after the bench writes the pod's Succeeded status
// (what the kubelet writes when the task exits 0), the time to NodeRemoved (reason completed)
// on Kafka and to the pod gone from the API. Reported, never asserted.
//
//   node bench/src/pods-provider.bench.ts [--runs 20]

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createEvent, sampleData } from '@scalewise/events';
import { connectKube, ensureWorker, isStatus, POOL_LABEL } from '@scalewise/kube';
import { getStack, kubeAdmin, serversYaml, uniqueName } from '@scalewise/testing';
import { createNamespace, onNodeEvents, startNodeManager } from './node-manager-kit.ts';
import { pct } from './stats.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(values.runs);
const stack = await getStack({ kubernetes: true });
if (!stack.kubernetes) throw new Error('no Kubernetes API');
const kube = connectKube({ kubeconfig: stack.kubernetes.kubeconfig });
const admin = kubeAdmin(stack.kubernetes.kubeconfig);
const pool = uniqueName('bench-pods')
  .replace(/[^a-z0-9-]/g, '-')
  .slice(0, 40);
const host = `${pool}-host`;
const yaml = `
cluster_id: ${pool}
autoscaler:
  pools:
    - name: ${pool}
      provider: pods
      min: 0
      max: 100
      provider_options:
        namespace: ${pool}
        image: busybox:1.36
        args: [sh, -c, "run-task $TASK_ID"]
        resources: { requests: { cpu: 100m, memory: 64Mi } }
        node_selector: { kubernetes.io/hostname: ${host} }
events: { topic_prefix: "${pool}.", group_prefix: "${pool}.", partitions: 3 }
${serversYaml(stack)}
telemetry: { log_level: error }
`;
await createNamespace(kube, pool);
await ensureWorker(kube, { name: host, pool: host, cpuMillicores: 64_000, memoryBytes: 128 * 2 ** 30 });
const nm = await startNodeManager(yaml, kube);
/** NodeReady by action id; NodeRemoved (completed) by worker name. */
const ready = new Map<string, number>();
const removed = new Map<string, number>();
const consumer = await onNodeEvents(stack.kafka.brokers, pool, (e) => {
  const d = e.data as { action_id: string; node_name: string; reason?: string };
  if (e.type === 'io.scalewise.NodeReady') ready.set(d.action_id, performance.now());
  if (e.type === 'io.scalewise.NodeRemoved' && d.reason === 'completed')
    removed.set(d.node_name, performance.now());
});
const until = async (ok: () => Promise<boolean> | boolean, ms = 20) => {
  while (!(await ok())) await new Promise((r) => setTimeout(r, ms));
};
const toRunning: number[] = [];
const toReady: number[] = [];
const toReported: number[] = [];
const toGone: number[] = [];
for (let i = 0; i < runs; i++) {
  const d = createEvent(
    'io.scalewise.ScaleUpDecision',
    {
      ...sampleData['io.scalewise.ScaleUpDecision'],
      pool,
      current_workers: 0,
      desired_workers: 1,
      count: 1,
      reason: 'trigger',
      explanation: {
        rule: 'trigger_scale_up',
        summary: 'bench',
        inputs: { trigger_action: 'scale_up', task_id: `task-${i}` },
        comparisons: [],
      },
    },
    { source: '/bench', clusterid: pool },
  );
  const t0 = performance.now();
  await nm.bus.publisher.publish(d);
  let name = '';
  await until(async () => {
    const pods = await kube.core.listNamespacedPod({
      namespace: pool,
      labelSelector: `scalewise.io/task-id=task-${i}`,
    });
    const p = pods.items[0];
    name = p?.metadata?.name ?? '';
    return p?.status?.phase === 'Running';
  });
  toRunning.push(performance.now() - t0);
  await until(() => ready.has(d.id), 5);
  toReady.push((ready.get(d.id) as number) - t0);
  // The task ends: the kubelet's status for a container that exited 0.
  const pod = await admin.core.readNamespacedPod({ name, namespace: pool });
  const now = new Date();
  pod.status = {
    ...pod.status,
    phase: 'Succeeded',
    containerStatuses: [
      {
        name: 'worker',
        image: 'busybox:1.36',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: now } },
      },
    ],
  };
  const t1 = performance.now();
  await admin.core.replaceNamespacedPodStatus({ name, namespace: pool, body: pod });
  await until(async () => {
    try {
      await kube.core.readNamespacedPod({ name, namespace: pool });
      return false;
    } catch (err) {
      if (isStatus(err, 404)) return true;
      throw err;
    }
  });
  toGone.push(performance.now() - t1);
  await until(() => removed.has(name), 5);
  toReported.push((removed.get(name) as number) - t1);
}
const line = (what: string, xs: number[]) =>
  console.log(
    `${what.padEnd(52)} p50 ${pct(xs, 50).toFixed(0)} ms  p99 ${pct(xs, 99).toFixed(0)} ms  max ${Math.max(...xs).toFixed(0)} ms`,
  );
console.log(
  `node-manager pods provider, ${runs} scale-ups of one worker pod (node ${process.version}, ${new Date().toISOString()})`,
);
line('decision published -> worker pod Running', toRunning);
line('decision published -> NodeReady on Kafka', toReady);
line('task Succeeded -> NodeRemoved (completed) on Kafka', toReported);
line('task Succeeded -> pod deleted', toGone);
await consumer.disconnect();
await nm.stop();
await kube.core.deleteNamespace({ name: pool }).catch(() => undefined);
await until(async () => (await kube.core.listNamespacedPod({ namespace: pool })).items.length === 0, 100);
await kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${host}` }).catch(() => undefined);
process.exit(0);

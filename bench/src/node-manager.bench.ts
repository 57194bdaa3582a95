// node-manager on the real kube-apiserver with KWOK, Kafka, Redis: for 20 scale-ups of one
// worker each, the time from publishing the ScaleUpDecision to NodeReady on Kafka, and to the
// pod that was waiting for it Running (seen by polling the API every 20 ms). Reported, never
// asserted. One pool per provider, their runs taking turns in one process:
//   kwok      node-manager creates the Node itself
//   external  node-manager asks the reference provisioner (services/provisioner, started here
//             as a process of its own, as its image runs) over HTTP; the provisioner boots the
//             machine (its Node registers as a kubelet's would) and node-manager's watch sees
//             it Ready: the contract's cost on top of the same API server
//
//   node bench/src/node-manager.bench.ts [--runs 20] [--providers kwok,external]

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createEvent, sampleData } from '@scalewise/events';
import { connectKube, POOL_LABEL } from '@scalewise/kube';
import { getStack, repositoryRoot, serversYaml, uniqueName } from '@scalewise/testing';
import { createNamespace, onNodeEvents, startNodeManager } from './node-manager-kit.ts';
import { pct } from './stats.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    providers: { type: 'string', default: 'kwok,external' },
  },
});
const runs = Number(values.runs);
const providers = values.providers.split(',');
for (const p of providers)
  if (p !== 'kwok' && p !== 'external') throw new Error(`--providers: kwok or external, not '${p}'`);
const stack = await getStack({ kubernetes: true });
if (!stack.kubernetes) throw new Error('no Kubernetes API');
const kube = connectKube({ kubeconfig: stack.kubernetes.kubeconfig });
const base = uniqueName('bench-nm')
  .replace(/[^a-z0-9-]/g, '-')
  .slice(0, 36);
const poolOf = (provider: string) => `${base}-${provider.slice(0, 3)}`;

/** The reference provisioner as its image runs it, on a free port, its records in a namespace of its own. */
async function startProvisioner(): Promise<{ url: string; stop: () => void }> {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', join(repositoryRoot(), 'services/provisioner/src/main.ts')],
    {
      env: {
        ...process.env,
        KUBECONFIG: stack.kubernetes?.kubeconfig,
        PROVISIONER_NAMESPACE: `${base}-prov`,
        SCALEWISE_HTTP_HOST: '127.0.0.1',
        SCALEWISE_HTTP_PORT: String(port),
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the provisioner exited (${child.exitCode})`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (i > 600) throw new Error('the provisioner was not ready within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop: () => child.kill('SIGTERM') };
}
const provisioner = providers.includes('external') ? await startProvisioner() : undefined;
const poolYaml = (provider: string) =>
  `    - name: ${poolOf(provider)}
      min: 0
      max: 100
      node_size: { cpu_millicores: 1000, memory_mib: 2048 }
      provider: ${provider}${provider === 'external' ? `\n      provider_options: { url: "${provisioner?.url}", timeout_seconds: 5 }` : ''}`;
const yaml = `
cluster_id: ${base}
autoscaler:
  pools:
${providers.map(poolYaml).join('\n')}
events: { topic_prefix: "${base}.", group_prefix: "${base}.", partitions: 3 }
${serversYaml(stack)}
telemetry: { log_level: error }
`;
const nm = await startNodeManager(yaml, kube);
const namespace = base;
await createNamespace(kube, namespace);
const ready = new Map<string, number>();
const consumer = await onNodeEvents(stack.kafka.brokers, base, (e) => {
  if (e.type === 'io.scalewise.NodeReady')
    ready.set((e.data as { action_id: string }).action_id, performance.now());
});
const toReady = new Map<string, number[]>(providers.map((p) => [p, []]));
const toRunning = new Map<string, number[]>(providers.map((p) => [p, []]));
for (let i = 0; i < runs; i++) {
  // The providers take turns: whatever else the machine does lands on both alike.
  for (const provider of providers) {
    const pool = poolOf(provider);
    const name = `job-${provider}-${i}`;
    await kube.core.createNamespacedPod({
      namespace,
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
      { source: '/bench', clusterid: base },
    );
    const t0 = performance.now();
    await nm.bus.publisher.publish(d);
    for (;;) {
      const p = await kube.core.readNamespacedPod({ name, namespace });
      if (p.status?.phase === 'Running') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    toRunning.get(provider)?.push(performance.now() - t0);
    while (!ready.has(d.id)) await new Promise((r) => setTimeout(r, 5));
    toReady.get(provider)?.push((ready.get(d.id) as number) - t0);
  }
}
console.log(
  `node-manager, ${runs} scale-ups of one worker per provider, taking turns (node ${process.version}, ${new Date().toISOString()})`,
);
const line = (what: string, xs: number[]) =>
  `${what}  p50 ${pct(xs, 50).toFixed(0)} ms  p99 ${pct(xs, 99).toFixed(0)} ms  max ${Math.max(...xs).toFixed(0)} ms`;
for (const provider of providers) {
  console.log(
    line(`${provider.padEnd(8)} decision published -> NodeReady on Kafka: `, toReady.get(provider) ?? []),
  );
  console.log(
    line(`${provider.padEnd(8)} decision published -> waiting pod Running:`, toRunning.get(provider) ?? []),
  );
}
if (providers.length === 2) {
  const [a, b] = providers as [string, string];
  const ratio = pct(toReady.get(b) ?? [], 50) / pct(toReady.get(a) ?? [], 50);
  console.log(`NodeReady p50 ${b}/${a}: ${ratio.toFixed(2)}x`);
}
await consumer.disconnect();
await nm.stop();
provisioner?.stop();
await kube.core.deleteNamespace({ name: namespace }).catch(() => undefined);
await kube.core.deleteNamespace({ name: `${base}-prov` }).catch(() => undefined);
for (const provider of providers)
  await kube.core
    .deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${poolOf(provider)}` })
    .catch(() => undefined);
process.exit(0);

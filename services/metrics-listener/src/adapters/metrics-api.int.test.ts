// metrics.k8s.io for real: KWOK's resource-usage simulation (a second kwok beside the stack's,
// managing only this test's nodes, serving kubelet-style /metrics/resource from Metric and
// ClusterResourceUsage), metrics-server v0.9 (built from the Go module proxy by
// scripts/go-tool) scraping it, registered as the v1beta1.metrics.k8s.io APIService of the
// stack's kube-apiserver, and metrics-listener reading NodeMetrics through the apiserver's
// aggregation layer, with Kafka, Redis and S3.
//
// The stack's apiserver has no --proxy-client-cert-file (the aggregator sends no client
// certificate), so metrics-server sees its requests as system:anonymous: while the test runs,
// a ClusterRoleBinding lets system:anonymous get/list metrics.k8s.io nodes and pods only.
// The APIService, the binding, the namespace and the nodes are removed afterwards; the shared
// servers are not restarted or reconfigured.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { connectKube, POOL_LABEL, type V1Node } from '@scalewise/kube';
import {
  aggregatedServerFlags,
  freePort,
  grantAnonymous,
  integrationFixture,
  type Proc,
  registerApiService,
  repositoryRoot,
  revokeAnonymous,
  serviceYaml,
  startProcess,
  uniqueName,
  unregisterApiService,
  waitFor,
} from '@scalewise/testing';
import { recordedData, startListener } from '../test-support/listener.ts';
import { goTool, selfSignedCert } from '../test-support/processes.ts';
import { createMetricsApi } from './metrics-api.ts';

const METRICS_API = { group: 'metrics.k8s.io', version: 'v1beta1' };
const APISERVICE = 'v1beta1.metrics.k8s.io';
const SIM_LABEL = 'scalewise.io/metrics-sim';
const GiB = 2 ** 30;

/** One of KWOK's per-container metrics, labelled with the container, its pod and namespace. */
const containerMetric = (name: string, kind: 'gauge' | 'counter', value: string) => `  - name: ${name}
    dimension: container
    kind: ${kind}
    labels:
    - { name: container, value: 'container.name' }
    - { name: namespace, value: 'pod.metadata.namespace' }
    - { name: pod, value: 'pod.metadata.name' }
    value: '${value}'`;

// What KWOK serves per node (trimmed from kwok's kustomize/metrics/resource), and each pod's
// usage from its kwok.x-k8s.io/usage-cpu / usage-memory annotations (kustomize/metrics/usage).
const kwokMetrics = `
kind: Metric
apiVersion: kwok.x-k8s.io/v1alpha1
metadata:
  name: metrics-resource
spec:
  path: "/metrics/nodes/{nodeName}/metrics/resource"
  metrics:
  - { name: scrape_error, dimension: node, kind: gauge, value: '0' }
${containerMetric('container_start_time_seconds', 'gauge', 'pod.SinceSecond()')}
${containerMetric('container_cpu_usage_seconds_total', 'counter', 'pod.CumulativeUsage("cpu", container.name)')}
${containerMetric('container_memory_working_set_bytes', 'gauge', 'pod.Usage("memory", container.name)')}
  - { name: node_cpu_usage_seconds_total, dimension: node, kind: counter, value: 'node.CumulativeUsage("cpu")' }
  - { name: node_memory_working_set_bytes, dimension: node, kind: gauge, value: 'node.Usage("memory")' }
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterResourceUsage
metadata:
  name: usage-from-annotation
spec:
  usages:
  - usage:
      cpu:
        expression: '"kwok.x-k8s.io/usage-cpu" in pod.metadata.annotations ? Quantity(pod.metadata.annotations["kwok.x-k8s.io/usage-cpu"]) : Quantity("1m")'
      memory:
        expression: '"kwok.x-k8s.io/usage-memory" in pod.metadata.annotations ? Quantity(pod.metadata.annotations["kwok.x-k8s.io/usage-memory"]) : Quantity("1Mi")'
`;

const fx = integrationFixture({ kubernetes: true, connect: connectKube, recorder: recordTopics });
let dir: string;
let run: string;
const procs: Proc[] = [];

function simNode(name: string, pool: string): V1Node {
  const r = { cpu: '4', memory: '8Gi', pods: '110' };
  return {
    metadata: {
      name,
      // Not kwok.x-k8s.io/node=fake: the stack's kwok leaves these to this test's kwok.
      labels: { [SIM_LABEL]: run, [POOL_LABEL]: pool, type: 'kwok', 'kubernetes.io/hostname': name },
      annotations: {
        'kwok.x-k8s.io/node': 'fake',
        'metrics.k8s.io/resource-metrics-path': `/metrics/nodes/${name}/metrics/resource`,
      },
    },
    spec: { taints: [{ key: SIM_LABEL, value: run, effect: 'NoSchedule' }] },
    status: { capacity: { ...r }, allocatable: { ...r } },
  };
}

before(async () => {
  // The processes last, once everything the test made is gone (this test's kwok deletes its pods).
  fx.defer(async () => {
    for (const p of procs) await p.stop().catch(() => undefined);
  });
  run = uniqueName('msim');
  dir = await mkdtemp(join(tmpdir(), 'scalewise-metrics-sim-'));
  fx.defer(() => rm(dir, { recursive: true, force: true }));
});

describe('metrics.k8s.io through the real aggregation layer', () => {
  test('usage from metrics-server replaces requests when the API appears, and requests come back when it goes', async () => {
    const [kwokBin, msBin] = await Promise.all([goTool('kwok'), goTool('metrics-server')]);
    const pool = run;
    await fx.kube.core.createNamespace({ body: { metadata: { name: run } } });
    fx.defer(async () => {
      await unregisterApiService(fx.admin, APISERVICE, run);
      await revokeAnonymous(fx.admin, run);
      await fx.kube.core.deleteNamespace({ name: run }).catch(() => undefined);
      // Pods first (this test's kwok finishes their deletion), then the nodes.
      await waitFor(
        async () => (await fx.kube.core.listNamespacedPod({ namespace: run })).items.length === 0,
        {
          timeoutMs: 30_000,
          what: 'the pods to go',
        },
      ).catch(() => undefined);
      await fx.kube.core
        .deleteCollectionNode({ labelSelector: `${SIM_LABEL}=${run}` })
        .catch(() => undefined);
    });

    // This test's kwok: its nodes only, kubelet endpoint on its own port with TLS.
    const kwokPort = await freePort();
    const kwokCert = await selfSignedCert(dir, 'kwok');
    const stages = await readFile(join(repositoryRoot(), 'scripts', 'k8s', 'kwok-stages.yaml'), 'utf8');
    await writeFile(join(dir, 'kwok.yaml'), `${stages}\n---\n${kwokMetrics}`);
    const kwok = startProcess(
      kwokBin,
      [
        '--kubeconfig',
        fx.kubeconfig,
        '--config',
        join(dir, 'kwok.yaml'),
        '--manage-nodes-with-label-selector',
        `${SIM_LABEL}=${run}`,
        '--node-lease-duration-seconds',
        '40',
        '--server-address',
        `127.0.0.1:${kwokPort}`,
        '--node-port',
        String(kwokPort),
        '--tls-cert-file',
        kwokCert.cert,
        '--tls-private-key-file',
        kwokCert.key,
        '--node-ip',
        '127.0.0.1',
        '--cidr',
        '10.246.0.0/16',
      ],
      join(dir, 'kwok.log'),
    );
    procs.push(kwok);

    // Two 4-CPU workers, each running a pod that requests 100m but uses 3.6 and 3.2 CPUs.
    for (const [i, cpu] of [
      [1, '3600m'],
      [2, '3200m'],
    ] as const) {
      const name = `${run}-${i}`;
      await fx.kube.core.createNode({ body: simNode(name, pool) });
      await fx.kube.core.createNamespacedPod({
        namespace: run,
        body: {
          metadata: {
            name: `busy-${i}`,
            annotations: { 'kwok.x-k8s.io/usage-cpu': cpu, 'kwok.x-k8s.io/usage-memory': '2Gi' },
          },
          spec: {
            nodeName: name,
            tolerations: [{ key: SIM_LABEL, operator: 'Exists' }],
            containers: [
              { name: 'c', image: 'busy', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
            ],
          },
        },
      });
    }
    await waitFor(
      async () =>
        (await fx.kube.core.listNode({ labelSelector: `${SIM_LABEL}=${run}` })).items.every((n) =>
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        ),
      { timeoutMs: 60_000, what: "this test's kwok to make its nodes Ready" },
    ).catch(async (err) => assert.fail(`${err.message}; kwok log:\n${await kwok.tail(10)}`));

    // metrics-server, for this test's nodes only.
    const msPort = await freePort();
    const ms = startProcess(
      msBin,
      [
        ...aggregatedServerFlags({
          port: msPort,
          certDir: join(dir, 'ms-certs'),
          kubeconfig: fx.kubeconfig,
          ...METRICS_API,
        }),
        '--kubeconfig',
        fx.kubeconfig,
        '--kubelet-insecure-tls',
        '--kubelet-use-node-status-port',
        '--kubelet-preferred-address-types',
        'InternalIP',
        '--node-selector',
        `${SIM_LABEL}=${run}`,
        '--metric-resolution',
        '10s',
        '--kubelet-request-timeout',
        '5s',
      ],
      join(dir, 'metrics-server.log'),
    );
    procs.push(ms);
    await grantAnonymous(fx.admin, run, [
      { apiGroups: ['metrics.k8s.io'], resources: ['nodes', 'pods'], verbs: ['get', 'list'] },
    ]);

    // metrics-listener, started before the API is registered, rechecking every second.
    const prefix = `${run}.`;
    const text = serviceYaml(fx.stack, {
      clusterId: run,
      prefix,
      autoscaler: `  pools: [{ name: ${pool}, min: 1, max: 6, node_size: { cpu_millicores: 4000, memory_mib: 8192 } }]
  sensing: { sample_interval_seconds: 1, metrics_api_recheck_seconds: 1 }`,
    });
    const { rec } = await startListener(fx, text, prefix, ['metrics', 'signals']);
    const observed = () => recordedData(rec, 'io.scalewise.PoolMetricsObserved', pool);

    // 1. No metrics.k8s.io: requests / allocatable, 200m of 8000m.
    await waitFor(() => observed().some((d) => d.workers === 2 && d.ready_workers === 2), {
      timeoutMs: 30_000,
      what: 'a sample of both workers',
    });
    const first = observed().find((d) => d.ready_workers === 2);
    assert.deepEqual([first?.source, first?.cpu_avg], ['requests', 2.5]);
    assert.equal(rec.of('io.scalewise.ResourcePressureAlert').length, 0);

    // 2. Registered: node usage through the aggregation layer, (3600 + 3200) / 8000 = 85 %.
    await registerApiService(fx.admin, {
      ...METRICS_API,
      namespace: run,
      service: 'metrics-server',
      port: msPort,
      run,
    });
    const said: string[] = [];
    const note = (o: object, msg: string) =>
      said.push(
        `${msg} ${JSON.stringify({ ...o, err: String((o as { err?: unknown }).err ?? '').slice(0, 300) })}`,
      );
    const direct = createMetricsApi({ kube: fx.kube, log: { info: note, warn: note }, recheckSeconds: 1 });
    let last: unknown;
    const usage = await waitFor(
      async () => {
        const u = await direct.nodeUsage(Date.now());
        last = u && [...u.keys()];
        return u?.has(`${run}-1`) && u.has(`${run}-2`) ? u : undefined;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 1000,
        what: 'NodeMetrics of both nodes through the apiserver',
      },
    ).catch(async (err) =>
      assert.fail(
        `${err.message}; state ${direct.state()}, last nodes ${JSON.stringify(last)}, said:\n${said.slice(-5).join('\n')}\nmetrics-server log:\n${await ms.tail(10)}`,
      ),
    );
    assert.equal(direct.state(), 'served');
    const cpu1 = usage.get(`${run}-1`)?.cpuMillicores ?? 0;
    assert.ok(Math.abs(cpu1 - 3600) <= 50, `node 1 uses about 3600m (metrics-server says ${cpu1}m)`);
    assert.equal(usage.get(`${run}-1`)?.memoryBytes, 2 * GiB);

    await waitFor(() => observed().some((d) => d.source === 'metrics-server'), {
      timeoutMs: 30_000,
      what: 'a PoolMetricsObserved from metrics-server',
    });
    const measured = observed().find((d) => d.source === 'metrics-server');
    assert.ok(
      measured && measured.cpu_avg >= 84 && measured.cpu_avg <= 86.5,
      `CPU from usage, about 85 % (got ${measured?.cpu_avg})`,
    );
    assert.equal(measured?.memory_avg, 25);
    // Above 80 % on usage while requests say 2.5 %: pressure that requests alone would never show.
    const alert = await waitFor(() => recordedData(rec, 'io.scalewise.ResourcePressureAlert', pool)[0], {
      timeoutMs: 30_000,
      what: 'ResourcePressureAlert on measured CPU',
    });
    assert.deepEqual([alert.resource, alert.workers], ['cpu', 2]);
    assert.ok(alert.cpu_avg > 80);

    // 3. Unregistered: the next discovery fails and the samples fall back to requests.
    await unregisterApiService(fx.admin, APISERVICE, run);
    const gone = observed().length;
    await waitFor(
      () =>
        observed()
          .slice(gone)
          .some((d) => d.source === 'requests'),
      {
        timeoutMs: 30_000,
        what: 'the fall back to requests',
      },
    );
    assert.equal(observed().at(-1)?.cpu_avg, 2.5);
  });
});

// KEDA for real: KEDA v2.21.0's operator and metrics API server, built from KEDA's Go module
// (scripts/keda, cached), run out of cluster against the stack's kube-apiserver, scale a
// Deployment with a ScaledObject whose Kafka trigger reads the lag of a consumer group on the
// stack's broker. The group and the topic are the ones a Scalewise service of this config
// consumes: consumerGroupId(config, 'node-manager') and node-manager's topic, `decisions`,
// from the same functions the services use.
//
//   1 -> 0 replicas: lag 0, KEDA deactivates the Deployment;
//   -> records the group has not consumed: KEDA's metrics API server serves the lag as the
//      external metric (the test reads it through the apiserver: equal to the lag computed as
//      KEDA's Kafka scaler does), KEDA marks the ScaledObject active, and the replicas go up to
//      N = ceil(lag / lagThreshold) (kube-controller-manager's HPA, "New size: N; reason:
//      external metric ...");
//   -> the group consumes and commits them: lag 0, KEDA deactivates (N -> 0).
//
// The metrics API server is registered as v1beta1.external.metrics.k8s.io on the stack's
// apiserver (an ExternalName service to localhost: the aggregator resolves it to host:port).
// The apiserver has no --proxy-client-cert-file, so its requests reach the metrics server as
// system:anonymous: while the test runs, a ClusterRoleBinding lets system:anonymous get and
// list external.metrics.k8s.io only. The APIService, the binding and the namespace are
// removed afterwards; the shared servers are not restarted or reconfigured.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AutoscalingV2Api, CustomObjectsApi } from '@kubernetes/client-node';
import { consumerGroupId, loadConfig, topicNames } from '@scalewise/config';
import {
  aggregatedServerFlags,
  freePort,
  getStack,
  grantAnonymous,
  type KubeAdmin,
  kubeAdmin,
  type Proc,
  registerApiService,
  repositoryRoot,
  revokeAnonymous,
  type StackEndpoints,
  startProcess,
  uniqueName,
  unregisterApiService,
  waitFor,
} from '@scalewise/testing';
import { type Admin, Kafka, logLevel } from 'kafkajs';

const exec = promisify(execFile);
/** A probe's "not yet", saying how far it got (the cause of waitFor's timeout error). */
const notYet = (progress: string): never => {
  throw new Error(progress);
};
const EXTERNAL_METRICS = { group: 'external.metrics.k8s.io', version: 'v1beta1' };
const APISERVICE = 'v1beta1.external.metrics.k8s.io';
const PARTITIONS = 6;
const LAG_THRESHOLD = 10;
const RECORDS = 40;

let stack: StackEndpoints;
let admin: KubeAdmin;
let kafkaAdmin: Admin;
let dir: string;
let run: string;
let keda: { operator: string; adapter: string };
const procs: Proc[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

/** A CA and one certificate for 127.0.0.1 that serves and authenticates (KEDA's gRPC is mutual TLS). */
async function certificates(certDir: string): Promise<void> {
  const openssl = (...args: string[]) => exec('openssl', args, { cwd: certDir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=keda-test-ca',
  );
  await writeFile(
    join(certDir, 'leaf.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  await openssl('req', '-new', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=localhost');
  await openssl(
    'x509',
    '-req',
    '-in',
    'tls.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'tls.crt',
    '-days',
    '1',
    '-extfile',
    'leaf.ext',
  );
}

/** KEDA's two binaries; the first call of a machine builds them (tens of minutes on 2 cores). */
async function kedaBinaries(): Promise<{ operator: string; adapter: string }> {
  const { stdout } = await exec(join(repositoryRoot(), 'scripts', 'keda'), ['bin'], {
    cwd: repositoryRoot(),
    timeout: 60 * 60_000,
    maxBuffer: 16 * 2 ** 20,
  });
  const bin = stdout.trim().split('\n').at(-1) ?? '';
  return { operator: join(bin, 'keda-operator'), adapter: join(bin, 'keda-adapter') };
}

/**
 * The consumer group's lag exactly as KEDA's Kafka scaler (pkg/scalers/kafka_scaler.go,
 * getTotalLag) computes it for offsetResetPolicy latest, allowIdleConsumers false: per
 * partition the latest offset minus the committed one (1 where nothing is committed), summed,
 * and capped at partitions x lagThreshold.
 */
async function kedaLag(group: string, topic: string): Promise<{ lag: number; metric: number }> {
  const latest = await kafkaAdmin.fetchTopicOffsets(topic);
  const [committed] = await kafkaAdmin.fetchOffsets({ groupId: group, topics: [topic] });
  let lag = 0;
  for (const p of latest) {
    const c = Number(committed?.partitions.find((x) => x.partition === p.partition)?.offset ?? -1);
    lag += c === -1 ? 1 : Number(p.high) - c;
  }
  const metric = Math.floor(lag / LAG_THRESHOLD) > latest.length ? latest.length * LAG_THRESHOLD : lag;
  return { lag, metric };
}

before(async () => {
  stack = await getStack({ kubernetes: true });
  assert.ok(stack.kubernetes, 'a Kubernetes API');
  admin = kubeAdmin(stack.kubernetes.kubeconfig);
  run = uniqueName('keda')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  dir = await mkdtemp(join(tmpdir(), 'scalewise-keda-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  kafkaAdmin = new Kafka({ brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await kafkaAdmin.connect();
  cleanups.push(() => kafkaAdmin.disconnect());
});

// Cached under $SCALEWISE_CACHE/keda-<version>: milliseconds. A machine's first run builds KEDA
// from its Go module (33 minutes measured on 2 shared cores, most of it the cloud SDKs its
// scalers import), hence the hook's own deadline, beyond the runner's per-test one.
before(
  async () => {
    keda = await kedaBinaries();
  },
  { timeout: 60 * 60_000 },
);

after(async () => {
  // The ScaledObject first, while the operator runs to remove its finalizer; the processes last.
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  for (const p of procs) await p.stop().catch(() => undefined);
});

describe('KEDA on the stack', () => {
  test("a ScaledObject follows the real lag of node-manager's group: 1 -> 0 -> N -> 0 replicas", async (t) => {
    const started = Date.now();
    const { operator, adapter } = keda;
    await exec(join(repositoryRoot(), 'scripts', 'keda'), ['apply-crds'], {
      env: { ...process.env, KUBECONFIG: stack.kubernetes?.kubeconfig ?? '' },
    });

    // The group and topic of a Scalewise config, from the functions the services use.
    const prefix = `${run}.`;
    const { config } = loadConfig({
      text: `cluster_id: ${run}\nautoscaler: { pools: [{ name: workers }] }\nevents: { topic_prefix: "${prefix}", group_prefix: "${prefix}", partitions: ${PARTITIONS} }\n`,
      env: {},
      httpTokens: false,
    });
    const group = consumerGroupId(config, 'node-manager');
    const topic = topicNames(config).decisions;
    assert.equal(group, `${prefix}node-manager`);
    await kafkaAdmin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    cleanups.push(() => kafkaAdmin.deleteTopics({ topics: [topic] }));
    // The group has read the (empty) topic: committed offsets at its end, lag 0.
    await kafkaAdmin.setOffsets({
      groupId: group,
      topic,
      partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: '0' })),
    });
    cleanups.push(() => kafkaAdmin.deleteGroups([group]));

    const ns = run;
    await admin.core.createNamespace({ body: { metadata: { name: ns } } });
    cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
    await admin.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'consumer' },
        spec: {
          // One to start with: KEDA must take it to 0 on lag 0.
          replicas: 1,
          selector: { matchLabels: { app: 'consumer' } },
          template: {
            metadata: { labels: { app: 'consumer' } },
            spec: {
              containers: [{ name: 'consumer', image: 'scalewise/node-manager:test' }],
              nodeSelector: { 'kwok.x-k8s.io/node': 'fake' },
              tolerations: [{ operator: 'Exists' }],
            },
          },
        },
      },
    });

    // KEDA's certificates: the operator's gRPC metrics service and the metrics server's client.
    const certDir = join(dir, 'certs');
    await mkdir(certDir);
    await certificates(certDir);
    const kubeconfig = stack.kubernetes?.kubeconfig ?? '';
    const env = {
      ...process.env,
      KUBECONFIG: kubeconfig,
      WATCH_NAMESPACE: ns,
      POD_NAMESPACE: ns,
      KEDA_CLUSTER_OBJECT_NAMESPACE: ns,
    };
    const grpcPort = await freePort();
    const op = startProcess(
      operator,
      [
        '--metrics-bind-address',
        `127.0.0.1:${await freePort()}`,
        '--health-probe-bind-address',
        `127.0.0.1:${await freePort()}`,
        '--metrics-service-bind-address',
        `127.0.0.1:${grpcPort}`,
        '--cert-dir',
        certDir,
        '--ca-dir',
        certDir,
        '--zap-log-level',
        'info',
      ],
      join(dir, 'keda-operator.log'),
      env,
    );
    procs.push(op);
    const apiPort = await freePort();
    const metricsApi = startProcess(
      adapter,
      [
        ...aggregatedServerFlags({ port: apiPort, certDir, kubeconfig, ...EXTERNAL_METRICS }),
        '--tls-cert-file',
        join(certDir, 'tls.crt'),
        '--tls-private-key-file',
        join(certDir, 'tls.key'),
        '--lister-kubeconfig',
        kubeconfig,
        '--metrics-service-address',
        `127.0.0.1:${grpcPort}`,
        '--port',
        String(await freePort()),
      ],
      join(dir, 'keda-adapter.log'),
      env,
    );
    procs.push(metricsApi);

    cleanups.push(() => revokeAnonymous(admin, run));
    await grantAnonymous(admin, run, [
      { apiGroups: ['external.metrics.k8s.io'], resources: ['*'], verbs: ['get', 'list'] },
    ]);
    cleanups.push(() => unregisterApiService(admin, APISERVICE, run));
    await registerApiService(admin, {
      ...EXTERNAL_METRICS,
      namespace: ns,
      service: 'keda-metrics-apiserver',
      port: apiPort,
      run,
    });

    const custom = admin.kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: 'keda.sh',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'scaledobjects',
      body: {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'consumer' },
        spec: {
          scaleTargetRef: { name: 'consumer' },
          pollingInterval: 1,
          cooldownPeriod: 5,
          minReplicaCount: 0,
          maxReplicaCount: PARTITIONS,
          advanced: {
            horizontalPodAutoscalerConfig: {
              behavior: {
                scaleUp: { stabilizationWindowSeconds: 0 },
                scaleDown: { stabilizationWindowSeconds: 0 },
              },
            },
          },
          triggers: [
            {
              type: 'kafka',
              metadata: {
                bootstrapServers: stack.kafka.brokers.join(','),
                consumerGroup: group,
                topic,
                lagThreshold: String(LAG_THRESHOLD),
                activationLagThreshold: '0',
                offsetResetPolicy: 'latest',
              },
            },
          ],
        },
      },
    });

    cleanups.push(async () => {
      const so = {
        group: 'keda.sh',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'scaledobjects',
        name: 'consumer',
      };
      await custom.deleteNamespacedCustomObject(so);
      await waitFor(
        () =>
          custom.getNamespacedCustomObject(so).then(
            () => false,
            () => true,
          ),
        {
          timeoutMs: 30_000,
          what: 'the ScaledObject to be finalized by the operator',
        },
      );
    });

    // The replicas KEDA and the HPA set, sampled with the lag KEDA's scaler computes.
    const timeline: string[] = [];
    let last = -1;
    const replicas = async () => {
      const d = await admin.apps.readNamespacedDeployment({ name: 'consumer', namespace: ns });
      const n = d.spec?.replicas ?? 0;
      if (n !== last) {
        const { lag } = await kedaLag(group, topic);
        timeline.push(
          `+${((Date.now() - started) / 1000).toFixed(1)}s replicas ${last} -> ${n} (lag ${lag})`,
        );
        last = n;
      }
      return n;
    };
    const logs = async () =>
      `\noperator:\n${await op.tail(15)}\nmetrics server:\n${await metricsApi.tail(15)}`;
    const until = async (what: string, want: (n: number) => boolean, timeoutMs = 120_000) => {
      await waitFor(async () => want(await replicas()), { timeoutMs, intervalMs: 100, what }).catch(
        async (err: Error) => assert.fail(`${err.message}\n${timeline.join('\n')}${await logs()}`),
      );
    };

    // Lag 0: KEDA takes the Deployment from 1 to 0.
    assert.deepEqual(await kedaLag(group, topic), { lag: 0, metric: 0 });
    await until('KEDA to scale the Deployment to 0 on lag 0', (n) => n === 0);

    // Records the group has not consumed, on every partition.
    const kafka = new Kafka({ brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: RECORDS }, (_, i) => ({
        partition: i % PARTITIONS,
        value: `record ${i}`,
      })),
    });
    await producer.disconnect();
    const pending = await kedaLag(group, topic);
    assert.deepEqual(pending, { lag: RECORDS, metric: RECORDS });
    const desired = Math.ceil(pending.metric / LAG_THRESHOLD);
    await until('KEDA to activate the Deployment (0 -> 1 or more)', (n) => n >= 1);

    // The HPA KEDA made reads the lag through the external metrics API and scales 1 -> N.
    const hpa = await admin.kc
      .makeApiClient(AutoscalingV2Api)
      .readNamespacedHorizontalPodAutoscaler({ name: 'keda-hpa-consumer', namespace: ns });
    const metricName = hpa.spec?.metrics?.[0]?.external?.metric.name ?? '';
    assert.match(metricName, /^s0-kafka-/);
    const served = await waitFor(
      async () => {
        const r = (await custom.listNamespacedCustomObject({
          group: 'external.metrics.k8s.io',
          version: 'v1beta1',
          namespace: ns,
          plural: metricName,
          labelSelector: 'scaledobject.keda.sh/name=consumer',
        })) as { items: { value: string }[] };
        return r.items[0]?.value;
      },
      { timeoutMs: 60_000, what: 'the external metric through the apiserver' },
    ).catch(async (err: Error) => assert.fail(`${err.message}${await logs()}`));
    t.diagnostic(`external metric ${metricName} = ${served} (lag computed as KEDA does: ${pending.lag})`);
    assert.equal(Number(served), pending.metric, 'the metric KEDA serves is the lag');
    await until(`the HPA to scale to ${desired}`, (n) => n === desired, 180_000);
    // Who did what. The HPA rescaled on the external metric (its event says so); KEDA holds the
    // ScaledObject active on the lag. From 0, KEDA's activation (0 -> 1, event
    // KEDAScaleTargetActivated) races the HPA itself: Kubernetes 1.37's HPAScaleToZero lets an
    // HPA with an external metric scale up from 0 once it has scaled to 0 before. Either way the
    // lag KEDA reads is what moves it; below 1 only KEDA goes (the HPA's minimum is 1).
    const events = async () =>
      (await admin.core.listNamespacedEvent({ namespace: ns })).items.map(
        (e) => `${e.source?.component ?? e.reportingComponent ?? ''} ${e.reason}: ${e.message}`,
      );
    const rescaled = new RegExp(
      `SuccessfulRescale: New size: ${desired}; reason: external metric ${metricName}`,
    );
    const said = await waitFor(
      async () => {
        const all = await events();
        return all.some((e) => rescaled.test(e)) ? all : notYet(all.join('\n'));
      },
      { timeoutMs: 30_000, what: "the HPA's rescale event" },
    );
    t.diagnostic(said.filter((e) => /KEDAScaleTarget|SuccessfulRescale/.test(e)).join('\n'));
    const hpaStatus = (
      await admin.kc
        .makeApiClient(AutoscalingV2Api)
        .readNamespacedHorizontalPodAutoscaler({ name: 'keda-hpa-consumer', namespace: ns })
    ).status;
    assert.equal(hpaStatus?.desiredReplicas, desired);
    assert.ok(hpaStatus?.currentMetrics?.[0]?.external, 'the HPA reads the external metric');
    const active = async () => {
      const so = (await custom.getNamespacedCustomObject({
        group: 'keda.sh',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'scaledobjects',
        name: 'consumer',
      })) as { status?: { conditions?: { type: string; status: string }[] } };
      return so.status?.conditions?.find((c) => c.type === 'Active')?.status;
    };
    await waitFor(async () => (await active()) === 'True', {
      timeoutMs: 30_000,
      what: 'KEDA to hold the ScaledObject active on the lag',
    });

    // The group consumes and commits everything: lag 0, KEDA scales to 0.
    const consuming = timeline.length;
    const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic });
    let consumed = 0;
    await consumer.run({
      eachMessage: async () => {
        consumed += 1;
      },
    });
    await waitFor(async () => (await kedaLag(group, topic)).lag === 0, {
      timeoutMs: 60_000,
      what: 'the group to commit every record',
    });
    await consumer.disconnect();
    assert.equal(consumed, RECORDS);
    await until('KEDA to scale the Deployment to 0 on lag 0 again', (n) => n === 0, 120_000);
    assert.equal(await active(), 'False');
    t.diagnostic(timeline.join('\n'));
    // 1 -> 0 on lag 0; up (KEDA's 0 -> 1, then the HPA's steps) to N while the lag stands;
    // down to 0 once it is consumed (the HPA may step to its minimum, 1, before KEDA's 0).
    const seen = timeline.map((l) => Number(/-> (\d+)/.exec(l)?.[1]));
    assert.deepEqual(seen.slice(0, 2), [1, 0]);
    const up = seen.slice(2, consuming);
    const down = seen.slice(consuming);
    const monotonic = (xs: number[], sign: 1 | -1) =>
      xs.every((n, i) => i === 0 || sign * (n - (xs[i - 1] ?? 0)) > 0);
    assert.ok(
      up.at(-1) === desired && up.every((n) => n >= 1) && monotonic(up, 1),
      `up to ${desired}: ${up}`,
    );
    assert.ok(down.at(-1) === 0 && monotonic(down, -1), `down to 0: ${down}`);
  });
});

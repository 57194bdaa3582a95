// Issue 21: the Helm chart (deploy/helm/scalewise) installed on the stack's kube-apiserver, then
// every service run as a process with a token requested for the ServiceAccount the chart made
// for it, through the e2e flow: a drain with evictions, a scale-down, pending pods and a
// scale-up. What the services asked of the API server goes through a recording proxy, so that
// the chart's RBAC is checked both ways: no call refused (a 403 anywhere fails), and every rule
// granted is used, but those this flow cannot reach, named below with the reason.
// The KEDA ScaledObjects the chart renders are compared with the consumer groups the running
// services joined and the topics they subscribed to.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RbacAuthorizationV1Api, SchedulingV1Api } from '@kubernetes/client-node';
import { ensureNode, kwokNodeManifest, loadKubeTarget } from '@scalewise/kube';
import {
  kubeAdmin,
  PENDING_SCALE_UP_CHAIN,
  repositoryRoot,
  SCALE_UP_ACTION,
  testKafka,
  waitFor,
} from '@scalewise/testing';
import { AssignerProtocol } from 'kafkajs';
import { dataOf, expectChain, waitForSynced } from './expect.ts';
import { PODS_HOST_LABEL, type ServiceName, type System, serviceNames, startSystem } from './harness.ts';
import { sendTrigger } from './triggers.ts';
import { deploy, runningPods } from './workload.ts';

const chart = join(repositoryRoot(), 'deploy', 'helm', 'scalewise');
// The YAML parser the services' config loader uses (e2e has no YAML dependency of its own).
const { parseAllDocuments } = createRequire(join(repositoryRoot(), 'packages', 'config', 'package.json'))(
  'yaml',
) as { parseAllDocuments(text: string): { toJS(): unknown }[] };
const release = 'scalewise';
/** The ServiceAccount (and Deployment) the chart names after a service. */
const account = (svc: string) => `${release}-${svc}`;

/**
 * Rules the chart grants that this flow cannot exercise, each with its reason. Anything else
 * granted and never used fails the test: a wider role must be argued here and in docs/helm.md.
 */
const notReached: Record<string, string> = {
  'metrics-listener list metrics.k8s.io/nodes': 'the stack runs no metrics-server (requests are used)',
  'metrics-listener list metrics.k8s.io/pods': 'the stack runs no metrics-server (requests are used)',
  // The watch caches list by a streamed watch (sendInitialEvents); they fall back to pages of
  // 500 when an API server refuses it (before Kubernetes 1.34, or WatchList turned off).
  'metrics-listener list nodes': "the stack's API server serves streamed lists",
  'metrics-listener list pods': "the stack's API server serves streamed lists",
  'metrics-listener list policy/poddisruptionbudgets': "the stack's API server serves streamed lists",
};

interface Call {
  who: string;
  method: string;
  path: string;
  status: number;
}

let helmBin: string | undefined;
/** `helm` built from the Go module proxy (scripts/go-tool, cached): minutes the first time. */
function buildHelm(): string {
  if (helmBin) return helmBin;
  const bin = spawnSync('scripts/go-tool', ['path', 'helm'], { cwd: repositoryRoot(), encoding: 'utf8' });
  assert.equal(bin.status, 0, `building helm: ${bin.stderr}`);
  helmBin = bin.stdout.trim().split('\n').at(-1) ?? 'helm';
  return helmBin;
}

function helm(args: string[], what: string): string {
  const r = spawnSync(buildHelm(), args, {
    cwd: repositoryRoot(),
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

/** A second pool, of worker pods (seed 004), in the system's namespace: the chart's pod rules. */
const podsSuffix = 'p';
const podsImage = 'busybox:1.36';

/** The chart's values for a system: the stack's endpoints, its prefixes, no pods of its own. */
function valuesFor(system: { name: string; stack: System['stack'] }): string {
  const replicas = Object.fromEntries(serviceNames.map((s) => [s, { replicas: 0 }] as const));
  return JSON.stringify({
    clusterId: system.name,
    pools: [
      { name: system.name, provider: 'kwok', min: 2, max: 3 },
      {
        name: `${system.name}-${podsSuffix}`,
        provider: 'pods',
        min: 0,
        max: 2,
        provider_options: { namespace: system.name, image: podsImage },
      },
    ],
    kafka: { brokers: system.stack.kafka.brokers },
    events: { topicPrefix: `${system.name}.`, groupPrefix: `${system.name}.` },
    redis: { url: system.stack.redis.url },
    s3: { endpoint: system.stack.s3.endpoint },
    // Images never run here (KWOK nodes run no containers): the Deployments stay at zero.
    services: replicas,
  });
}

interface Rendered {
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
}
const docsOf = (text: string): Rendered[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Rendered | null)
    .filter((d): d is Rendered => d !== null);

/** An HTTP proxy to the API server that records who (by bearer token) asked what, and the answer. */
async function apiRecorder(
  kubeconfig: string,
  tokens: ReadonlyMap<string, string>,
): Promise<{ url: string; calls: Call[]; server: Server }> {
  const target = loadKubeTarget({ kubeconfig });
  const upstream = new URL(target.server);
  const calls: Call[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const who = tokens.get(token) ?? 'unknown';
    const up = httpsRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        ...(target.ca ? { ca: target.ca } : {}),
      },
      (answer) => {
        calls.push({ who, method: req.method ?? '', path: req.url ?? '', status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}`, calls, server };
}

/** `who verb group/resource[/sub]` of a resource request; undefined for discovery and the like. */
function permissionOf(c: Call): string | undefined {
  const url = new URL(c.path, 'http://x');
  const parts = url.pathname.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api') {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, sub] = rest;
  if (!resource) return undefined;
  const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
  const verb =
    c.method === 'GET'
      ? name
        ? 'get'
        : watch
          ? 'watch'
          : 'list'
      : c.method === 'POST'
        ? 'create'
        : c.method === 'PUT'
          ? 'update'
          : c.method === 'PATCH'
            ? 'patch'
            : c.method === 'DELETE'
              ? name
                ? 'delete'
                : 'deletecollection'
              : c.method.toLowerCase();
  const what = `${group ? `${group}/` : ''}${resource}${sub ? `/${sub}` : ''}`;
  return `${c.who} ${verb} ${what}`;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Every `service verb group/resource` the rendered chart grants through its bindings. */
function granted(docs: Rendered[]): Set<string> {
  const roles = new Map<string, Rule[]>();
  for (const d of docs) {
    if (d.kind === 'ClusterRole' || d.kind === 'Role')
      roles.set(`${d.kind}/${d.metadata.name}`, d.rules as Rule[]);
  }
  const out = new Set<string>();
  for (const d of docs) {
    if (d.kind !== 'ClusterRoleBinding' && d.kind !== 'RoleBinding') continue;
    const ref = d.roleRef as { kind: string; name: string };
    const subjects = d.subjects as { kind: string; name: string }[];
    for (const s of subjects) {
      const svc = serviceNames.find((n) => account(n) === s.name);
      assert.ok(svc, `${d.kind} ${d.metadata.name} binds ${s.name}, no service's account`);
      for (const r of roles.get(`${ref.kind}/${ref.name}`) ?? []) {
        for (const g of r.apiGroups)
          for (const res of r.resources)
            for (const v of r.verbs) out.add(`${svc} ${v} ${g ? `${g}/` : ''}${res}`);
      }
    }
  }
  return out;
}

/** An `io.scalewise.trigger.scale` of one worker for `pool` on the system's triggers topic; its id. */
const trigger = (pool: string, action: 'scale_up' | 'scale_down'): Promise<string> =>
  sendTrigger(system, { pool, action, count: 1, reason: `e2e helm ${action}` }, '/e2e/helm');

let system: System;
/** An event of the main pool (the pods pool has its own chains). */
const ofMainPool = (e: { data?: unknown }) => (e.data as { pool?: string } | undefined)?.pool === system.pool;
let recorder: Awaited<ReturnType<typeof apiRecorder>> | undefined;
let namespace = '';
let adminKubeconfig = '';
const timings: Record<string, number> = {};

// Apart from the system's start, which has the test timeout: the first build takes minutes.
before(() => void buildHelm(), { timeout: 20 * 60_000 });

before(async () => {
  const tokens = new Map<string, ServiceName>();
  const kubeconfigs = new Map<ServiceName, string>();
  const t0 = Date.now();
  system = await startSystem({
    label: 'helm',
    pool: { min: 2, max: 3, underutilizedForSeconds: 1, scaleDownWindowSeconds: 0, cooldownSeconds: 2 },
    initialWorkers: 3,
    extraPools: [{ suffix: podsSuffix, min: 0, max: 2, pods: { image: podsImage } }],
    leaseInSystemNamespace: true,
    prepare: async ({ admin, namespace: ns, kube }) => {
      namespace = ns;
      const stack = (await import('@scalewise/testing')).getStack;
      const endpoints = await stack({ kubernetes: true });
      adminKubeconfig = endpoints.kubernetes?.kubeconfig ?? '';
      const values = join(repositoryRoot(), 'test-results', 'e2e', ns, 'values.json');
      writeFileSync(values, valuesFor({ name: ns, stack: endpoints }));
      const ti = Date.now();
      helm(
        [
          'install',
          release,
          chart,
          '--namespace',
          ns,
          '--kubeconfig',
          adminKubeconfig,
          '-f',
          values,
          '--wait=false',
        ],
        'helm install',
      );
      timings.helmInstallMs = Date.now() - ti;
      // A token for each ServiceAccount the chart created (TokenRequest), a kubeconfig with it
      // pointing at the recording proxy.
      for (const svc of serviceNames) {
        const r = await admin.core.createNamespacedServiceAccountToken({
          name: account(svc),
          namespace: ns,
          body: { spec: { expirationSeconds: 3600 } },
        });
        const token = r.status?.token;
        assert.ok(token, `a token for ${account(svc)}`);
        tokens.set(token, svc);
      }
      recorder = await apiRecorder(adminKubeconfig, tokens);
      for (const [token, svc] of tokens) {
        const file = join(repositoryRoot(), 'test-results', 'e2e', ns, `${svc}.kubeconfig`);
        writeFileSync(
          file,
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Config',
            clusters: [{ name: 'stack', cluster: { server: recorder.url } }],
            users: [{ name: account(svc), user: { token } }],
            contexts: [{ name: svc, context: { cluster: 'stack', user: account(svc) } }],
            'current-context': svc,
          }),
        );
        kubeconfigs.set(svc, file);
      }
      // The node the pods pool's worker pods run on (KWOK plays its kubelet), in no pool of ours.
      await ensureNode(
        kube,
        kwokNodeManifest({
          name: `${ns}-host`,
          pool: `${ns}-host`,
          cpuMillicores: 16_000,
          memoryBytes: 32 * 2 ** 30,
          labels: { [PODS_HOST_LABEL]: ns },
        }),
      );
      // One pod on each worker (spread, at most one per node): the scale-down must evict one.
      await deploy(
        { kube, admin, namespace: ns, pool: ns },
        {
          name: 'spread',
          replicas: 3,
          podSpec: {
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'DoNotSchedule',
                labelSelector: { matchLabels: { app: 'spread' } },
              },
            ],
          },
        },
      );
      await waitFor(
        async () => (await runningPods({ kube, admin, namespace: ns, pool: ns }, 'spread')) === 3,
        {
          timeoutMs: 30_000,
          what: 'three spread pods Running',
        },
      );
    },
    launch: async (svc) => ({
      args: [
        '--disable-warning=TimeoutNegativeWarning',
        join(repositoryRoot(), 'services', svc, 'src', 'main.ts'),
      ],
      cwd: repositoryRoot(),
      env: { KUBECONFIG: kubeconfigs.get(svc) ?? '' },
    }),
  });
  timings.systemStartMs = Date.now() - t0;
});

after(async () => {
  if (namespace && adminKubeconfig) {
    try {
      helm(
        ['uninstall', release, '--namespace', namespace, '--kubeconfig', adminKubeconfig],
        'helm uninstall',
      );
    } catch {
      // A start that failed deleted the namespace, and the release's record with it: the
      // cluster-scoped objects go by name (the chart puts the namespace in each).
      const { kc } = kubeAdmin(adminKubeconfig);
      const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
      const scheduling = kc.makeApiClient(SchedulingV1Api);
      for (const svc of ['metrics-listener', 'node-manager', 'state-sync']) {
        const name = `${namespace}:${release}:${svc}`;
        await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
        await rbac.deleteClusterRole({ name }).catch(() => undefined);
      }
      await scheduling.deletePriorityClass({ name: `${namespace}-${release}` }).catch(() => undefined);
    }
  }
  await system?.stop();
  if (namespace && adminKubeconfig) {
    await kubeAdmin(adminKubeconfig)
      .core.deleteNode({ name: `${namespace}-host` })
      .catch(() => undefined);
  }
  recorder?.server.close();
  recorder?.server.closeAllConnections();
  process.stderr.write(`helm e2e timings: ${JSON.stringify(timings)}\n`);
});

describe('the Helm chart on the stack: each service with its own ServiceAccount', () => {
  test('the chart created one ServiceAccount per service, tokens only where the API is used', async () => {
    const sas = await system.admin.core.listNamespacedServiceAccount({ namespace });
    const byName = new Map(sas.items.map((s) => [s.metadata?.name, s]));
    for (const svc of serviceNames) assert.ok(byName.has(account(svc)), `${account(svc)} exists`);
    const deployments = await system.admin.apps.listNamespacedDeployment({
      namespace,
      labelSelector: `app.kubernetes.io/instance=${release}`,
    });
    const mounts = Object.fromEntries(
      deployments.items.map((d) => [d.metadata?.name, d.spec?.template.spec?.automountServiceAccountToken]),
    );
    assert.deepEqual(mounts, {
      [account('alert-manager')]: false,
      [account('decision-engine')]: false,
      [account('metrics-listener')]: true,
      [account('min-enforcer')]: false,
      [account('node-manager')]: true,
      [account('state-sync')]: true,
    });
  });

  test('scale-down: an underutilised worker is drained (its pod evicted) and removed', async () => {
    const t0 = Date.now();
    const chain = await expectChain(
      system,
      [
        'UnderutilizationWarning',
        'ScaleDownDecision',
        'ScaleDownStarted',
        'NodeDrained',
        'NodeRemoved',
        'ScalingActionCompleted',
      ],
      { since: 0, start: ofMainPool, timeoutMs: 90_000 },
    );
    const drained = dataOf(chain[3], 'io.scalewise.NodeDrained') as { evicted_pods?: number };
    const done = dataOf(chain[5], 'io.scalewise.ScalingActionCompleted');
    assert.deepEqual([done.action, done.previous_workers, done.new_workers], ['scale_down', 3, 2]);
    assert.ok(
      recorder?.calls.some((c) => c.who === 'node-manager' && c.path.endsWith('/eviction') && c.status < 300),
      `an eviction by node-manager (NodeDrained ${JSON.stringify(drained)})`,
    );
    await waitForSynced(system, 2, { since: Date.parse(chain[5]?.time ?? '') });
    timings.scaleDownMs = Date.now() - t0;
  });

  test('scale-up: pending pods -> a node created and Ready -> the pods Running -> synced', async () => {
    const t0 = Date.now();
    await deploy(system, { name: 'burst', replicas: 3, cpu: '2500m' });
    const chain = await expectChain(system, PENDING_SCALE_UP_CHAIN, {
      since: t0,
      start: ofMainPool,
      timeoutMs: 60_000,
    });
    await waitFor(async () => (await runningPods(system, 'burst')) === 3, {
      timeoutMs: 60_000,
      what: 'the three burst pods Running',
    });
    await waitForSynced(system, 3, { since: Date.parse(chain[5]?.time ?? '') });
    timings.scaleUpMs = Date.now() - t0;
  });

  test('a pods pool: a trigger makes a worker pod, Ready; a second one removes it', async () => {
    const t0 = Date.now();
    const pool = system.poolName(podsSuffix);
    const up = await trigger(pool, 'scale_up');
    const grown = await expectChain(system, ['trigger.scale', 'ScaleUpDecision', ...SCALE_UP_ACTION], {
      start: (e) => e.id === up,
      timeoutMs: 60_000,
    });
    assert.equal(dataOf(grown[5], 'io.scalewise.ScalingActionCompleted').new_workers, 1);
    const down = await trigger(pool, 'scale_down');
    const shrunk = await expectChain(
      system,
      ['trigger.scale', 'ScaleDownDecision', 'ScaleDownStarted', 'ScalingActionCompleted'],
      { start: (e) => e.id === down, timeoutMs: 60_000 },
    );
    assert.equal(dataOf(shrunk[3], 'io.scalewise.ScalingActionCompleted').new_workers, 0);
    await waitFor(
      async () =>
        (
          await system.kube.core.listNamespacedPod({
            namespace,
            labelSelector: `scalewise.io/pool=${pool}`,
          })
        ).items.length === 0,
      { timeoutMs: 30_000, what: 'the worker pod deleted' },
    );
    timings.podsPoolMs = Date.now() - t0;
  });

  test('no call of any service was refused (no 403 at the API server, none in the logs)', () => {
    const calls = recorder?.calls ?? [];
    assert.ok(calls.length > 0, 'the services called the API server through the recorder');
    const refused = calls.filter((c) => c.status === 401 || c.status === 403);
    assert.deepEqual(refused, []);
    assert.ok(!calls.some((c) => c.who === 'unknown'), 'every call carried a service token');
    for (const s of system.services.values()) {
      const log = readFileSync(s.logFile, 'utf8');
      const line = log.split('\n').find((l) => /forbidden|"(status|code|statusCode)":\s*403\b/i.test(l));
      assert.equal(line, undefined, `${s.name}'s log`);
    }
  });

  test('every rule the chart grants is used by the flow, but those named unreachable', async () => {
    // The leader renews its Lease every renew_seconds (5): a fast flow can end before the first.
    await waitFor(
      () =>
        recorder?.calls.some(
          (c) => c.who === 'metrics-listener' && c.method === 'PUT' && c.path.includes('/leases/'),
        ),
      { timeoutMs: 30_000, what: "metrics-listener's Lease renewed" },
    );
    const rendered = docsOf(
      helm(
        ['template', release, chart, '--namespace', namespace, '-f', join(system.logDir, 'values.json')],
        'helm template',
      ),
    );
    const grants = granted(rendered);
    const used = new Set(
      (recorder?.calls ?? []).map(permissionOf).filter((p): p is string => p !== undefined),
    );
    const report = [...grants].sort().map((g) => `${used.has(g) ? 'used  ' : 'UNUSED'} ${g}`);
    process.stderr.write(`helm e2e RBAC:\n  ${report.join('\n  ')}\n`);
    for (const u of used) assert.ok(grants.has(u), `${u} was used but is not granted`);
    const unused = [...grants].filter((g) => !used.has(g)).sort();
    assert.deepEqual(unused, Object.keys(notReached).sort(), 'granted and never used');
    // The three services without Kubernetes work made no call at all.
    for (const svc of ['alert-manager', 'decision-engine', 'min-enforcer'] as const) {
      assert.deepEqual(
        (recorder?.calls ?? []).filter((c) => c.who === svc).map((c) => `${c.method} ${c.path}`),
        [],
        `${svc} calls nothing`,
      );
    }
  });

  test("KEDA's ScaledObjects name each service's consumer group and exactly the topics it subscribed to", async () => {
    const rendered = docsOf(
      helm(
        [
          'template',
          release,
          chart,
          '--namespace',
          namespace,
          '-f',
          join(system.logDir, 'values.json'),
          '--set',
          'keda.enabled=true',
          '--set',
          'services.alert-manager.autoscaling.enabled=true',
        ],
        'helm template (KEDA)',
      ),
    );
    const scaled = rendered.filter((d) => d.kind === 'ScaledObject');
    const expected = new Map<string, string[]>();
    for (const so of scaled) {
      const triggers = (
        so.spec as {
          triggers: { metadata: { consumerGroup: string; topic: string; bootstrapServers: string } }[];
        }
      ).triggers;
      const groups = new Set(triggers.map((t) => t.metadata.consumerGroup));
      assert.equal(groups.size, 1, `${so.metadata.name}: one group`);
      for (const t of triggers)
        assert.equal(t.metadata.bootstrapServers, system.stack.kafka.brokers.join(','));
      expected.set([...groups][0] ?? '', triggers.map((t) => t.metadata.topic).sort());
    }
    // What the running services joined: each group with members, and their subscriptions.
    const admin = testKafka(system.stack).admin();
    await admin.connect();
    try {
      const ids = serviceNames.map((s) => `${system.name}.${s}`);
      const { groups } = await admin.describeGroups(ids);
      const actual = new Map<string, string[]>();
      for (const g of groups) {
        if (g.members.length === 0) continue;
        const topics = new Set<string>();
        for (const m of g.members) {
          for (const t of AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? [])
            topics.add(t);
        }
        actual.set(g.groupId, [...topics].sort());
      }
      assert.deepEqual(
        Object.fromEntries([...expected].sort()),
        Object.fromEntries([...actual].sort()),
        'ScaledObject group -> topics against what the services joined',
      );
    } finally {
      await admin.disconnect();
    }
  });
});

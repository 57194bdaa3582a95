// Integration tests of the harness's Kubernetes: the real kube-apiserver, kube-scheduler and
// kube-controller-manager, with KWOK playing the kubelet. getStack({ kubernetes: true })
// starts the native stack's k8s component when it is not running (or k3s and kwok containers
// where a Docker engine answers).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { KubernetesEndpoint } from './k3s.ts';
import { createSimulatedNode, loadKubeConfig } from './kube.ts';
import { getStack, type ServerMode } from './stack.ts';

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, '..', '..', '..');
const TEST_LABEL = 'scalewise.io/test';

interface Fixture {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  /** Unique per test: the namespace, and the label value its nodes and pods select on. */
  id: string;
}

let kube: KubernetesEndpoint;
let mode: ServerMode;
before(async () => {
  const stack = await getStack({ kubernetes: true });
  assert.ok(stack.kubernetes, 'getStack({ kubernetes: true }) gave no Kubernetes API');
  kube = stack.kubernetes;
  mode = stack.mode;
});

function connect(): Omit<Fixture, 'id'> {
  const kc = loadKubeConfig(kube.kubeconfig);
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

/**
 * A fresh namespace (with its default ServiceAccount, which pod admission requires) and
 * cleanup of the namespace and of every node labelled with the test id.
 */
async function fixture(t: TestContext): Promise<Fixture> {
  const base = connect();
  const id = `kube-int-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await base.core.createNamespace({ body: { metadata: { name: id, labels: { [TEST_LABEL]: id } } } });
  t.after(async () => {
    await base.core.deleteNamespace({ name: id }).catch(() => undefined);
    await base.core.deleteCollectionNode({ labelSelector: `${TEST_LABEL}=${id}` }).catch(() => undefined);
  });
  await eventually('default ServiceAccount', 30_000, async () => {
    const sas = await base.core.listNamespacedServiceAccount({ namespace: id });
    return [sas.items.some((sa) => sa.metadata?.name === 'default'), `${sas.items.length} service accounts`];
  });
  return { ...base, id };
}

/**
 * Polls `probe` every 200 ms until it reports done, or throws after `timeoutMs` with the
 * last state the probe described.
 */
async function eventually(
  what: string,
  timeoutMs: number,
  probe: () => Promise<[done: boolean, state: string]>,
): Promise<number> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last = 'never probed';
  for (;;) {
    try {
      const [done, state] = await probe();
      last = state;
      if (done) return Date.now() - started;
    } catch (err) {
      last = `probe threw: ${(err as Error).message}`;
    }
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function addNode(f: Fixture, name: string, cpu: number): Promise<void> {
  await createSimulatedNode(f.core, { name, cpu, memory: '16Gi', pods: 110, labels: { [TEST_LABEL]: f.id } });
}

/** A Deployment of `replicas` pods, each requesting 1 CPU, placed only on this test's nodes. */
async function deployOneCpuPods(f: Fixture, replicas: number): Promise<void> {
  const labels = { app: 'cpu-hog', [TEST_LABEL]: f.id };
  await f.apps.createNamespacedDeployment({
    namespace: f.id,
    body: {
      metadata: { name: 'cpu-hog' },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { [TEST_LABEL]: f.id },
            // Simulated pods never run; skip the 30 s grace on deletion.
            terminationGracePeriodSeconds: 0,
            containers: [
              { name: 'app', image: 'registry.invalid/cpu-hog:1', resources: { requests: { cpu: '1' } } },
            ],
          },
        },
      },
    },
  });
}

interface Placement {
  running: Map<string, number>;
  unschedulable: number;
  other: number;
  total: number;
}

const isUnschedulable = (p: V1Pod): boolean =>
  p.status?.phase === 'Pending' &&
  (p.status.conditions ?? []).some(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
  );

async function placement(f: Fixture): Promise<Placement> {
  const pods = await f.core.listNamespacedPod({ namespace: f.id, labelSelector: 'app=cpu-hog' });
  const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
  const running = new Map<string, number>();
  let unschedulable = 0;
  let other = 0;
  for (const p of live) {
    const node = p.spec?.nodeName;
    if (p.status?.phase === 'Running' && node) running.set(node, (running.get(node) ?? 0) + 1);
    else if (isUnschedulable(p)) unschedulable++;
    else other++;
  }
  return { running, unschedulable, other, total: pods.items.length };
}

const describe = (p: Placement): string =>
  `running ${JSON.stringify(Object.fromEntries(p.running))}, unschedulable ${p.unschedulable}, other ${p.other}, listed ${p.total}`;

/** Waits until the namespace's pods are exactly as expected (terminating pods excluded). */
async function expectPlacement(
  f: Fixture,
  expected: { running: Record<string, number>; unschedulable: number },
  timeoutMs: number,
): Promise<number> {
  const want = JSON.stringify(Object.entries(expected.running).sort());
  return eventually(`${want} running and ${expected.unschedulable} unschedulable`, timeoutMs, async () => {
    const p = await placement(f);
    const got = JSON.stringify([...p.running.entries()].sort());
    const done = got === want && p.unschedulable === expected.unschedulable && p.other === 0;
    return [done, describe(p)];
  });
}

const runningCount = (p: Placement): number => [...p.running.values()].reduce((a, b) => a + b, 0);

test('a 4-CPU simulated node runs 4 one-CPU pods and leaves 2 Unschedulable', {
  timeout: 120_000,
}, async (t) => {
  const f = await fixture(t);
  const node = `${f.id}-a`;
  await addNode(f, node, 4);
  await deployOneCpuPods(f, 6);

  await expectPlacement(f, { running: { [node]: 4 }, unschedulable: 2 }, 60_000);
});

test('pending pods become Running on a second simulated node', { timeout: 120_000 }, async (t) => {
  const f = await fixture(t);
  const a = `${f.id}-a`;
  const b = `${f.id}-b`;
  await addNode(f, a, 4);
  await deployOneCpuPods(f, 6);
  await expectPlacement(f, { running: { [a]: 4 }, unschedulable: 2 }, 60_000);

  await addNode(f, b, 4);
  const ms = await expectPlacement(f, { running: { [a]: 4, [b]: 2 }, unschedulable: 0 }, 15_000);
  t.diagnostic(`pending pods Running on the new node ${ms} ms after it was created`);
});

test('pods of a deleted node are recreated and Pending again', { timeout: 240_000 }, async (t) => {
  const f = await fixture(t);
  const a = `${f.id}-a`;
  const b = `${f.id}-b`;
  await addNode(f, a, 4);
  await addNode(f, b, 4);
  await deployOneCpuPods(f, 6);
  await eventually('6 pods Running', 60_000, async () => {
    const p = await placement(f);
    return [runningCount(p) === 6 && p.unschedulable === 0 && p.other === 0, describe(p)];
  });
  const before = await placement(f);
  const onA = before.running.get(a) ?? 0;
  const onB = before.running.get(b) ?? 0;

  await f.core.deleteNode({ name: a });
  // The pod garbage collector of kube-controller-manager deletes pods bound to a node that
  // no longer exists after a 40 s quarantine, checked every 20 s; the ReplicaSet recreates
  // them and the scheduler fits what it can on the remaining node.
  const ms = await expectPlacement(f, { running: { [b]: 4 }, unschedulable: 2 }, 150_000);
  t.diagnostic(
    `${onA} pods on ${a} and ${onB} on ${b} before deletion; 4 Running on ${b} and 2 Unschedulable ${ms} ms after deleting ${a}`,
  );
});

test('kubectl of the same version lists the simulated nodes', { timeout: 60_000 }, async (t) => {
  if (mode === 'containers' && !process.env.SCALEWISE_KUBECTL) {
    // The kubectl the stack builds is at the native control plane's version, not k3s's.
    t.skip('containers: set SCALEWISE_KUBECTL to a kubectl of the k3s version');
    return;
  }
  const f = await fixture(t);
  const a = `${f.id}-a`;
  const b = `${f.id}-b`;
  await addNode(f, a, 2);
  await addNode(f, b, 2);
  const kubectl = await kubectlPath();
  await eventually('both nodes Ready in kubectl get nodes', 30_000, async () => {
    const { stdout } = await run(kubectl, [
      '--kubeconfig',
      kube.kubeconfig,
      'get',
      'nodes',
      '-l',
      `${TEST_LABEL}=${f.id}`,
      '--no-headers',
    ]);
    const rows = stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/\s+/));
    const ready = rows.filter((r) => (r[0] === a || r[0] === b) && r[1] === 'Ready');
    return [ready.length === 2 && rows.length === 2, stdout.trim() || '(no nodes)'];
  });
  const { stdout } = await run(kubectl, ['version', '--kubeconfig', kube.kubeconfig, '-o', 'json']);
  const v = JSON.parse(stdout) as {
    clientVersion: { gitVersion: string };
    serverVersion: { gitVersion: string };
  };
  assert.equal(v.clientVersion.gitVersion, v.serverVersion.gitVersion);
});

/** kubectl built at the control plane's version, located by the stack's own k8s component. */
async function kubectlPath(): Promise<string> {
  if (process.env.SCALEWISE_KUBECTL) return process.env.SCALEWISE_KUBECTL;
  const { stdout } = await run(
    'bash',
    ['-c', 'source scripts/lib/common.sh && source scripts/lib/k8s.sh && k8s_kubectl_path'],
    { cwd: repoRoot },
  );
  const path = stdout.trim();
  assert.ok(existsSync(path), `kubectl not built at ${path}: run the k8s component's install`);
  return path;
}

// Worker nodes, cordon, drain and victims on the real kube-apiserver, scheduler and
// controller-manager, with KWOK as the kubelet: workers created idempotently and Ready; a drain
// that moves a Deployment's pods to another node and leaves DaemonSet pods; a
// PodDisruptionBudget with maxUnavailable 0 that blocks a drain with an error naming it; a node
// annotated scale-down-disabled never chosen, from the watch caches' view.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { waitFor, webDeployment } from '@scalewise/testing';
import { drain } from './drain.ts';
import { type Fixture, fixture } from './int-fixture.ts';
import { deleteNode, ensureNode, ensureWorker, POOL_LABEL, SCALE_DOWN_DISABLED, uncordon } from './nodes.ts';
import { isReady } from './resources.ts';
import { chooseVictims } from './victims.ts';
import { nodeCache, podCache } from './watch-cache.ts';

async function workers(f: Fixture, ...names: string[]): Promise<void> {
  for (const n of names) await ensureNode(f.kube, f.worker(n));
  await waitFor(
    async () =>
      (await f.kube.core.listNode({ labelSelector: `${POOL_LABEL}=${f.id}` })).items.filter(isReady)
        .length === names.length,
    { timeoutMs: 30_000, what: `${names.length} Ready workers` },
  );
}

const deployment = (f: Fixture, replicas: number, cpu = '100m'): Promise<void> =>
  webDeployment(f.admin.apps, {
    namespace: f.id,
    replicas,
    cpu,
    memory: '64Mi',
    placement: { ...f.placement, terminationGracePeriodSeconds: 0 },
  });

const running = async (f: Fixture, app = 'web') =>
  (await f.kube.core.listNamespacedPod({ namespace: f.id, labelSelector: `app=${app}` })).items.filter(
    (p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp,
  );

async function allRunning(f: Fixture, n: number, app = 'web') {
  return waitFor(async () => ((await running(f, app)).length === n ? running(f, app) : false), {
    timeoutMs: 60_000,
    what: `${n} ${app} pods Running`,
  });
}

test('KWOK workers: created once by name, Ready, with the pool label and provider id; deleted once', async (t: TestContext) => {
  const f = await fixture(t, 'kube-workers');
  const spec = { name: `${f.id}-a`, pool: f.id, cpuMillicores: 1500, memoryBytes: 3 * 2 ** 30, pods: 20 };
  assert.deepEqual(await ensureWorker(f.kube, spec), { created: true });
  assert.deepEqual(await ensureWorker(f.kube, spec), { created: false }, 'a second create is a no-op');
  const node = await waitFor(
    async () => {
      const n = await f.kube.core.readNode({ name: spec.name });
      return isReady(n) && n;
    },
    { timeoutMs: 30_000, what: 'the worker Ready' },
  );
  assert.equal(node.spec?.providerID, `kwok://${spec.name}`);
  assert.equal(node.metadata?.labels?.[POOL_LABEL], f.id);
  assert.equal(node.metadata?.labels?.['kwok.x-k8s.io/node'], 'fake');
  assert.deepEqual(node.status?.allocatable, { cpu: '1500m', memory: '3Gi', pods: '20' });
  assert.deepEqual(await deleteNode(f.kube, spec.name), { deleted: true });
  assert.deepEqual(await deleteNode(f.kube, spec.name), { deleted: false }, 'a second delete is a no-op');
});

test("drain: cordons the node, moves the Deployment's pods to the other node, leaves the DaemonSet's pod", async (t) => {
  const f = await fixture(t, 'kube-drain');
  await workers(f, `${f.id}-a`, `${f.id}-b`);
  await f.admin.apps.createNamespacedDaemonSet({
    namespace: f.id,
    body: {
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: { ...f.placement, containers: [{ name: 'agent', image: 'agent' }] },
        },
      },
    },
  });
  await deployment(f, 2);
  await allRunning(f, 2);
  await allRunning(f, 2, 'agent');
  // Drain the node holding the first pod (the scheduler may have put both on one node).
  const busy = (await running(f))[0]?.spec?.nodeName as string;
  const other = busy === `${f.id}-a` ? `${f.id}-b` : `${f.id}-a`;
  const onBusy = (await running(f))
    .filter((p) => p.spec?.nodeName === busy)
    .map((p) => `${f.id}/${p.metadata?.name}`);

  const r = await drain(f.kube, busy, { timeoutMs: 60_000 });
  assert.deepEqual(r.evicted.sort(), onBusy.sort(), 'evicted the Deployment pods on it');
  assert.equal(r.skipped.length, 1);
  assert.match(r.skipped[0]?.pod ?? '', new RegExp(`^${f.id}/agent-`));
  assert.equal(r.skipped[0]?.why, 'DaemonSet pod');
  assert.equal(
    (await f.kube.core.readNode({ name: busy })).spec?.unschedulable,
    true,
    'the node stays cordoned',
  );
  const now = await allRunning(f, 2);
  assert.ok(
    now.every((p) => p.spec?.nodeName === other),
    'both pods Running on the other node',
  );
  assert.ok(
    (await running(f, 'agent')).some((p) => p.spec?.nodeName === busy),
    'the DaemonSet pod is still on the drained node',
  );
});

test('a PodDisruptionBudget with maxUnavailable 0 blocks the drain: the error names the budget and the pod, nothing is evicted', async (t) => {
  const f = await fixture(t, 'kube-pdb');
  await workers(f, `${f.id}-a`);
  await deployment(f, 2);
  await allRunning(f, 2);
  await f.admin.policy.createNamespacedPodDisruptionBudget({
    namespace: f.id,
    body: {
      metadata: { name: 'web-pdb' },
      spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'web' } } },
    },
  });
  await waitFor(
    async () =>
      (await f.admin.policy.readNamespacedPodDisruptionBudget({ name: 'web-pdb', namespace: f.id })).status
        ?.expectedPods === 2,
    { timeoutMs: 30_000, what: 'the budget observed by the disruption controller' },
  );
  const started = Date.now();
  await assert.rejects(drain(f.kube, `${f.id}-a`, { timeoutMs: 3000, retryMs: 200 }), (err: unknown) => {
    assert.ok(err instanceof ScalewiseError, String(err));
    assert.equal(err.code, 'CONFLICT');
    assert.equal(err.retriable, true);
    assert.equal(err.details.reason, 'PDB_BLOCKED');
    assert.equal(err.details.pdb, `${f.id}/web-pdb`);
    assert.match(
      err.message,
      new RegExp(
        `^draining ${f.id}-a: PodDisruptionBudget ${f.id}/web-pdb kept refusing the eviction of ${f.id}/web-`,
      ),
    );
    return true;
  });
  const took = Date.now() - started;
  assert.ok(took >= 2000 && took < 15_000, `retried until about the deadline (${took} ms)`);
  assert.equal((await running(f)).length, 2, 'nothing was evicted');
  await uncordon(f.kube, `${f.id}-a`);
});

test('victims from the watch caches: a node annotated scale-down-disabled is never chosen, even the emptiest', async (t) => {
  const f = await fixture(t, 'kube-victims');
  const nodes = nodeCache(f.kube, { labelSelector: `${POOL_LABEL}=${f.id}` }).start();
  const pods = podCache(f.kube, { fieldSelector: `metadata.namespace=${f.id}` }).start();
  t.after(async () => {
    await nodes.stop();
    await pods.stop();
  });
  await workers(f, `${f.id}-a`, `${f.id}-b`);
  await deployment(f, 2, '500m');
  await allRunning(f, 2);
  // The newest node, and empty: the first choice were it not disabled.
  await ensureNode(f.kube, f.worker(`${f.id}-c`, { annotations: { [SCALE_DOWN_DISABLED]: 'true' } }));
  await waitFor(
    () => nodes.size === 3 && [...pods.values()].filter((p) => p.phase === 'Running').length === 2,
    {
      timeoutMs: 30_000,
      what: 'the caches up to date',
    },
  );
  const choice = chooseVictims(nodes.values(), pods.values(), 3);
  assert.ok(!choice.victims.includes(`${f.id}-c`));
  assert.deepEqual(choice.refused, [
    { node: `${f.id}-c`, reason: 'SCALE_DOWN_DISABLED', why: `annotated ${SCALE_DOWN_DISABLED}` },
  ]);
  assert.deepEqual(choice.victims.sort(), [`${f.id}-a`, `${f.id}-b`]);
  // The emptier of a and b comes first.
  const [first, second] = choice.ranked;
  assert.ok((first?.utilisation ?? 1) <= (second?.utilisation ?? 0));
});

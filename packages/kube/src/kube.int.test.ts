// packages/kube on the real kube-apiserver, scheduler and controller-manager, with KWOK as
// the kubelet: KWOK workers created idempotently and Ready, a drain that moves a
// Deployment's pods, a PodDisruptionBudget that blocks a drain with an error naming it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { ScalewiseError } from '@scalewise/errors';
import { getStack, waitFor } from '@scalewise/testing';
import { connectKube, type Kube } from './client.ts';
import { drain } from './drain.ts';
import {
  deleteNode,
  ensureNode,
  kwokNodeManifest,
  POOL_LABEL,
  SCALE_DOWN_DISABLED,
  uncordon,
} from './nodes.ts';
import { isReady } from './resources.ts';
import { chooseVictims } from './victims.ts';

let kube: Kube;
const id = `kube-pkg-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const taint = { key: 'scalewise.io/test', value: id, effect: 'NoSchedule' };

before(async () => {
  const stack = await getStack({ kubernetes: true });
  assert.ok(stack.kubernetes);
  kube = connectKube({ kubeconfig: stack.kubernetes.kubeconfig });
  await kube.core.createNamespace({ body: { metadata: { name: id } } });
  await waitFor(
    async () => (await kube.core.listNamespacedServiceAccount({ namespace: id })).items.length > 0,
    {
      timeoutMs: 30_000,
      what: 'the default ServiceAccount',
    },
  );
});
after(async () => {
  await kube.core.deleteNamespace({ name: id }).catch(() => undefined);
  await kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${id}` }).catch(() => undefined);
});

const worker = (name: string) =>
  kwokNodeManifest({
    name,
    pool: id,
    cpuMillicores: 2000,
    memoryBytes: 4 * 2 ** 30,
    taints: [taint],
    actionId: 'test',
  });
const nodes = async (): Promise<V1Node[]> =>
  (await kube.core.listNode({ labelSelector: `${POOL_LABEL}=${id}` })).items;
const pods = async (): Promise<V1Pod[]> =>
  (await kube.core.listNamespacedPod({ namespace: id, labelSelector: 'app=web' })).items;
const running = async () =>
  (await pods()).filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);

test('KWOK workers: created once by name, Ready, carrying the pool label and provider id', async () => {
  for (const n of ['a', 'b'])
    assert.deepEqual(await ensureNode(kube, worker(`${id}-${n}`)), { created: true });
  assert.deepEqual(
    await ensureNode(kube, worker(`${id}-a`)),
    { created: false },
    'a second create is a no-op',
  );
  await waitFor(async () => (await nodes()).filter(isReady).length === 2, {
    timeoutMs: 30_000,
    what: 'two Ready workers',
  });
  const a = (await nodes()).find((n) => n.metadata?.name === `${id}-a`);
  assert.equal(a?.spec?.providerID, `kwok://${id}-a`);
  assert.equal(a?.status?.allocatable?.cpu, '2');
});

test('drain moves a Deployment to the other worker; a PodDisruptionBudget with maxUnavailable 0 blocks the next drain, named', async () => {
  await kube.apps.createNamespacedDeployment({
    namespace: id,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            nodeSelector: { [POOL_LABEL]: id },
            tolerations: [{ key: taint.key, operator: 'Equal', value: id, effect: 'NoSchedule' }],
            containers: [
              { name: 'web', image: 'web', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
            ],
          },
        },
      },
    },
  });
  await waitFor(async () => (await running()).length === 2, {
    timeoutMs: 60_000,
    what: 'two web pods Running',
  });
  const busy = (await running())[0]?.spec?.nodeName as string;
  const other = busy === `${id}-a` ? `${id}-b` : `${id}-a`;
  const r = await drain(kube, busy, { timeoutMs: 60_000, gracePeriodSeconds: 0 });
  assert.ok(r.evicted.length >= 1, 'evicted the pods on it');
  await waitFor(
    async () => {
      const now = await running();
      return now.length === 2 && now.every((p) => p.spec?.nodeName === other);
    },
    { timeoutMs: 60_000, what: 'both pods Running on the other worker' },
  );
  assert.equal(
    (await kube.core.readNode({ name: busy })).spec?.unschedulable,
    true,
    'the drained node stays cordoned',
  );

  await kube.policy.createNamespacedPodDisruptionBudget({
    namespace: id,
    body: {
      metadata: { name: 'web-pdb' },
      spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'web' } } },
    },
  });
  await uncordon(kube, busy);
  await waitFor(
    async () => {
      const pdb = await kube.policy.readNamespacedPodDisruptionBudget({ name: 'web-pdb', namespace: id });
      return pdb.status?.observedGeneration !== undefined && pdb.status.expectedPods === 2;
    },
    { timeoutMs: 30_000, what: 'the budget observed' },
  );
  await assert.rejects(
    drain(kube, other, { timeoutMs: 3000 }),
    (err: unknown) =>
      err instanceof ScalewiseError &&
      err.details.reason === 'PDB_BLOCKED' &&
      new RegExp(
        `PodDisruptionBudget ${id}/web-pdb \\(disruptions allowed: 0\\) kept refusing the eviction of ${id}/web-`,
      ).test(err.message),
  );
  assert.equal((await running()).length, 2, 'nothing was evicted');
});

test('victims: a node annotated scale-down-disabled is never chosen', async () => {
  const all = await nodes();
  const [first] = all;
  await kube.core.patchNode({
    name: first?.metadata?.name as string,
    body: [
      { op: 'add', path: `/metadata/annotations/${SCALE_DOWN_DISABLED.replace('/', '~1')}`, value: 'true' },
    ],
  });
  const choice = chooseVictims(await nodes(), await pods(), 2);
  assert.ok(!choice.victims.includes(first?.metadata?.name as string));
  assert.deepEqual(
    choice.refused.map((x) => x.node),
    [first?.metadata?.name],
  );
});

test('deleting a worker twice: the second is a no-op', async () => {
  assert.deepEqual(await deleteNode(kube, `${id}-a`), { deleted: true });
  assert.deepEqual(await deleteNode(kube, `${id}-a`), { deleted: false });
});

// Shared by the integration tests (not exported by the package): a Kube on the test stack, and
// per test a fresh namespace and pool whose nodes are tainted so that no other test's pods land
// on them, all deleted when the test ends.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { getStack, type KubeAdmin, kubeAdmin, testNamespace, uniqueName } from '@scalewise/testing';
import { connectKube, type Kube } from './client.ts';
import { kwokNodeManifest, POOL_LABEL, type WorkerSpec } from './nodes.ts';
import type { V1Pod } from './types.ts';

export interface Fixture {
  /** Our client, as the services connect. */
  kube: Kube;
  /** client-node's typed APIs on the same cluster, for what our client does not serve (deployments, PDBs). */
  admin: KubeAdmin;
  kubeconfig: string;
  /** The control plane's etcd (native stack), for a test that compacts it. */
  etcd?: string;
  /** The namespace, the pool and the taint value: unique to the test. */
  id: string;
  /** A worker of the test's pool: 2 CPUs, 4 GiB, tainted for this test only. */
  worker(name: string, extra?: Partial<WorkerSpec>): ReturnType<typeof kwokNodeManifest>;
  /** Tolerations and node selector that put a pod on the test's workers. */
  placement: Pick<NonNullable<V1Pod['spec']>, 'tolerations' | 'nodeSelector'>;
}

export const TAINT_KEY = 'scalewise.io/test';

export async function fixture(t: TestContext, prefix: string): Promise<Fixture> {
  const stack = await getStack({ kubernetes: true });
  assert.ok(stack.kubernetes, 'getStack({ kubernetes: true }) gave no Kubernetes API');
  const kubeconfig = stack.kubernetes.kubeconfig;
  const kube = connectKube({ kubeconfig });
  const admin = kubeAdmin(kubeconfig);
  const id = uniqueName(prefix);
  // Nodes last: KWOK removes the terminating pods of the nodes it still manages at once;
  // pods left on a deleted node wait for the pod garbage collector (a minute or more).
  await testNamespace(admin.core, id, t, { nodes: `${POOL_LABEL}=${id}`, podsGone: true });
  return {
    kube,
    admin,
    kubeconfig,
    ...(stack.kubernetes.etcd ? { etcd: stack.kubernetes.etcd } : {}),
    id,
    worker: (name, extra = {}) =>
      kwokNodeManifest({
        name,
        pool: id,
        cpuMillicores: 2000,
        memoryBytes: 4 * 2 ** 30,
        taints: [{ key: TAINT_KEY, value: id, effect: 'NoSchedule' }],
        ...extra,
      }),
    placement: {
      nodeSelector: { [POOL_LABEL]: id },
      tolerations: [{ key: TAINT_KEY, operator: 'Equal', value: id, effect: 'NoSchedule' }],
    },
  };
}

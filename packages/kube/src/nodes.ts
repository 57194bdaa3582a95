/**
 * Worker nodes: the KWOK node of a pool (the `kwok` provider), cordon and uncordon.
 */
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { isStatus, type Kube, kubeCall } from './client.ts';

/** Nodes labelled so are managed by KWOK (the native stack runs it with this selector). */
export const KWOK_NODE_KEY = 'kwok.x-k8s.io/node';
export const KWOK_NODE_VALUE = 'fake';
/** Every node of a pool carries its name here. */
export const POOL_LABEL = 'scalewise.io/pool';
/** The decision that created a node. */
export const ACTION_ANNOTATION = 'scalewise.io/action-id';
/** A node never chosen for scale-down. */
export const SCALE_DOWN_DISABLED = 'scalewise.io/scale-down-disabled';
export const MANAGED_BY = 'app.kubernetes.io/managed-by';

export interface WorkerSpec {
  name: string;
  pool: string;
  cpuMillicores: number;
  memoryBytes: number;
  pods?: number;
  labels?: Record<string, string>;
  taints?: V1Taint[];
  actionId?: string;
}

/** The Node object of a simulated worker. Pure. */
export function kwokNodeManifest(spec: WorkerSpec): V1Node {
  const resources = {
    cpu: `${spec.cpuMillicores}m`,
    memory: `${Math.floor(spec.memoryBytes / 2 ** 20)}Mi`,
    pods: String(spec.pods ?? 110),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        ...spec.labels,
        [POOL_LABEL]: spec.pool,
        [MANAGED_BY]: 'scalewise',
        type: 'kwok',
        [KWOK_NODE_KEY]: KWOK_NODE_VALUE,
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
      },
      annotations: {
        [KWOK_NODE_KEY]: KWOK_NODE_VALUE,
        ...(spec.actionId ? { [ACTION_ANNOTATION]: spec.actionId } : {}),
      },
    },
    spec: {
      providerID: `kwok://${spec.name}`,
      ...(spec.taints && spec.taints.length > 0 ? { taints: spec.taints } : {}),
    },
    status: { capacity: { ...resources }, allocatable: { ...resources } },
  };
}

/** Creates a node; one that already exists is left as it is (creation is idempotent by name). */
export async function ensureNode(kube: Kube, node: V1Node): Promise<{ created: boolean }> {
  try {
    await kubeCall(`creating node ${node.metadata?.name}`, () => kube.core.createNode({ body: node }));
    return { created: true };
  } catch (err) {
    if (isStatus(err, 409)) return { created: false };
    throw err;
  }
}

/** Deletes a node; one already gone is fine. */
export async function deleteNode(kube: Kube, name: string): Promise<{ deleted: boolean }> {
  try {
    await kubeCall(`deleting node ${name}`, () => kube.core.deleteNode({ name }));
    return { deleted: true };
  } catch (err) {
    if (isStatus(err, 404)) return { deleted: false };
    throw err;
  }
}

async function setUnschedulable(kube: Kube, name: string, unschedulable: boolean): Promise<void> {
  await kubeCall(`${unschedulable ? 'cordoning' : 'uncordoning'} node ${name}`, () =>
    kube.core.patchNode({ name, body: [{ op: 'add', path: '/spec/unschedulable', value: unschedulable }] }),
  );
}

export const cordon = (kube: Kube, name: string) => setUnschedulable(kube, name, true);
export const uncordon = (kube: Kube, name: string) => setUnschedulable(kube, name, false);

/**
 * Worker nodes: the KWOK node of a pool (the `kwok` provider), cordon and uncordon.
 */
import { POOL_LABEL, ZONE_LABEL } from '@scalewise/scheduling';
import type { V1Node, V1Taint } from './types.ts';

/**
 * `topology.kubernetes.io/zone`, and the label every node of a pool carries its name in
 * (`scalewise.io/pool`): the scheduling package's, here for the providers and the services.
 */
export { POOL_LABEL, ZONE_LABEL };

import { isStatus, type Kube, kubeCall } from './client.ts';

/** Nodes labelled so are managed by KWOK (the native stack runs it with this selector). */
export const KWOK_NODE_KEY = 'kwok.x-k8s.io/node';
export const KWOK_NODE_VALUE = 'fake';
/** The decision that created a node. */
export const ACTION_ANNOTATION = 'scalewise.io/action-id';
/** A node never chosen for scale-down. */
export const SCALE_DOWN_DISABLED = 'scalewise.io/scale-down-disabled';
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
/** `pod` on the worker Pods of a pods pool (with MANAGED_BY scalewise and the pool's POOL_LABEL). */
export const WORKER_KIND_LABEL = 'scalewise.io/worker-kind';

export interface WorkerSpec {
  name: string;
  pool: string;
  cpuMillicores: number;
  memoryBytes: number;
  /** @default 110 */
  pods?: number;
  /** Allocatable ephemeral-storage in bytes; absent: the node offers none. */
  ephemeralStorageBytes?: number;
  /** Extended resources the node offers (`nvidia.com/gpu` -> count). */
  extended?: Readonly<Record<string, number>>;
  /** Its `topology.kubernetes.io/zone`; absent: no zone label. */
  zone?: string;
  labels?: Record<string, string>;
  taints?: V1Taint[];
  /** Extra annotations; the kwok annotation and the action id cannot be overridden. */
  annotations?: Record<string, string>;
  /** The decision that creates the node, kept in {@link ACTION_ANNOTATION}. */
  actionId?: string;
}

/** A name the API takes for a node that is also a valid `kubernetes.io/hostname` label value. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The Node object of a simulated worker of a pool, as packages/testing makes them: the kwok
 * label and annotation (KWOK plays its kubelet and makes it Ready), the pool label, the zone
 * label when it has a zone, its taints, providerID `kwok://<name>`, capacity = allocatable of
 * the given size (cpu, memory, pods, ephemeral-storage, extended resources). Pure.
 * @throws RangeError when the name is not a lowercase DNS label of at most 63 characters.
 */
export function kwokNodeManifest(spec: WorkerSpec): V1Node {
  if (!NODE_NAME.test(spec.name)) {
    throw new RangeError(`node name '${spec.name}' is not a lowercase DNS label of at most 63 characters`);
  }
  const resources: Record<string, string> = {
    cpu: `${spec.cpuMillicores}m`,
    memory: `${Math.floor(spec.memoryBytes / 2 ** 20)}Mi`,
    pods: String(spec.pods ?? 110),
    ...(spec.ephemeralStorageBytes !== undefined
      ? { 'ephemeral-storage': String(spec.ephemeralStorageBytes) }
      : {}),
  };
  for (const [k, v] of Object.entries(spec.extended ?? {})) resources[k] = String(v);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        ...spec.labels,
        ...(spec.zone ? { [ZONE_LABEL]: spec.zone } : {}),
        [POOL_LABEL]: spec.pool,
        [MANAGED_BY]: 'scalewise',
        type: 'kwok',
        [KWOK_NODE_KEY]: KWOK_NODE_VALUE,
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
      },
      annotations: {
        ...spec.annotations,
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

/**
 * Creates a node; one that already exists is left as it is (creation is idempotent by name).
 * @throws ScalewiseError KUBERNETES_API / DEPENDENCY_UNAVAILABLE ({@link toKubeError}).
 */
export async function ensureNode(kube: Kube, node: V1Node): Promise<{ created: boolean }> {
  try {
    await kubeCall(`creating node ${node.metadata?.name}`, () => kube.core.createNode({ body: node }));
    return { created: true };
  } catch (err) {
    if (isStatus(err, 409)) return { created: false };
    throw err;
  }
}

/**
 * Deletes a node; one already gone is fine. Its pods are not evicted: drain it first.
 * @throws ScalewiseError KUBERNETES_API / DEPENDENCY_UNAVAILABLE.
 */
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

/** Marks a node unschedulable (spec.unschedulable = true); idempotent. @throws as {@link kubeCall}. */
export const cordon = (kube: Kube, name: string) => setUnschedulable(kube, name, true);
/** Lets the scheduler use a node again; idempotent. @throws as {@link kubeCall}. */
export const uncordon = (kube: Kube, name: string) => setUnschedulable(kube, name, false);

/** Creates the simulated worker of {@link kwokNodeManifest}, idempotent by name. */
export const ensureWorker = (kube: Kube, spec: WorkerSpec) => ensureNode(kube, kwokNodeManifest(spec));

import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PolicyV1Api,
  type V1Node,
  type V1PodSpec,
  type V1Taint,
} from '@kubernetes/client-node';

/**
 * Label and annotation that hand a Node to KWOK. The native stack runs kwok with
 * `--manage-nodes-with-label-selector=kwok.x-k8s.io/node=fake`; the annotation is what
 * `kwokctl` clusters select on, so nodes made here work with either.
 */
export const KWOK_NODE_KEY = 'kwok.x-k8s.io/node';
export const KWOK_NODE_VALUE = 'fake';

/** Shape of a simulated node. Quantities use Kubernetes notation ("4", "500m", "8Gi"). */
export interface SimulatedNodeSpec {
  name: string;
  /** @default "4" */
  cpu?: string | number;
  /** @default "16Gi" */
  memory?: string;
  /** @default 110 */
  pods?: string | number;
  /** Extra labels; `type=kwok`, the kwok selector label and the hostname label are always set. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: V1Taint[];
}

/**
 * A node name the API server accepts that is also a valid value for the
 * `kubernetes.io/hostname` label: a lowercase DNS label, at most 63 characters.
 */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The Node object for a simulated node, as the `kwok` node provider creates it: the kwok
 * label and annotation, `type=kwok`, providerID `kwok://<name>`, and capacity equal to
 * allocatable. Labels and annotations given in the spec cannot override the fixed ones.
 * Pure; see {@link createSimulatedNode} to create it.
 *
 * @throws Error when the name is not a lowercase DNS label of at most 63 characters (it is
 *   also the hostname label's value, so dotted names the API would take are refused here).
 */
export function simulatedNodeManifest(spec: SimulatedNodeSpec): V1Node {
  if (!NODE_NAME.test(spec.name)) {
    throw new Error(
      `simulated node name '${spec.name}' is not a lowercase DNS label (a-z, 0-9 and '-', at most 63 characters)`,
    );
  }
  const resources = {
    cpu: String(spec.cpu ?? '4'),
    memory: spec.memory ?? '16Gi',
    pods: String(spec.pods ?? 110),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        ...spec.labels,
        type: 'kwok',
        [KWOK_NODE_KEY]: KWOK_NODE_VALUE,
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
      },
      annotations: {
        ...spec.annotations,
        [KWOK_NODE_KEY]: KWOK_NODE_VALUE,
      },
    },
    spec: {
      providerID: `kwok://${spec.name}`,
      ...(spec.taints && spec.taints.length > 0 ? { taints: spec.taints } : {}),
    },
    status: {
      capacity: { ...resources },
      allocatable: { ...resources },
    },
  };
}

/**
 * Creates a simulated node. kwok marks it Ready within about a second and keeps its Lease
 * renewed; pods the scheduler binds to it become Running.
 *
 * @throws Error for a name {@link simulatedNodeManifest} refuses; the client's ApiException,
 *   e.g. code 409 when a node of that name exists.
 */
export async function createSimulatedNode(api: CoreV1Api, spec: SimulatedNodeSpec): Promise<V1Node> {
  return api.createNode({ body: simulatedNodeManifest(spec) });
}

/**
 * Path of the kubeconfig integration tests use: `SCALEWISE_KUBECONFIG` when set, else the
 * native stack's admin kubeconfig (`$SCALEWISE_RUN_DIR/k8s/admin.kubeconfig`, run dir
 * defaulting to `$SCALEWISE_HOME/run`, home to `~/.cache/scalewise`), as `scripts/stack
 * kubeconfig` prints it.
 *
 * A plain `KUBECONFIG` is deliberately not used: these tests create and delete Nodes, and
 * an inherited KUBECONFIG may point at a real cluster.
 */
export function kubeConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SCALEWISE_KUBECONFIG) return env.SCALEWISE_KUBECONFIG;
  const home = env.SCALEWISE_HOME || join(env.HOME || homedir(), '.cache', 'scalewise');
  const runDir = env.SCALEWISE_RUN_DIR || join(home, 'run');
  return join(runDir, 'k8s', 'admin.kubeconfig');
}

/** A KubeConfig loaded from {@link kubeConfigPath}. @throws when the file is missing or invalid. */
export function loadKubeConfig(path: string = kubeConfigPath()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** CoreV1Api for the stack's cluster. */
export function coreApi(kc: KubeConfig = loadKubeConfig()): CoreV1Api {
  return kc.makeApiClient(CoreV1Api);
}

/**
 * client-node's typed APIs on a kubeconfig: what a test sets up and inspects the cluster with
 * (deployments, PDBs, pod status, ...). The code under test talks through its own client
 * (`@scalewise/kube`'s `connectKube`), which serves only the calls the services make.
 */
export interface KubeAdmin {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  coordination: CoordinationV1Api;
}

/** {@link KubeAdmin} of the kubeconfig at `path`. @throws when the file is missing or invalid. */
export function kubeAdmin(path: string = kubeConfigPath()): KubeAdmin {
  const kc = loadKubeConfig(path);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
}

/** What {@link webDeployment} makes: `replicas` pods of one container asking for `cpu` and `memory`. */
export interface WebDeploymentSpec {
  namespace: string;
  replicas: number;
  /** A request, e.g. `500m`. */
  cpu: string;
  /** A request, e.g. `128Mi`. */
  memory: string;
  /** Where the pods go: a node selector, tolerations, a grace period. */
  placement?: Pick<V1PodSpec, 'nodeSelector' | 'tolerations' | 'terminationGracePeriodSeconds'>;
}

/**
 * Creates the Deployment `web` (label `app: web`, image `web`, which KWOK never pulls) whose
 * pods a test wants scheduled, pending or drained.
 * @throws the client's ApiException, e.g. 409 when the namespace has a `web` already.
 */
export async function webDeployment(apps: AppsV1Api, spec: WebDeploymentSpec): Promise<void> {
  await apps.createNamespacedDeployment({
    namespace: spec.namespace,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: spec.replicas,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            ...spec.placement,
            containers: [
              { name: 'web', image: 'web', resources: { requests: { cpu: spec.cpu, memory: spec.memory } } },
            ],
          },
        },
      },
    },
  });
}

/**
 * Writes, through the pods/status subresource, what the kubelet writes when the pod's
 * containers exit with `exitCode`: phase Succeeded (0) or Failed, not Ready, each container
 * terminated. For pods no kubelet completes (KWOK completes only Job pods).
 * @throws the API server's error, e.g. a 409 Conflict when the pod changed since it was read.
 */
export async function completePod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  exitCode = 0,
): Promise<void> {
  const pod = await core.readNamespacedPod({ name, namespace });
  const now = new Date();
  pod.status = {
    ...pod.status,
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    conditions: (pod.status?.conditions ?? []).map((c) =>
      c.type === 'Ready' || c.type === 'ContainersReady'
        ? { ...c, status: 'False', reason: 'PodCompleted', lastTransitionTime: now }
        : c,
    ),
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: false,
      restartCount: 0,
      started: false,
      state: {
        terminated: {
          exitCode,
          reason: exitCode === 0 ? 'Completed' : 'Error',
          startedAt: now,
          finishedAt: now,
        },
      },
    })),
  };
  await core.replaceNamespacedPodStatus({ name, namespace, body: pod });
}

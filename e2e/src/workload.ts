/**
 * Workloads of a system's pool: Deployments in the system's namespace whose pods select the
 * pool's nodes (KWOK "runs" them once the scheduler binds them), and what they became.
 */
import type { V1PodSpec } from '@kubernetes/client-node';
import { POOL_LABEL, type V1Pod } from '@scalewise/kube';
import type { System } from './harness.ts';

export interface WorkloadSpec {
  name: string;
  replicas: number;
  /** Per pod, Kubernetes notation. @default "100m" */
  cpu?: string;
  /** @default "128Mi" */
  memory?: string;
  /** Extra node selector terms (a label no node has keeps the pods pending). */
  nodeSelector?: Record<string, string>;
  /**
   * Whether the pods select the system's main pool (`scalewise.io/pool`). False: only
   * `nodeSelector`, and the scheduling simulation chooses the pool (select the system's label,
   * `System.systemSelector`, so that no other system's nodes or simulation take them). @default true
   */
  selectPool?: boolean;
  /** Merged into the pod template's spec (tolerations, affinity, topologySpreadConstraints...). */
  podSpec?: Partial<V1PodSpec>;
  /** Extra labels of the Deployment and its pods (`app: <name>` is always there). */
  labels?: Record<string, string>;
}

/** Where workloads go: the system's namespace and pool (a System is one). */
export type Place = Pick<System, 'kube' | 'admin' | 'namespace' | 'pool'>;

/** Creates a Deployment whose pods select the system's pool (unless `selectPool: false`). */
export async function deploy(system: Place, spec: WorkloadSpec): Promise<void> {
  const selector = { app: spec.name };
  const labels = { ...spec.labels, ...selector };
  const nodeSelector = {
    ...(spec.selectPool === false ? {} : { [POOL_LABEL]: system.pool }),
    ...spec.nodeSelector,
  };
  await system.admin.apps.createNamespacedDeployment({
    namespace: system.namespace,
    body: {
      metadata: { name: spec.name, labels },
      spec: {
        replicas: spec.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            ...spec.podSpec,
            ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
            // KWOK ends pods at once when asked; no grace period to wait out.
            terminationGracePeriodSeconds: 0,
            containers: [
              {
                name: spec.name,
                image: spec.name,
                resources: { requests: { cpu: spec.cpu ?? '100m', memory: spec.memory ?? '128Mi' } },
              },
            ],
          },
        },
      },
    },
  });
}

/** Deletes a Deployment and its pods now. */
export async function undeploy(system: Place, name: string): Promise<void> {
  await system.admin.apps.deleteNamespacedDeployment({
    name,
    namespace: system.namespace,
    propagationPolicy: 'Foreground',
    gracePeriodSeconds: 0,
  });
  await system.admin.core.deleteCollectionNamespacedPod({
    namespace: system.namespace,
    labelSelector: `app=${name}`,
    gracePeriodSeconds: 0,
  });
}

/** The pods of a Deployment. */
export async function podsOf(system: Place, name: string): Promise<V1Pod[]> {
  return (
    await system.kube.core.listNamespacedPod({ namespace: system.namespace, labelSelector: `app=${name}` })
  ).items.filter((p) => p.metadata?.deletionTimestamp === undefined);
}

/** How many of a Deployment's pods are Running. */
export async function runningPods(system: Place, name: string): Promise<number> {
  return (await podsOf(system, name)).filter((p) => p.status?.phase === 'Running').length;
}

export interface BudgetSpec {
  name: string;
  /** The pods it covers: `app=<app>`. */
  app: string;
  /** One of the two, as Kubernetes takes them (a number or a percentage). */
  maxUnavailable?: number | string;
  minAvailable?: number | string;
}

/** Creates a PodDisruptionBudget (policy/v1) in the system's namespace. */
export async function createBudget(system: Place, spec: BudgetSpec): Promise<void> {
  await system.admin.policy.createNamespacedPodDisruptionBudget({
    namespace: system.namespace,
    body: {
      metadata: { name: spec.name },
      spec: {
        selector: { matchLabels: { app: spec.app } },
        ...(spec.maxUnavailable !== undefined ? { maxUnavailable: spec.maxUnavailable } : {}),
        ...(spec.minAvailable !== undefined ? { minAvailable: spec.minAvailable } : {}),
      },
    },
  });
}

/** Sets a Deployment's replicas. */
export async function scale(system: Place, name: string, replicas: number): Promise<void> {
  const d = await system.admin.apps.readNamespacedDeployment({ name, namespace: system.namespace });
  if (d.spec) d.spec.replicas = replicas;
  await system.admin.apps.replaceNamespacedDeployment({ name, namespace: system.namespace, body: d });
}

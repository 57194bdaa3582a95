/**
 * Workloads of a system's pool: Deployments in the system's namespace whose pods select the
 * pool's nodes (KWOK "runs" them once the scheduler binds them), and what they became.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { POOL_LABEL } from '@scalewise/kube';
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
}

/** Where workloads go: the system's namespace and pool (a System is one). */
export type Place = Pick<System, 'kube' | 'namespace' | 'pool'>;

/** Creates a Deployment whose pods select the system's pool. */
export async function deploy(system: Place, spec: WorkloadSpec): Promise<void> {
  const labels = { app: spec.name };
  await system.kube.apps.createNamespacedDeployment({
    namespace: system.namespace,
    body: {
      metadata: { name: spec.name, labels },
      spec: {
        replicas: spec.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { [POOL_LABEL]: system.pool, ...spec.nodeSelector },
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
  await system.kube.apps.deleteNamespacedDeployment({
    name,
    namespace: system.namespace,
    propagationPolicy: 'Foreground',
    gracePeriodSeconds: 0,
  });
  await system.kube.core.deleteCollectionNamespacedPod({
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

import type { AppsV1Api } from '@kubernetes/client-node';
import { webDeployment } from './kube.ts';

/** The node label naming a node's pool (`@scalewise/scheduling`'s POOL_LABEL; this package sits below it). */
const POOL_LABEL = 'scalewise.io/pool';

/**
 * The {@link webDeployment} of a test with a pool of its own: `replicas` pods asking for `cpu`
 * and `memory`, in the namespace named after the pool, that only the pool's nodes may run.
 */
export function poolWebDeployment(
  apps: AppsV1Api,
  pool: string,
  spec: { replicas: number; cpu: string; memory: string },
): Promise<void> {
  return webDeployment(apps, {
    namespace: pool,
    ...spec,
    placement: { nodeSelector: { [POOL_LABEL]: pool } },
  });
}

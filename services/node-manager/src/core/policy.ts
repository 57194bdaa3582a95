/** An action's time limits, from its pool's configuration. Pure. */
import type { PoolConfig } from '@scalewise/config';
import type { ActionPolicy } from './action.ts';

/**
 * The policy of a pool's actions: they fail before the decision engine stops counting them
 * (`action_timeout_seconds`), and say `worker_kind: pod` when the pool's workers are pods.
 * @param podWorkers whether the pool's provider has workers that are not Nodes.
 */
export function actionPolicyOf(pool: PoolConfig, podWorkers: boolean): ActionPolicy {
  return {
    readyTimeoutSeconds: Math.max(10, Math.floor(pool.action_timeout_seconds * 0.5)),
    drainTimeoutSeconds: Math.max(10, Math.floor(pool.action_timeout_seconds * 0.9)),
    ...(podWorkers ? { workerKind: 'pod' as const } : {}),
  };
}

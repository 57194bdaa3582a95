/**
 * A provider creates and removes a pool's workers (DESIGN.md section 2). Every call is
 * idempotent: creating a worker that exists, or removing one that is gone, succeeds and
 * changes nothing, so an action can always be carried out again after a crash.
 */
import type { PoolConfig } from '@scalewise/config';

export interface Instance {
  /** The provider's id (`kwok://<node>`, a container id, a pod name). */
  id: string;
  /** The Kubernetes node the instance is (or becomes). */
  node: string;
  alive: boolean;
  createdAt: number;
}

export interface Provider {
  readonly name: string;
  /** Creates the named workers of a pool; returns each with its provider id. */
  create(
    pool: PoolConfig,
    nodes: readonly string[],
    actionId: string,
  ): Promise<{ node: string; providerId: string }[]>;
  /** Removes a worker (after it was drained). */
  remove(pool: PoolConfig, node: string): Promise<void>;
  list(pool: PoolConfig): Promise<Instance[]>;
}

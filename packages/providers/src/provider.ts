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

export interface CreateOptions {
  /** The trigger's task id the workers are for (pods: label, annotation and TASK_ID env). */
  taskId?: string;
  /** The zone the scheduling simulation chose for each worker (name -> zone), when the decision said. */
  zones?: Readonly<Record<string, string>>;
}

export interface Provider {
  readonly name: string;
  /** Creates the named workers of a pool; returns each with its provider id. */
  create(
    pool: PoolConfig,
    nodes: readonly string[],
    actionId: string,
    options?: CreateOptions,
  ): Promise<{ node: string; providerId: string }[]>;
  /**
   * Removes a worker (after it was drained, or a worker of a failed scale-up that never joined).
   * `existed: false` when there was nothing to remove: the worker was gone already (deleted out
   * of band, or never made), so the removal is not ours to report.
   */
  remove(pool: PoolConfig, node: string): Promise<{ existed: boolean }>;
  list(pool: PoolConfig): Promise<Instance[]>;
  /**
   * Present when the workers are not Nodes (the `pods` provider): their readiness and their
   * end come from the provider's own watch instead of node-manager's node watch, a scale-down
   * chooses among them with {@link WorkerWatch.idle} and neither cordons nor drains them.
   */
  readonly workers?: WorkerWatch;
}

/** A change of a worker that is not a Node. */
export type WorkerChange =
  | { kind: 'ready'; pool: string; worker: string }
  /**
   * A finished worker whose cleanup time has come. The provider deletes it once every listener
   * has settled, so a listener that records the end (an event) does so before the worker goes.
   */
  | {
      kind: 'finished';
      pool: string;
      worker: string;
      phase: 'Succeeded' | 'Failed';
      actionId?: string;
      taskId?: string;
    };

export interface WorkerWatch {
  /** Starts watching; resolves once the first list is in. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Whether the worker is Ready now, as the watch last saw it. */
  isReady(worker: string): boolean;
  /** Up to `count` workers of the pool a scale-down may remove, and why others may not go. */
  idle(pool: PoolConfig, count: number): { victims: string[]; refused: { worker: string; why: string }[] };
  /** Calls `listener` with each change; returns the unsubscriber. */
  on(listener: (change: WorkerChange) => Promise<void> | void): () => void;
}

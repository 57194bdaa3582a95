/**
 * The Kubernetes view of each pool, from watch caches: the Nodes (a pool's by its label), and
 * for a `pods` pool its worker Pods (the pods provider's labels, core/workers.ts), whose
 * finished ones are remembered until a reconciliation has taken them (a pod may be deleted
 * before the next sync lists it).
 */
import type { PoolConfig } from '@scalewise/config';
import {
  ACTION_ANNOTATION,
  apiListerWatcher,
  type Kube,
  type NodeInfo,
  nodeCache,
  POOL_LABEL,
  WatchCache,
} from '@scalewise/kube';
import { WORKER_POD_SELECTOR } from '@scalewise/providers';
import {
  type CompletedWorker,
  completedPod,
  type KubeNode,
  projectWorkerPodView,
  type RawPod,
  type WorkerPodView,
  workerNodes,
} from '../core/index.ts';

/** A pool's Kubernetes view and the worker pods seen completed, read at one moment. */
export interface PoolView {
  pool: PoolConfig;
  completed: CompletedWorker[];
  kube: KubeNode[];
}

export interface KubeViews {
  nodes: WatchCache<NodeInfo>;
  /** The worker pods of `pods` pools (started only when one is configured). */
  workerPods: WatchCache<WorkerPodView>;
  /** Each pool's view now. */
  views(): PoolView[];
  /** The completed workers a reconciliation of `pool` has taken. */
  taken(pool: string, completed: readonly CompletedWorker[]): void;
  /** Starts the watches; resolves once each has its first list. */
  start(): Promise<void>;
  /** Calls `listener` when a node or worker pod is added or deleted (from now on). */
  onMembership(listener: () => void): void;
  stop(): Promise<void>;
}

const isPodsPool = (pool: PoolConfig) => pool.provider === 'pods';

const completion = (w: WorkerPodView): CompletedWorker => ({ name: w.name, actionId: w.actionId ?? w.name });

/** A node as reconciliation sees it. */
const kubeNodeOf = (n: NodeInfo): KubeNode => ({
  name: n.name,
  ready: n.conditions.Ready?.status === 'True',
  since: n.conditions.Ready?.since || n.createdAt,
  createdAt: n.createdAt,
  ...(n.annotations[ACTION_ANNOTATION] ? { action: n.annotations[ACTION_ANNOTATION] } : {}),
});

export function createKubeViews(deps: {
  kube: Kube;
  pools: readonly PoolConfig[];
  log: { warn(obj: object, msg: string): void };
}): KubeViews {
  const { pools, log } = deps;
  const hasPodsPool = pools.some(isPodsPool);
  const nodes = nodeCache(deps.kube);
  nodes.onError((err) => log.warn({ err }, 'node watch failed; it retries by itself'));
  // Worker pods: their own watch (the pods provider's labels), kept small by its projection.
  const workerPods = new WatchCache<WorkerPodView>(
    apiListerWatcher(deps.kube, 'pods', { labelSelector: WORKER_POD_SELECTOR }),
    {
      what: 'worker pods',
      project: (raw) => projectWorkerPodView(raw as RawPod, POOL_LABEL, ACTION_ANNOTATION),
      key: (w) => `${w.namespace}/${w.name}`,
    },
  );
  workerPods.onError((err) => log.warn({ err }, 'worker pod watch failed; it retries by itself'));
  /** Pool -> worker pods seen finished (before any deletion) since the last reconciliation. */
  const completedSeen = new Map<string, Map<string, CompletedWorker>>();
  const noteCompleted = (w: WorkerPodView) => {
    if (!completedPod(w) || !w.pool) return;
    const seen = completedSeen.get(w.pool) ?? new Map<string, CompletedWorker>();
    seen.set(w.name, completion(w));
    completedSeen.set(w.pool, seen);
  };

  function podsPoolView(pool: PoolConfig): PoolView {
    const completed = new Map(completedSeen.get(pool.name) ?? []);
    for (const w of workerPods.values()) {
      if (w.pool === pool.name && completedPod(w)) completed.set(w.name, completion(w));
    }
    return { pool, completed: [...completed.values()], kube: workerNodes(workerPods.values(), pool.name) };
  }

  return {
    nodes,
    workerPods,
    views() {
      const byPool = new Map<string, NodeInfo[]>();
      for (const n of nodes.values()) {
        const pool = n.labels[POOL_LABEL];
        if (pool === undefined || n.deletedAt !== undefined) continue;
        const list = byPool.get(pool);
        if (list) list.push(n);
        else byPool.set(pool, [n]);
      }
      return pools.map((pool) =>
        isPodsPool(pool)
          ? podsPoolView(pool)
          : { pool, completed: [], kube: (byPool.get(pool.name) ?? []).map(kubeNodeOf) },
      );
    },
    taken(pool, completed) {
      const seen = completedSeen.get(pool);
      if (seen) for (const c of completed) seen.delete(c.name);
    },
    async start() {
      nodes.start();
      if (hasPodsPool) {
        workerPods.on((e) => {
          if (e.type !== 'delete') noteCompleted(e.object);
        });
        workerPods.start();
        await workerPods.synced;
      }
      await nodes.synced;
    },
    onMembership(listener) {
      nodes.on((e) => {
        if (e.type !== 'update') listener();
      });
      if (hasPodsPool) {
        workerPods.on((e) => {
          if (e.type !== 'update') listener();
        });
      }
    },
    async stop() {
      await nodes.stop();
      if (hasPodsPool) await workerPods.stop();
    },
  };
}

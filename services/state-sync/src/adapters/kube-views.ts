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

export interface KubeViewsDeps {
  kube: Kube;
  pools: readonly PoolConfig[];
  log: { warn(obj: object, msg: string): void };
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

/** The nodes of each pool, not being deleted, by the pool label. */
function nodesByPool(nodes: Iterable<NodeInfo>): Map<string, NodeInfo[]> {
  const byPool = new Map<string, NodeInfo[]>();
  for (const n of nodes) {
    const pool = n.labels[POOL_LABEL];
    if (pool === undefined || n.deletedAt !== undefined) continue;
    const list = byPool.get(pool);
    if (list) list.push(n);
    else byPool.set(pool, [n]);
  }
  return byPool;
}

/** Worker pods: their own watch (the pods provider's labels), kept small by its projection. */
function workerPodCache(kube: Kube): WatchCache<WorkerPodView> {
  return new WatchCache<WorkerPodView>(
    apiListerWatcher(kube, 'pods', { labelSelector: WORKER_POD_SELECTOR }),
    {
      what: 'worker pods',
      project: (raw) => projectWorkerPodView(raw as RawPod, POOL_LABEL, ACTION_ANNOTATION),
      key: (w) => `${w.namespace}/${w.name}`,
    },
  );
}

class WatchedKubeViews implements KubeViews {
  readonly nodes: WatchCache<NodeInfo>;
  readonly workerPods: WatchCache<WorkerPodView>;
  private readonly pools: readonly PoolConfig[];
  /** Whether a `pods` pool is configured: the worker pods are watched only then. */
  private readonly hasPodsPool: boolean;
  /** Pool -> worker pods seen finished (before any deletion) since the last reconciliation. */
  private readonly completedSeen = new Map<string, Map<string, CompletedWorker>>();

  constructor(deps: KubeViewsDeps) {
    const { pools, log } = deps;
    this.pools = pools;
    this.hasPodsPool = pools.some(isPodsPool);
    this.nodes = nodeCache(deps.kube);
    this.nodes.onError((err) => log.warn({ err }, 'node watch failed; it retries by itself'));
    this.workerPods = workerPodCache(deps.kube);
    this.workerPods.onError((err) => log.warn({ err }, 'worker pod watch failed; it retries by itself'));
  }

  views(): PoolView[] {
    const byPool = nodesByPool(this.nodes.values());
    return this.pools.map((pool) =>
      isPodsPool(pool)
        ? this.podsPoolView(pool)
        : { pool, completed: [], kube: (byPool.get(pool.name) ?? []).map(kubeNodeOf) },
    );
  }

  taken(pool: string, completed: readonly CompletedWorker[]): void {
    const seen = this.completedSeen.get(pool);
    if (seen) for (const c of completed) seen.delete(c.name);
  }

  async start(): Promise<void> {
    this.nodes.start();
    if (this.hasPodsPool) {
      this.workerPods.on((e) => {
        if (e.type !== 'delete') this.noteCompleted(e.object);
      });
      this.workerPods.start();
      await this.workerPods.synced;
    }
    await this.nodes.synced;
  }

  onMembership(listener: () => void): void {
    this.nodes.on((e) => {
      if (e.type !== 'update') listener();
    });
    if (this.hasPodsPool) {
      this.workerPods.on((e) => {
        if (e.type !== 'update') listener();
      });
    }
  }

  async stop(): Promise<void> {
    await this.nodes.stop();
    if (this.hasPodsPool) await this.workerPods.stop();
  }

  private noteCompleted(w: WorkerPodView): void {
    if (!completedPod(w) || !w.pool) return;
    const seen = this.completedSeen.get(w.pool) ?? new Map<string, CompletedWorker>();
    seen.set(w.name, completion(w));
    this.completedSeen.set(w.pool, seen);
  }

  private podsPoolView(pool: PoolConfig): PoolView {
    const completed = new Map(this.completedSeen.get(pool.name) ?? []);
    for (const w of this.workerPods.values()) {
      if (w.pool === pool.name && completedPod(w)) completed.set(w.name, completion(w));
    }
    return {
      pool,
      completed: [...completed.values()],
      kube: workerNodes(this.workerPods.values(), pool.name),
    };
  }
}

export function createKubeViews(deps: KubeViewsDeps): KubeViews {
  return new WatchedKubeViews(deps);
}

/**
 * The cluster as metrics-listener sees it: watch caches of Nodes, Pods and
 * PodDisruptionBudgets (list, then watch from the resourceVersion; never polling lists), and
 * what a round or a pending-pod report reads from them: a snapshot for the scheduling
 * simulation (packages/scheduling, core/simulate.ts), the waiting pods placed by it, each
 * pool's nodes and worker pods. A pool's nodes carry `scalewise.io/pool=<pool>`.
 */
import type { Config, PoolConfig } from '@scalewise/config';
import {
  CA_SCALE_DOWN_DISABLED,
  evictionBlocker,
  type Kube,
  type NodeInfo,
  nodeCache,
  type PdbInfo,
  POOL_LABEL,
  type PodInfo,
  pdbCache,
  pendingUnschedulable,
  podCache,
  podKey,
  podsByNode,
  SCALE_DOWN_DISABLED,
  simPod,
  snapshotOf,
  type WatchCache,
} from '@scalewise/kube';
import type { BoundPod, NodeTemplate, Snapshot } from '@scalewise/scheduling';
import {
  type PendingPlan,
  type PendingPod,
  planPending,
  type SensePolicy,
  type WaitingPod,
} from '../core/index.ts';
import {
  group,
  isWorkerPod,
  nodeCountsOf,
  nodesByAction,
  type PoolTemplate,
  pendingSample,
  poolTemplatesOf,
} from './cluster-readings.ts';

export interface ClusterViewDeps {
  kube: Kube;
  config: Config;
  policies: readonly SensePolicy[];
  now: () => number;
  log: { warn(o: object, m?: string): void };
}

/** The pods waiting for a node, by pool, with a `pods` pool's own (placed on no node). */
export type Placed = PendingPlan & { podsPools: Map<string, PendingPod[]> };

/** What one round reads once for all pools. */
export interface RoundViews {
  nodesByPool: Map<string, NodeInfo[]>;
  /** A pods pool's workers: its worker Pods, not finished and not being deleted. */
  workerPodsByPool: Map<string, PodInfo[]>;
  byNode: ReturnType<typeof podsByNode>;
  snapshot: Snapshot;
  plan: Placed;
}

export class ClusterView {
  readonly nodes: WatchCache<NodeInfo>;
  readonly pods: WatchCache<PodInfo>;
  /** Each node pool's template, by pool. */
  readonly templateOf: Map<string, PoolTemplate['template']>;
  private readonly pdbs: WatchCache<PdbInfo>;
  private readonly config: Config;
  private readonly now: () => number;
  private readonly poolConfigs: Map<string, PoolConfig>;
  /** The pools whose workers are pods, not nodes. */
  private readonly podsPools: Set<string>;
  private readonly poolTemplates: PoolTemplate[];

  constructor(deps: ClusterViewDeps) {
    const { kube, config, policies } = deps;
    this.config = config;
    this.now = deps.now;
    this.nodes = nodeCache(kube);
    this.pods = podCache(kube);
    this.pdbs = pdbCache(kube);
    for (const c of [this.nodes, this.pods, this.pdbs])
      c.onError((err) => deps.log.warn({ err }, 'watch failed; it retries by itself'));
    this.poolConfigs = new Map(config.autoscaler.pools.map((p) => [p.name, p]));
    this.podsPools = new Set(policies.filter((p) => p.workerKind === 'pod').map((p) => p.pool));
    const defaultPool = config.autoscaler.sensing.default_pool ?? policies[0]?.pool;
    this.poolTemplates = poolTemplatesOf(policies, this.poolConfigs, defaultPool);
    this.templateOf = new Map(this.poolTemplates.map((t) => [t.policy.pool, t.template]));
  }

  /**
   * The pods waiting for a node at `at` through the simulation: by pool, and those no pool can
   * host. A pod whose nodeSelector names a `pods` pool is that pool's, as it is (no nodes).
   */
  simulatePending(at: number, snap = this.snapshot()): Placed {
    const { podsPoolPending, waiting } = this.sortPending(at);
    const plan =
      waiting.length > 0
        ? planPending({
            snapshot: snap,
            waiting,
            templates: this.templates(nodeCountsOf(snap)),
            expander: this.config.autoscaler.scheduling.expander,
            now: at,
            namedPool: (pod) => pod.nodeSelector?.[POOL_LABEL],
          })
        : { byPool: new Map(), unplaceable: null, elsewhere: 0 };
    if (plan.byPool.size > 0) {
      const made = this.actionNodes(at);
      for (const [pool, e] of plan.byPool) {
        const counts = made.get(pool);
        if (counts) e.simulation.action_nodes = counts;
      }
    }
    return { ...plan, podsPools: podsPoolPending };
  }

  /** What one round reads once for all pools: nodes by pool, pods by node, waiting pods by pool. */
  roundViews(at: number): RoundViews {
    const nodesByPool = new Map<string, NodeInfo[]>();
    for (const n of this.nodes.values()) {
      const pool = n.labels[POOL_LABEL];
      if (pool !== undefined && n.deletedAt === undefined) group(nodesByPool, pool, n);
    }
    const workerPodsByPool = new Map<string, PodInfo[]>();
    if (this.podsPools.size > 0) {
      for (const p of this.pods.values()) {
        const pool = p.labels[POOL_LABEL];
        if (pool !== undefined && isWorkerPod(p)) group(workerPodsByPool, pool, p);
      }
    }
    const snap = this.snapshot();
    return {
      nodesByPool,
      workerPodsByPool,
      byNode: podsByNode(this.pods.values()),
      snapshot: snap,
      plan: this.simulatePending(at, snap),
    };
  }

  /** Why a pod may not be evicted at all (safe-to-evict "false", local storage, no controller). */
  blocker(bp: BoundPod): string | undefined {
    const info = this.pods.get(bp.key);
    return info ? evictionBlocker(info)?.why : undefined;
  }

  /** Nodes an operator keeps out of scale-down (scalewise.io/ or the Cluster Autoscaler's annotation). */
  scaleDownDisabled(name: string): boolean {
    const a = this.nodes.get(name)?.annotations;
    return a?.[SCALE_DOWN_DISABLED] === 'true' || a?.[CA_SCALE_DOWN_DISABLED] === 'true';
  }

  /** Starts the watches and resolves once each has listed. */
  async start(): Promise<void> {
    this.nodes.start();
    this.pods.start();
    this.pdbs.start();
    await Promise.all([this.nodes.synced, this.pods.synced, this.pdbs.synced]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.nodes.stop(), this.pods.stop(), this.pdbs.stop()]);
  }

  /**
   * The cluster as the caches hold it now, for the simulation. A node NotReady longer than
   * `not_ready_timeout_seconds` is broken, not starting: no pod counts on it.
   */
  private snapshot(): Snapshot {
    return snapshotOf(this.nodes.values(), this.pods.values(), this.pdbs.values(), {
      now: this.now(),
      notReadyTimeoutMs: this.config.autoscaler.sensing.not_ready_timeout_seconds * 1000,
    });
  }

  /** Each node pool's template with the nodes it may still add (its max less the nodes it has). */
  private templates(nodeCounts: ReadonlyMap<string, number>): NodeTemplate[] {
    return this.poolTemplates.map(({ policy, template }) => ({
      ...template,
      maxNew: Math.max(0, policy.max - (nodeCounts.get(policy.pool) ?? 0)),
    }));
  }

  /**
   * The pods unschedulable at `at`: those a `pods` pool names, by pool, and the others the
   * simulation places.
   */
  private sortPending(at: number): { podsPoolPending: Map<string, PendingPod[]>; waiting: WaitingPod[] } {
    const podsPoolPending = new Map<string, PendingPod[]>();
    const waiting: WaitingPod[] = [];
    for (const p of pendingUnschedulable(this.pods.values(), at)) {
      const info = this.pods.get(podKey(p));
      const named = info?.nodeSelector?.[POOL_LABEL];
      if (named !== undefined && this.podsPools.has(named)) {
        group(podsPoolPending, named, pendingSample(p));
        continue;
      }
      // A pod that names a pool this configuration does not have waits for someone else's
      // nodes (another autoscaler's, or a pool left out on purpose): not ours to report.
      if (named !== undefined && !this.poolConfigs.has(named)) continue;
      if (info) waiting.push({ pod: simPod(info), sample: pendingSample(p) });
    }
    return { podsPoolPending, waiting };
  }

  /** Of each pool's nodes, how many each recent action made ({@link nodesByAction}). */
  private actionNodes(at: number): Map<string, Record<string, number>> {
    return nodesByAction(this.nodes.values(), this.poolConfigs, at);
  }
}

export function createClusterView(deps: ClusterViewDeps): ClusterView {
  return new ClusterView(deps);
}

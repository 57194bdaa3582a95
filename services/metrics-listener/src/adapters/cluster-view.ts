/**
 * The cluster as metrics-listener sees it: watch caches of Nodes, Pods and
 * PodDisruptionBudgets (list, then watch from the resourceVersion; never polling lists), and
 * what a round or a pending-pod report reads from them: a snapshot for the scheduling
 * simulation (packages/scheduling, core/simulate.ts), the waiting pods placed by it, each
 * pool's nodes and worker pods. A pool's nodes carry `scalewise.io/pool=<pool>`.
 */
import { type Config, type PoolConfig, poolTemplate } from '@scalewise/config';
import {
  ACTION_ANNOTATION,
  CA_SCALE_DOWN_DISABLED,
  evictionBlocker,
  type Kube,
  MANAGED_BY,
  type NodeInfo,
  nodeCache,
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
  WORKER_KIND_LABEL,
} from '@scalewise/kube';
import type { BoundPod, NodeTemplate, Snapshot } from '@scalewise/scheduling';
import { type PendingPlan, type PendingPod, planPending, type SensePolicy } from '../core/index.ts';

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

/** Appends `item` to the list of `key`. */
function group<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}

const pendingSample = (p: ReturnType<typeof pendingUnschedulable>[number]): PendingPod => ({
  namespace: p.namespace,
  name: p.name,
  cpuMillicores: p.requests.cpuMillicores,
  memoryBytes: p.requests.memoryBytes,
  pendingSince: p.since,
  ...(p.workload ? { owner: p.workload } : {}),
  reason: 'Unschedulable',
});

export function createClusterView(deps: ClusterViewDeps) {
  const { kube, config, policies, now } = deps;
  const sensing = config.autoscaler.sensing;
  const nodes = nodeCache(kube);
  const pods = podCache(kube);
  const pdbs = pdbCache(kube);
  for (const c of [nodes, pods, pdbs])
    c.onError((err) => deps.log.warn({ err }, 'watch failed; it retries by itself'));
  const poolConfigs = new Map(config.autoscaler.pools.map((p) => [p.name, p]));
  const podsPools = new Set(policies.filter((p) => p.workerKind === 'pod').map((p) => p.pool));
  const defaultPool = sensing.default_pool ?? policies[0]?.pool;

  // Each node pool's template, as its nodes are made (the config does not change at run time).
  // Among pools the expander finds equal the order decides: sensing.default_pool first.
  const poolTemplates = policies
    .filter((p) => p.workerKind !== 'pod' && poolConfigs.has(p.pool))
    .map((p) => ({ policy: p, template: poolTemplate(poolConfigs.get(p.pool) as PoolConfig) }))
    .sort((a, b) => Number(b.policy.pool === defaultPool) - Number(a.policy.pool === defaultPool));
  const templateOf = new Map(poolTemplates.map((t) => [t.policy.pool, t.template]));

  /** Each node pool's template with the nodes it may still add (its max less the nodes it has). */
  const templates = (nodeCounts: ReadonlyMap<string, number>): NodeTemplate[] =>
    poolTemplates.map(({ policy, template }) => ({
      ...template,
      maxNew: Math.max(0, policy.max - (nodeCounts.get(policy.pool) ?? 0)),
    }));

  /**
   * The cluster as the caches hold it now, for the simulation. A node NotReady longer than
   * `not_ready_timeout_seconds` is broken, not starting: no pod counts on it.
   */
  const snapshot = (): Snapshot =>
    snapshotOf(nodes.values(), pods.values(), pdbs.values(), {
      now: now(),
      notReadyTimeoutMs: sensing.not_ready_timeout_seconds * 1000,
    });

  /**
   * Of each pool's nodes, how many each recent action made (node-manager's action id on the
   * node, within the pool's action timeout): the decision-engine subtracts what its actions in
   * flight have already delivered, so the sizing does not hang on which topic it read first.
   */
  function actionNodes(at: number): Map<string, Record<string, number>> {
    const out = new Map<string, Record<string, number>>();
    for (const n of nodes.values()) {
      const pool = n.labels[POOL_LABEL];
      const action = n.annotations[ACTION_ANNOTATION];
      const cfg = pool === undefined ? undefined : poolConfigs.get(pool);
      if (!cfg || action === undefined || n.deletedAt !== undefined) continue;
      if (at - n.createdAt > cfg.action_timeout_seconds * 1000) continue;
      const counts = out.get(cfg.name) ?? {};
      counts[action] = (counts[action] ?? 0) + 1;
      out.set(cfg.name, counts);
    }
    return out;
  }

  /**
   * The pods waiting for a node at `at` through the simulation: by pool, and those no pool can
   * host. A pod whose nodeSelector names a `pods` pool is that pool's, as it is (no nodes).
   */
  function simulatePending(at: number, snap = snapshot()): Placed {
    const podsPoolPending = new Map<string, PendingPod[]>();
    const waiting: { pod: ReturnType<typeof simPod>; sample: PendingPod }[] = [];
    for (const p of pendingUnschedulable(pods.values(), at)) {
      const info = pods.get(podKey(p));
      const named = info?.nodeSelector?.[POOL_LABEL];
      if (named !== undefined && podsPools.has(named)) {
        group(podsPoolPending, named, pendingSample(p));
        continue;
      }
      // A pod that names a pool this configuration does not have waits for someone else's
      // nodes (another autoscaler's, or a pool left out on purpose): not ours to report.
      if (named !== undefined && !poolConfigs.has(named)) continue;
      if (info) waiting.push({ pod: simPod(info), sample: pendingSample(p) });
    }
    const nodeCounts = new Map<string, number>();
    for (const n of snap.nodes)
      if (n.pool !== undefined) nodeCounts.set(n.pool, (nodeCounts.get(n.pool) ?? 0) + 1);
    const plan =
      waiting.length > 0
        ? planPending({
            snapshot: snap,
            waiting,
            templates: templates(nodeCounts),
            expander: config.autoscaler.scheduling.expander,
            now: at,
            namedPool: (pod) => pod.nodeSelector?.[POOL_LABEL],
          })
        : { byPool: new Map(), unplaceable: null, elsewhere: 0 };
    if (plan.byPool.size > 0) {
      const made = actionNodes(at);
      for (const [pool, e] of plan.byPool) {
        const counts = made.get(pool);
        if (counts) e.simulation.action_nodes = counts;
      }
    }
    return { ...plan, podsPools: podsPoolPending };
  }

  /** A pods pool's worker: node-manager's pods provider labels them; not finished or going. */
  const isWorkerPod = (p: PodInfo): boolean =>
    p.labels[WORKER_KIND_LABEL] === 'pod' &&
    p.labels[MANAGED_BY] === 'scalewise' &&
    p.deletedAt === undefined &&
    p.phase !== 'Succeeded' &&
    p.phase !== 'Failed';

  /** What one round reads once for all pools: nodes by pool, pods by node, waiting pods by pool. */
  function roundViews(at: number): RoundViews {
    const nodesByPool = new Map<string, NodeInfo[]>();
    for (const n of nodes.values()) {
      const pool = n.labels[POOL_LABEL];
      if (pool !== undefined && n.deletedAt === undefined) group(nodesByPool, pool, n);
    }
    const workerPodsByPool = new Map<string, PodInfo[]>();
    if (podsPools.size > 0) {
      for (const p of pods.values()) {
        const pool = p.labels[POOL_LABEL];
        if (pool !== undefined && isWorkerPod(p)) group(workerPodsByPool, pool, p);
      }
    }
    const snap = snapshot();
    return {
      nodesByPool,
      workerPodsByPool,
      byNode: podsByNode(pods.values()),
      snapshot: snap,
      plan: simulatePending(at, snap),
    };
  }

  return {
    nodes,
    pods,
    templateOf,
    simulatePending,
    roundViews,
    /** Why a pod may not be evicted at all (safe-to-evict "false", local storage, no controller). */
    blocker: (bp: BoundPod): string | undefined => {
      const info = pods.get(bp.key);
      return info ? evictionBlocker(info)?.why : undefined;
    },
    /** Nodes an operator keeps out of scale-down (scalewise.io/ or the Cluster Autoscaler's annotation). */
    scaleDownDisabled: (name: string): boolean => {
      const a = nodes.get(name)?.annotations;
      return a?.[SCALE_DOWN_DISABLED] === 'true' || a?.[CA_SCALE_DOWN_DISABLED] === 'true';
    },
    /** Starts the watches and resolves once each has listed. */
    async start(): Promise<void> {
      nodes.start();
      pods.start();
      pdbs.start();
      await Promise.all([nodes.synced, pods.synced, pdbs.synced]);
    },
    async stop(): Promise<void> {
      await Promise.all([nodes.stop(), pods.stop(), pdbs.stop()]);
    },
  };
}

export type ClusterView = ReturnType<typeof createClusterView>;

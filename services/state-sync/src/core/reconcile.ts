/**
 * state-sync's core, pure: three views of a pool (the Kubernetes Nodes, the provider's
 * instances, the state store in Redis) are compared each cycle, the store is repaired from
 * the first two, and the outcome is said as events:
 * - ClusterStateSynced when all three agree (the same nodes, the same count);
 * - StateDriftDetected with each difference (`node_without_instance`,
 *   `instance_without_node`, `state_stale`) and whether the store was repaired (it always is
 *   for `state_stale`; the other two need node-manager or a person);
 * - NodeUnexpectedlyLost for a node the store knew that is gone (or whose instance died, or
 *   that stayed NotReady past `notReadyTimeoutSeconds`) with no scale-down in flight for it,
 *   with its cause and when it was last seen.
 * Scale-downs in flight are learned from action events (`removing`): their nodes leave
 * without a loss. So do worker pods that finished their task (`pods` pools): the shell marks
 * them {@link COMPLETED} ({@link workersCompleted}) before they leave the view.
 *
 * The provider's view is a list of instances, or {@link ProviderUnavailable} when it could not
 * be listed. An unavailable provider is never "every instance gone": the cycle judges only what
 * Kubernetes shows (a deleted node, a NotReady timeout), repairs the store from it, keeps the
 * last instance count, records the failure in the store (`provider`), and says no
 * ClusterStateSynced (the three views cannot be said to agree).
 *
 * A difference between Kubernetes and the provider (`node_without_instance`,
 * `instance_without_node`) is reported only once two reconciliations in a row have seen it
 * (`suspects`): the node watch and the provider's list are read at different moments, so a
 * node deleted or created between the two reads is not drift. A node a scale-down is removing
 * may lose its instance first: not drift either.
 */
import type { EventData } from '@scalewise/events';

export interface KubeNode {
  name: string;
  ready: boolean;
  /** Epoch ms of the last Ready transition (or creation). */
  since: number;
  /** Epoch ms the node (or worker pod) was created; absent: old enough that the store should know it. */
  createdAt?: number;
}

/**
 * A node created this long before the last sync should be in the store (creation times have
 * whole seconds, and the watch may lag the API a little).
 */
const STALE_MARGIN_MS = 2_000;

export interface Instance {
  /** The provider's id (container id, kwok node name, pod name). */
  id: string;
  /** The node this instance is (or will be) registered as. */
  node: string;
  alive: boolean;
  /** Epoch ms when the provider created it. */
  createdAt: number;
  /** Why a dead instance died, when the provider knows (a container that exited: container_crash). */
  cause?: 'container_crash' | 'instance_gone' | 'node_deleted';
}

/** The provider could not be listed (its retries ran out, or its circuit breaker is open). */
export interface ProviderUnavailable {
  unavailable: true;
  /** The error's code (e.g. CIRCUIT_OPEN, RETRIES_EXHAUSTED, DEPENDENCY_UNAVAILABLE). */
  code: string;
  message: string;
}

/** The provider's view: its instances of the pool, or why it could not say. */
export type ProviderView = readonly Instance[] | ProviderUnavailable;

const isUnavailable = (v: ProviderView): v is ProviderUnavailable => !Array.isArray(v);

/** The `removing` mark of a worker pod that finished its task: it leaves without a loss. */
export const COMPLETED = 'completed';

export interface StoredNode {
  status: 'ready' | 'not_ready';
  /** Epoch ms the node was last listed by the Kubernetes API. */
  lastSeen: number;
  /** Epoch ms since the node has been NotReady (null while Ready). */
  notReadySince: number | null;
  /** NodeUnexpectedlyLost was said for its NotReady timeout. */
  lostReported?: boolean;
}

/** The materialised pool state in the store (the read model the API and CLI read). */
export interface PoolStore {
  pool: string;
  workers: number;
  readyWorkers: number;
  nodes: Record<string, StoredNode>;
  /** Nodes a scale-down in flight is removing, with its action id (or {@link COMPLETED}). */
  removing: Record<string, string>;
  lastSync: number | null;
  /** Live instances the provider listed at its last successful listing (null: never listed). */
  instances?: number | null;
  /** Set while the provider cannot be listed: the error, and since when (epoch ms). */
  providerError?: { code: string; message: string; since: number } | null;
  /**
   * Differences between Kubernetes and the provider seen so far, `<kind>/<name>` -> epoch ms
   * first seen; reported once seen by two reconciliations in a row.
   */
  suspects?: Record<string, number>;
}

export const emptyStore = (pool: string): PoolStore => ({
  pool,
  workers: 0,
  readyWorkers: 0,
  nodes: {},
  removing: {},
  lastSync: null,
});

export interface SyncPolicy {
  /** A node NotReady this long is lost. @default 300 */
  notReadyTimeoutSeconds: number;
  /** A new instance may take this long to register its node before it is drift. @default 120 */
  registrationGraceSeconds: number;
}

export type SyncIntent = {
  [T in SyncType]: { type: T; data: EventData<T> };
}[SyncType];
export type SyncType =
  | 'io.scalewise.ClusterStateSynced'
  | 'io.scalewise.StateDriftDetected'
  | 'io.scalewise.NodeUnexpectedlyLost';

type Drift = EventData<'io.scalewise.StateDriftDetected'>['drift'][number];

/**
 * One reconciliation.
 * @param stored the store as read (null when the pool's key is missing: a first run or tampering).
 */
export function reconcile(
  pool: string,
  stored: PoolStore | null,
  nodes: readonly KubeNode[],
  provider: ProviderView,
  now: number,
  policy: SyncPolicy,
): { store: PoolStore; events: SyncIntent[] } {
  const store = stored ?? emptyStore(pool);
  const events: SyncIntent[] = [];
  const iso = (ms: number) => new Date(ms).toISOString();
  const kube = new Map(nodes.map((n) => [n.name, n]));
  const unavailable = isUnavailable(provider) ? provider : null;
  // Unavailable: nothing is known of the instances (not: there are none).
  const instances: readonly Instance[] = isUnavailable(provider) ? [] : provider;
  const alive = instances.filter((i) => i.alive);
  const byNode = new Map(alive.map((i) => [i.node, i]));
  const dead = new Map(instances.filter((i) => !i.alive).map((i) => [i.node, i]));

  // What the store knew and is gone, or has outstayed its NotReady time.
  const repaired: Record<string, StoredNode> = {};
  const removing = { ...store.removing };
  const remaining = nodes.filter((n) => !dead.has(n.name)).length;
  const lost: { name: string; known: StoredNode; instanceDied: boolean }[] = [];
  for (const [name, known] of Object.entries(store.nodes)) {
    const n = kube.get(name);
    const instanceDied = dead.has(name);
    if (n && !instanceDied) continue;
    if (removing[name] !== undefined) {
      // Removed by a scale-down (or finished): expected, not a loss. The mark stays while the
      // node does (a container removed before its node is deleted).
      if (!n) delete removing[name];
      continue;
    }
    lost.push({ name, known, instanceDied });
  }
  // Several nodes gone in one cycle are reported one after the other, each with the workers
  // left after it (the last with what is left now), as separate cycles would have: consumers
  // that size repairs from remaining_workers (min-enforcer's EmergencyScaleUp puts back the
  // size before the burst) see the same losses whether they came in one cycle or in several.
  lost.forEach(({ name, known, instanceDied }, i) => {
    events.push({
      type: 'io.scalewise.NodeUnexpectedlyLost',
      data: {
        pool,
        node_name: name,
        last_seen: iso(known.lastSeen),
        cause: instanceDied ? (dead.get(name)?.cause ?? 'instance_gone') : 'node_deleted',
        remaining_workers: remaining + (lost.length - 1 - i),
      },
    });
  });

  for (const n of nodes) {
    if (dead.has(n.name) && removing[n.name] === undefined) continue;
    const before = store.nodes[n.name];
    const notReadySince = n.ready ? null : (before?.notReadySince ?? n.since);
    const node: StoredNode = { status: n.ready ? 'ready' : 'not_ready', lastSeen: now, notReadySince };
    if (notReadySince !== null && now - notReadySince >= policy.notReadyTimeoutSeconds * 1000) {
      node.lostReported = true;
      if (!before?.lostReported && removing[n.name] === undefined) {
        events.push({
          type: 'io.scalewise.NodeUnexpectedlyLost',
          data: {
            pool,
            node_name: n.name,
            last_seen: iso(before?.lastSeen ?? now),
            cause: 'not_ready_timeout',
            remaining_workers: remaining,
          },
        });
      }
    }
    repaired[n.name] = node;
  }

  // Marks for nodes neither known nor listed any more have done their work.
  for (const n of Object.keys(removing)) if (!store.nodes[n] && !kube.has(n)) delete removing[n];

  // The three views. Kubernetes against the provider: only what two cycles in a row saw.
  const drift: Drift[] = [];
  let suspects: Record<string, number> = { ...store.suspects };
  if (!unavailable) {
    const seen: Drift[] = [];
    for (const n of nodes) {
      if (!byNode.has(n.name) && !dead.has(n.name) && removing[n.name] === undefined) {
        seen.push({ kind: 'node_without_instance', name: n.name });
      }
    }
    for (const i of alive) {
      if (!kube.has(i.node) && now - i.createdAt >= policy.registrationGraceSeconds * 1000) {
        seen.push({ kind: 'instance_without_node', name: i.node });
      }
    }
    suspects = {};
    for (const d of seen) {
      const key = `${d.kind}/${d.name}`;
      const first = store.suspects?.[key] ?? now;
      suspects[key] = first;
      if (first < now) drift.push(d);
    }
  }
  // The store out of date: not the churn since the last cycle (a node that joined since, one
  // lost or removed now, each said by its own event), but what the store should have held and
  // does not: a node older than the last sync missing from it (a worker key deleted), or a
  // worker count that disagrees with its own nodes.
  const storedNames = Object.keys(store.nodes).sort();
  const liveNames = Object.keys(repaired).sort();
  const lastSync = store.lastSync;
  const shouldHaveKnown = (name: string): boolean => {
    const createdAt = kube.get(name)?.createdAt;
    return createdAt === undefined || lastSync === null || createdAt <= lastSync - STALE_MARGIN_MS;
  };
  if (stored !== null) {
    for (const n of liveNames) {
      if (!store.nodes[n] && shouldHaveKnown(n)) drift.push({ kind: 'state_stale', name: n });
    }
    if (store.workers !== storedNames.length && !drift.some((d) => d.kind === 'state_stale')) {
      drift.push({ kind: 'state_stale', name: 'workers' });
    }
  } else if (liveNames.length > 0) {
    // A missing store key: first run, or someone deleted it. Either way it is rebuilt.
    drift.push({ kind: 'state_stale', name: 'store' });
  }

  const next: PoolStore = {
    pool,
    workers: liveNames.length,
    readyWorkers: Object.values(repaired).filter((n) => n.status === 'ready').length,
    nodes: repaired,
    removing,
    lastSync: now,
    instances: unavailable ? (store.instances ?? null) : alive.length,
    providerError: unavailable
      ? {
          code: unavailable.code,
          message: unavailable.message,
          since: store.providerError?.since ?? now,
        }
      : null,
    suspects,
  };
  const counts = {
    k8s_nodes: nodes.length,
    // Unavailable: the last count listed, not 0 (which would read as every instance gone).
    docker_containers: unavailable ? (store.instances ?? 0) : alive.length,
    db_workers: stored === null ? 0 : Object.keys(store.nodes).length,
  };
  if (drift.length > 0) {
    events.push({
      type: 'io.scalewise.StateDriftDetected',
      data: { pool, ...counts, drift, repaired: drift.every((d) => d.kind === 'state_stale') },
    });
  } else if (!unavailable && Object.keys(suspects).length === 0) {
    events.push({
      type: 'io.scalewise.ClusterStateSynced',
      data: { pool, ...counts, workers: next.workers, last_sync: iso(now) },
    });
  }
  return { store: next, events };
}

/** Worker pods that finished their task (or that node-manager cleaned up as completed): they leave without being lost. */
export function workersCompleted(store: PoolStore, names: Iterable<string>): PoolStore {
  const removing = { ...store.removing };
  let changed = false;
  for (const n of names) {
    if (removing[n] === COMPLETED) continue;
    removing[n] = COMPLETED;
    changed = true;
  }
  return changed ? { ...store, removing } : store;
}

/** A scale-down started: its nodes leave without being lost. */
export function removingNodes(store: PoolStore, actionId: string, nodes: readonly string[]): PoolStore {
  const removing = { ...store.removing };
  for (const n of nodes) removing[n] = actionId;
  return { ...store, removing };
}

/** An action ended: nodes it did not remove are no longer expected to go. */
export function actionEnded(store: PoolStore, actionId: string): PoolStore {
  const removing: Record<string, string> = {};
  for (const [n, a] of Object.entries(store.removing)) {
    // Its nodes already gone stay marked until the next reconciliation sees them gone.
    if (a !== actionId || !store.nodes[n]) removing[n] = a;
  }
  return { ...store, removing };
}

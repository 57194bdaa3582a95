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
 * without a loss.
 */
import type { EventData } from '@scalewise/events';

export interface KubeNode {
  name: string;
  ready: boolean;
  /** Epoch ms of the last Ready transition (or creation). */
  since: number;
}

export interface Instance {
  /** The provider's id (container id, kwok node name, pod name). */
  id: string;
  /** The node this instance is (or will be) registered as. */
  node: string;
  alive: boolean;
  /** Epoch ms when the provider created it. */
  createdAt: number;
  /** Why a dead instance died, when the provider knows (a container that exited: container_crash). */
  cause?: 'container_crash' | 'instance_gone';
}

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
  /** Nodes a scale-down in flight is removing, with its action id. */
  removing: Record<string, string>;
  lastSync: number | null;
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
  instances: readonly Instance[],
  now: number,
  policy: SyncPolicy,
): { store: PoolStore; events: SyncIntent[] } {
  const store = stored ?? emptyStore(pool);
  const events: SyncIntent[] = [];
  const iso = (ms: number) => new Date(ms).toISOString();
  const kube = new Map(nodes.map((n) => [n.name, n]));
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
      // Removed by a scale-down: expected, not a loss.
      delete removing[name];
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
    if (dead.has(n.name)) continue;
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

  // The three views.
  const drift: Drift[] = [];
  for (const n of nodes) {
    if (!byNode.has(n.name) && !dead.has(n.name)) drift.push({ kind: 'node_without_instance', name: n.name });
  }
  for (const i of alive) {
    if (!kube.has(i.node) && now - i.createdAt >= policy.registrationGraceSeconds * 1000) {
      drift.push({ kind: 'instance_without_node', name: i.node });
    }
  }
  const storedNames = Object.keys(store.nodes).sort();
  const liveNames = Object.keys(repaired).sort();
  const stale =
    stored === null ||
    store.workers !== liveNames.length ||
    storedNames.length !== liveNames.length ||
    storedNames.some((n, i) => n !== liveNames[i]);
  if (stale && stored !== null) {
    for (const n of liveNames) if (!store.nodes[n]) drift.push({ kind: 'state_stale', name: n });
    for (const n of storedNames) if (!repaired[n]) drift.push({ kind: 'state_stale', name: n });
    if (!drift.some((d) => d.kind === 'state_stale')) drift.push({ kind: 'state_stale', name: 'workers' });
  } else if (stored === null && liveNames.length > 0 && store.lastSync === null) {
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
  };
  const counts = {
    k8s_nodes: nodes.length,
    docker_containers: alive.length,
    db_workers: stored === null ? 0 : Object.keys(store.nodes).length,
  };
  if (drift.length > 0) {
    events.push({
      type: 'io.scalewise.StateDriftDetected',
      data: { pool, ...counts, drift, repaired: drift.every((d) => d.kind === 'state_stale') },
    });
  } else {
    events.push({
      type: 'io.scalewise.ClusterStateSynced',
      data: { pool, ...counts, workers: next.workers, last_sync: iso(now) },
    });
  }
  return { store: next, events };
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

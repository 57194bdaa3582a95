/**
 * state-sync's core, pure: each cycle a pool's Kubernetes listing is written into the pool
 * ledger (packages/pool) and, in the same step, the pool's three views are compared and the
 * outcome said as events:
 *
 * - the views: Kubernetes' nodes (the listing), the provider's live instances, and the store:
 *   the ledger's members BEFORE this listing (what every service took the pool to be);
 * - **NodeUnexpectedlyLost**: a member the listing no longer shows that no action of ours
 *   removes or removed (`listed()`'s losses: the ledger knows a scale-down's victims before they
 *   go, whatever order the events arrive in), a member whose instance died, or one NotReady for
 *   `notReadyTimeoutSeconds`. The losses are recorded in the ledger one after the other
 *   (`recordFacts`), each stating the workers left after it (`remaining_workers`);
 * - **ClusterStateSynced** only when the three views agree, names and counts, and the cycle
 *   changed no membership: then `k8s_nodes`, `docker_containers`, `db_workers` and `workers`
 *   are one number;
 * - **StateDriftDetected** with each difference that is drift: `state_stale` (the ledger was
 *   behind: a node listed that it should have known, or the ledger never listed: `store`;
 *   repaired by this listing), `node_without_instance`, `instance_without_node` (those two once
 *   two cycles in a row have seen them: the watch and the provider's list are read at different
 *   moments; node-manager or a person must repair them);
 * - anything else that differs is churn, said by its own event or by none: a node that joined
 *   within the listing lag, one that left by a fact (removed by an action of ours, a worker pod
 *   that completed, a loss said now or before), an instance still registering. The views differ,
 *   so no ClusterStateSynced; nor drift.
 *
 * Worker pods that finished their task (`pods` pools) leave by the scale-up that made them
 * (`nodeLeft` with its action id: not a loss), written before the listing.
 *
 * A node said lost that the API still lists (NotReady, or its instance dead) keeps a mark in
 * the store (`lostReported`) and is left out of the listing given to the ledger, so that it is
 * neither a worker nor lost again once the ledger forgets its tombstone; the mark goes when the
 * node is Ready with a live instance again.
 *
 * The provider's view is a list of instances, or {@link ProviderUnavailable} when it could not
 * be listed. An unavailable provider is never "every instance gone": the cycle judges only what
 * Kubernetes shows (a deleted node, a NotReady timeout), keeps the last instance count, records
 * the failure in the store (`providerError`), and says no ClusterStateSynced.
 */
import type { EventData, EventIntent } from '@scalewise/events';
import {
  type Ledger,
  type ListedNode,
  type Listing,
  listed,
  memberNames,
  nodeLeft,
  pruned,
  readyWorkersOf,
  recordFacts,
  removedByUs,
  workersOf,
} from '@scalewise/pool';

export interface KubeNode {
  name: string;
  ready: boolean;
  /** Epoch ms of the last Ready transition (or creation). */
  since: number;
  /** Epoch ms the node (or worker pod) was created; absent: old enough that the ledger should know it. */
  createdAt?: number;
  /** The scale-up that made it (node-manager's action-id annotation). */
  action?: string;
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

/** A worker pod seen finished before anyone deleted it, and the scale-up that made it. */
export interface CompletedWorker {
  name: string;
  actionId: string;
}

export interface StoredNode {
  status: 'ready' | 'not_ready';
  /** Epoch ms the node was last listed by the Kubernetes API. */
  lastSeen: number;
  /** Epoch ms since the node has been NotReady (null while Ready). */
  notReadySince: number | null;
  /** Said lost (NodeUnexpectedlyLost) while the API still lists it: not a worker. */
  lostReported?: boolean;
}

/**
 * state-sync's part of the pool record (read and written with the ledger), and the read model
 * the API and CLI read.
 */
export interface PoolStore {
  pool: string;
  /** The ledger's workers after the cycle, and how many of them are Ready. */
  workers: number;
  readyWorkers: number;
  /** The nodes the Kubernetes API lists for the pool, with their clocks. */
  nodes: Record<string, StoredNode>;
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
  lastSync: null,
});

export interface SyncPolicy {
  /** A node NotReady this long is lost. @default 300 */
  notReadyTimeoutSeconds: number;
  /** A new instance may take this long to register its node before it is drift. @default 120 */
  registrationGraceSeconds: number;
  /** The pool's `action_timeout_seconds` in ms: how long an action first seen here counts as in flight. */
  actionTimeoutMs: number;
}

export type SyncIntent = EventIntent<SyncType>;
export type SyncType =
  | 'io.scalewise.ClusterStateSynced'
  | 'io.scalewise.StateDriftDetected'
  | 'io.scalewise.NodeUnexpectedlyLost';

type Drift = EventData<'io.scalewise.StateDriftDetected'>['drift'][number];
type Cause = EventData<'io.scalewise.NodeUnexpectedlyLost'>['cause'];

export interface SyncInput {
  pool: string;
  /** The pool's ledger as read. */
  ledger: Ledger;
  /** state-sync's part as read (null: a first run, or the pool record deleted). */
  stored: PoolStore | null;
  /** The Kubernetes listing of the pool's workers. */
  nodes: readonly KubeNode[];
  provider: ProviderView;
  /** `pods` pools: worker pods that completed their task. */
  completed?: readonly CompletedWorker[];
  now: number;
  policy: SyncPolicy;
}

export interface SyncOutcome {
  /** The ledger with the listing and the losses written. */
  ledger: Ledger;
  store: PoolStore;
  /** In order: the losses, then ClusterStateSynced or StateDriftDetected (or neither). */
  events: SyncIntent[];
}

interface Loss {
  name: string;
  cause: Cause;
  lastSeen: number;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

const sameNames = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((n, i) => n === b[i]);

/** One reconciliation: the listing into the ledger, the losses, the three views compared. */
export function reconcile(input: SyncInput): SyncOutcome {
  const { pool, nodes, provider, now, policy } = input;
  const store = input.stored ?? emptyStore(pool);
  const iso = (ms: number) => new Date(ms).toISOString();
  const unavailable = isUnavailable(provider) ? provider : null;
  // Unavailable: nothing is known of the instances (not: there are none).
  const instances: readonly Instance[] = isUnavailable(provider) ? [] : provider;
  const alive = instances.filter((i) => i.alive);
  const aliveByNode = new Map(alive.map((i) => [i.node, i]));
  const dead = new Map(instances.filter((i) => !i.alive).map((i) => [i.node, i]));
  const kube = new Map(nodes.map((n) => [n.name, n]));

  // The ledger before the listing: old facts forgotten, the worker pods that completed gone.
  let before = pruned(input.ledger, now);
  for (const c of input.completed ?? []) before = nodeLeft(before, c.name, c.actionId, now);
  const beforeNames = memberNames(before);
  const everListed = before.syncedAt !== null;

  // Said lost and still listed: out of the listing until Ready with a live instance again.
  const stillLost = (n: KubeNode): boolean =>
    store.nodes[n.name]?.lostReported === true && !(n.ready && aliveByNode.has(n.name));
  const listing = listed(
    before,
    nodes
      .filter((n) => !stillLost(n))
      .map(
        (n): ListedNode => ({
          name: n.name,
          ready: n.ready,
          ...(n.createdAt !== undefined ? { createdAt: n.createdAt } : {}),
          ...(n.action !== undefined ? { action: n.action } : {}),
        }),
      ),
    now,
  );
  const member = (name: string) => listing.ledger.members[name]?.present === true;
  const ours = (name: string) => removedByUs(listing.ledger, name) !== null;
  const lastSeenOf = (name: string) => store.nodes[name]?.lastSeen ?? before.members[name]?.at ?? now;

  // The losses: members gone from the listing (or whose instance died) that no action of ours
  // removes, then the NotReady timeouts.
  const gone: Loss[] = listing.lost.map((name) => ({
    name,
    cause: dead.get(name)?.cause ?? 'node_deleted',
    lastSeen: lastSeenOf(name),
  }));
  for (const n of nodes) {
    const instance = dead.get(n.name);
    if (!instance || stillLost(n) || !member(n.name) || ours(n.name)) continue;
    gone.push({ name: n.name, cause: instance.cause ?? 'instance_gone', lastSeen: lastSeenOf(n.name) });
  }
  gone.sort(byName);
  const timedOut: Loss[] = [];
  const tracked: Record<string, StoredNode> = {};
  for (const n of nodes) {
    const was = store.nodes[n.name];
    const notReadySince = n.ready ? null : (was?.notReadySince ?? n.since);
    const node: StoredNode = { status: n.ready ? 'ready' : 'not_ready', lastSeen: now, notReadySince };
    tracked[n.name] = node;
    if (stillLost(n)) {
      node.lostReported = true;
      continue;
    }
    if (
      notReadySince !== null &&
      now - notReadySince >= policy.notReadyTimeoutSeconds * 1000 &&
      member(n.name) &&
      !ours(n.name) &&
      !dead.has(n.name)
    ) {
      timedOut.push({ name: n.name, cause: 'not_ready_timeout', lastSeen: was?.lastSeen ?? now });
    }
  }
  timedOut.sort(byName);
  const losses = [...gone, ...timedOut];
  for (const l of losses) {
    const t = tracked[l.name];
    if (t) t.lostReported = true;
  }

  const recorded = recordLosses(pool, before, listing, losses, now, policy.actionTimeoutMs);
  const after = recorded.ledger;
  const events: SyncIntent[] = [...recorded.events];

  // Kubernetes against the provider: only what two cycles in a row saw.
  const { drift, suspects } = unavailable
    ? { drift: [] as Drift[], suspects: { ...store.suspects } }
    : secondLook(store.suspects ?? {}, nodes, alive, dead, ours, now, policy);
  // The ledger behind the listing: a node it should have known, or no listing ever.
  if (!everListed) {
    if (nodes.length > 0 || beforeNames.length > 0) drift.push({ kind: 'state_stale', name: 'store' });
  } else {
    for (const name of [...listing.stale].sort()) drift.push({ kind: 'state_stale', name });
  }

  const next: PoolStore = {
    pool,
    workers: workersOf(after) ?? 0,
    readyWorkers: readyWorkersOf(after) ?? 0,
    nodes: tracked,
    lastSync: now,
    instances: unavailable ? (store.instances ?? null) : alive.length,
    providerError: unavailable
      ? { code: unavailable.code, message: unavailable.message, since: store.providerError?.since ?? now }
      : null,
    suspects,
  };
  const counts = {
    k8s_nodes: nodes.length,
    // Unavailable: the last count listed, not 0 (which would read as every instance gone).
    docker_containers: unavailable ? (store.instances ?? 0) : alive.length,
    db_workers: beforeNames.length,
  };
  if (drift.length > 0) {
    events.push({
      type: 'io.scalewise.StateDriftDetected',
      data: { pool, ...counts, drift, repaired: drift.every((d) => d.kind === 'state_stale') },
    });
    return { ledger: after, store: next, events };
  }
  // In sync: the same names in every view, before and after this listing, nothing awaiting a
  // second look. Then the four numbers it states are one.
  const kubeNames = [...kube.keys()].sort();
  const agree =
    !unavailable &&
    // Never listed before: the views can only agree on an empty pool (nothing to have missed).
    (everListed || kubeNames.length === 0) &&
    losses.length === 0 &&
    Object.keys(suspects).length === 0 &&
    sameNames(kubeNames, alive.map((i) => i.node).sort()) &&
    sameNames(kubeNames, beforeNames) &&
    sameNames(kubeNames, memberNames(after));
  if (agree) {
    events.push({
      type: 'io.scalewise.ClusterStateSynced',
      data: { pool, ...counts, workers: kubeNames.length, last_sync: iso(now) },
    });
  }
  return { ledger: after, store: next, events };
}

/**
 * The losses into the ledger, in turn, each stating the workers left after it. listed() has
 * already written the deletions among them: those members are put back as they were first.
 */
function recordLosses(
  pool: string,
  before: Ledger,
  listing: Listing,
  losses: readonly Loss[],
  now: number,
  actionTimeoutMs: number,
) {
  let base = listing.ledger;
  if (listing.lost.length > 0) {
    const members = { ...base.members };
    for (const name of listing.lost) {
      const m = before.members[name];
      if (m) members[name] = m;
    }
    base = { ...base, members };
  }
  return recordFacts(
    base,
    losses.map(
      (l): SyncIntent => ({
        type: 'io.scalewise.NodeUnexpectedlyLost',
        // remaining_workers is the ledger's: recordFacts sets it.
        data: {
          pool,
          node_name: l.name,
          last_seen: new Date(l.lastSeen).toISOString(),
          cause: l.cause,
          remaining_workers: 0,
        },
      }),
    ),
    now,
    actionTimeoutMs,
  );
}

/**
 * The differences between Kubernetes and the provider: each a suspect when first seen, drift
 * when seen again (the watch and the provider's list are read at different moments).
 */
function secondLook(
  previous: Readonly<Record<string, number>>,
  nodes: readonly KubeNode[],
  alive: readonly Instance[],
  dead: ReadonlyMap<string, Instance>,
  ours: (name: string) => boolean,
  now: number,
  policy: SyncPolicy,
): { drift: Drift[]; suspects: Record<string, number> } {
  const kube = new Set(nodes.map((n) => n.name));
  const live = new Set(alive.map((i) => i.node));
  const seen: Drift[] = [];
  for (const n of nodes) {
    // A dead instance is a loss (or a node of ours going), not drift.
    if (!live.has(n.name) && !dead.has(n.name) && !ours(n.name)) {
      seen.push({ kind: 'node_without_instance', name: n.name });
    }
  }
  for (const i of alive) {
    if (!kube.has(i.node) && now - i.createdAt >= policy.registrationGraceSeconds * 1000) {
      seen.push({ kind: 'instance_without_node', name: i.node });
    }
  }
  const drift: Drift[] = [];
  const suspects: Record<string, number> = {};
  for (const d of seen) {
    const key = `${d.kind}/${d.name}`;
    const first = previous[key] ?? now;
    suspects[key] = first;
    if (first < now) drift.push(d);
  }
  return { drift, suspects };
}

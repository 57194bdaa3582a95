/**
 * The pool ledger: one record per pool of what Scalewise knows about it, shared by every
 * service, so that the numbers every event states come from one place.
 *
 * - **Members**: the workers known to exist, by name, and the ones known to have left
 *   (tombstones, kept a while so that a late or repeated report cannot bring them back).
 * - **Actions**: every scale-up and scale-down claimed or started, with the nodes each has
 *   added or is removing, until it ends (completed, failed or expired) and a while after.
 * - **Limits**: the floor and ceiling in force (the config's, or the last accepted update).
 * - **Hold**: an external target (a `scale` trigger) kept against underutilisation scale-down.
 *
 * Who writes what: the services that see a fact write it before they publish the event that
 * states it (node-manager: the nodes it created and removed and its actions' progress;
 * state-sync: the members the Kubernetes API lists, and the losses), and the deciders
 * (decision-engine, min-enforcer) claim an action in the same compare-and-set as the state
 * they decided from. Every function here is pure, never mutates its input, and is
 * idempotent: applying a fact twice, or a fact already made true by another writer, changes
 * nothing; applied in another order, facts about different nodes and actions commute.
 */

/** A worker the ledger knows of: there now (`present`), or gone (a tombstone). */
export interface Member {
  present: boolean;
  /**
   * Epoch ms of the fact that set the current state: for a member a listing added, the
   * listing's time less its lag (what it vouches for); for a departure reported more than
   * once, the latest report.
   */
  at: number;
  /** The node reported Ready at its last report (a member that joined by NodeReady is). */
  ready: boolean;
  /** Epoch ms the node was created, when the Kubernetes API said (second precision). */
  createdAt?: number;
  /** Gone without an action of ours: a loss (NodeUnexpectedlyLost). */
  lost?: boolean;
  /** The action that added it (present) or removed it (gone). */
  action?: string;
  /**
   * Gone: epoch ms of the last fact that had it present, when one did. A report of a
   * departure older than that is of an earlier one (the node came back since).
   */
  presentAt?: number;
}

export type ActionState = 'claimed' | 'started' | 'done' | 'failed';

/** Where an action comes from: a decision, a floor repair, an external trigger, or unknown. */
export type ActionOrigin = 'decision' | 'floor' | 'trigger' | 'external';

export interface LedgerAction {
  /** The id of the decision event (node-manager's `action_id`). */
  id: string;
  direction: 'up' | 'down';
  /** Nodes to add or remove (node-manager may carry out fewer than decided: its start says). */
  count: number;
  origin: ActionOrigin;
  state: ActionState;
  /** Epoch ms it was claimed (or first seen). */
  at: number;
  /** Not ended by then: no longer counted as in flight. */
  expiresAt: number;
  /** Epoch ms it ended (done or failed). */
  endedAt?: number;
  /** up: the nodes it has added; down: the nodes it removes (its victims, once chosen). */
  nodes: string[];
  /** down: the victims already removed. */
  removed: string[];
  /** The pool's workers when it started (what its events state as `previous_workers`). */
  from?: number;
}

export interface Limits {
  min: number;
  max: number;
  /** The source of the update trigger that set them. */
  source: string;
  at: number;
  /** The configured limits they replaced: a change of the configured value itself wins over them. */
  base: { min: number; max: number };
}

/**
 * An external target (an accepted `trigger.scale`): pursued through the rate policies until
 * the pool heads for it (`reachedAt`), then held for the pool's `trigger_hold_seconds`
 * (`until`): kept against underutilisation scale-down, and grown back to after a loss. The
 * decision-engine keeps it; it ends with a TriggerHoldEnded that says why.
 */
export interface Hold {
  target: number;
  /** up: the pool grows to the target; down: it shrinks to it. */
  direction: 'up' | 'down';
  action: 'set' | 'scale_up' | 'scale_down';
  /** The trigger's event id. */
  trigger: string;
  source: string;
  /** The trigger's reason, or '' when it gave none. */
  reason: string;
  at: number;
  /** Epoch ms the pool's desired size first reached the target; null while it is pursued. */
  reachedAt: number | null;
  /** Epoch ms the hold ends (`reachedAt` + the hold time); null while the target is pursued. */
  until: number | null;
  /** The decisions taken for it, so that their failure ends it. */
  actions: string[];
}

export interface Ledger {
  pool: string;
  members: Record<string, Member>;
  actions: Record<string, LedgerAction>;
  /** Epoch ms of the last full listing of the pool's members (null: never listed, size unknown). */
  syncedAt: number | null;
  limits: Limits | null;
  hold: Hold | null;
}

/** Facts older than this (tombstones, ended actions) are forgotten. */
export const RETENTION_MS = 15 * 60_000;

/**
 * A listing taken this soon after a member's last fact may predate it (the watch behind the
 * listing lags the API a little): it does not overrule that fact.
 */
export const LISTING_LAG_MS = 5_000;

export function emptyLedger(pool: string): Ledger {
  return { pool, members: {}, actions: {}, syncedAt: null, limits: null, hold: null };
}

const rank: Record<ActionState, number> = { claimed: 0, started: 1, done: 2, failed: 2 };

const ended = (a: LedgerAction): boolean => a.state === 'done' || a.state === 'failed';

/** The action counts as in flight: claimed or started, neither ended nor expired. */
export function isInFlight(a: LedgerAction, now: number): boolean {
  return !ended(a) && a.expiresAt > now;
}

/** The workers present (null until the pool's members have been listed once). */
export function workersOf(l: Ledger): number | null {
  if (l.syncedAt === null) return null;
  let n = 0;
  for (const m of Object.values(l.members)) if (m.present) n += 1;
  return n;
}

export function readyWorkersOf(l: Ledger): number | null {
  if (l.syncedAt === null) return null;
  let n = 0;
  for (const m of Object.values(l.members)) if (m.present && m.ready) n += 1;
  return n;
}

/** The present members' names, sorted. */
export function memberNames(l: Ledger): string[] {
  return Object.entries(l.members)
    .filter(([, m]) => m.present)
    .map(([n]) => n)
    .sort();
}

/**
 * What an action still has to do: nodes to add (count less those that joined), or to remove
 * (its victims still present, or, before they are named, count less those removed).
 */
export function remainingOf(l: Ledger, a: LedgerAction): number {
  if (a.direction === 'up') return Math.max(0, a.count - a.nodes.length);
  if (a.nodes.length === 0) return Math.max(0, a.count - a.removed.length);
  let still = 0;
  // A victim the ledger has not heard of yet (the simulation saw it first) is still to go.
  for (const n of a.nodes) {
    const m = l.members[n];
    if (m ? m.present : !a.removed.includes(n)) still += 1;
  }
  // Victims not named yet (a count larger than the list: node-manager names the rest).
  return Math.min(a.count, still + Math.max(0, a.count - a.nodes.length));
}

export interface InFlight {
  id: string;
  direction: 'up' | 'down';
  count: number;
  remaining: number;
  origin: ActionOrigin;
  state: ActionState;
  at: number;
  expiresAt: number;
}

/** The actions in flight at `now`, oldest first, each with what it still has to do. */
export function inFlightOf(l: Ledger, now: number): InFlight[] {
  return Object.values(l.actions)
    .filter((a) => isInFlight(a, now))
    .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))
    .map((a) => ({
      id: a.id,
      direction: a.direction,
      count: a.count,
      remaining: remainingOf(l, a),
      origin: a.origin,
      state: a.state,
      at: a.at,
      expiresAt: a.expiresAt,
    }));
}

/**
 * The size a pool of `workers` heads for: its workers, less what scale-downs in flight still
 * remove (never below none: a listing may already lack a node whose removal is still counted),
 * plus what scale-ups in flight still add. Null while the size is unknown. The one rule every
 * decider counts a pool's size by (desiredOf, the decision engine's view of a pool).
 */
export function headingFor(
  workers: number | null,
  inFlight: Iterable<{ direction: 'up' | 'down'; remaining: number }>,
): number | null {
  if (workers === null) return null;
  let up = 0;
  let down = 0;
  for (const a of inFlight) {
    if (a.direction === 'up') up += a.remaining;
    else down += a.remaining;
  }
  return Math.max(0, workers - down) + up;
}

/** The size the pool heads for at `now` (headingFor its workers and actions in flight). */
export function desiredOf(l: Ledger, now: number): number | null {
  const w = workersOf(l);
  return w === null ? null : headingFor(w, inFlightOf(l, now));
}

/** An action of ours removes or removed the node (in flight, or ended within the retention). */
export function removedByUs(l: Ledger, node: string): string | null {
  for (const a of Object.values(l.actions)) {
    if (a.direction !== 'down') continue;
    // An ended action removed what it removed; its other victims stay, and may be lost later.
    // A claim's nodes are the decision's choice, not yet node-manager's: until it starts the
    // action, a departure of one of them is not the action's doing.
    if (a.removed.includes(node) || (a.state === 'started' && a.nodes.includes(node))) return a.id;
  }
  const m = l.members[node];
  return m && !m.present && !m.lost && m.action ? m.action : null;
}

export interface Loss {
  node: string;
  at: number;
}

/** The losses (members gone without an action of ours) since `since`, oldest first. */
export function lossesSince(l: Ledger, since: number): Loss[] {
  return Object.entries(l.members)
    .filter(([, m]) => !m.present && m.lost === true && m.at >= since)
    .map(([node, m]) => ({ node, at: m.at }))
    .sort((a, b) => a.at - b.at || (a.node < b.node ? -1 : 1));
}

function withMember(l: Ledger, name: string, m: Member): Ledger {
  return { ...l, members: { ...l.members, [name]: m } };
}

function withAction(l: Ledger, a: LedgerAction): Ledger {
  return { ...l, actions: { ...l.actions, [a.id]: a } };
}

/** Adds `node` to the list unless it is there. */
const plus = (list: readonly string[], node: string): string[] =>
  list.includes(node) ? [...list] : [...list, node];

/** Up action `a` with `node` among the nodes it made (its count at least as many). */
function delivering(a: LedgerAction, node: string): LedgerAction {
  const nodes = plus(a.nodes, node);
  return { ...a, nodes, count: Math.max(a.count, nodes.length) };
}

/** A tombstone found to be the work of action `id`: no longer a loss. */
function removedBy(m: Member, id: string): Member {
  const { lost: _, ...rest } = m;
  return { ...rest, action: id };
}

/**
 * Records what the down action `a` names and has done, whatever order the facts came in: its
 * victims already gone without an action (a loss, or a removal not yet tied to an action:
 * their departure was written before the action was) become its removals, and so do the
 * members whose tombstone already names it. Then `a` is written.
 */
function withDownAction(l: Ledger, a: LedgerAction): Ledger {
  if (a.direction !== 'down') return withAction(l, a);
  // A claim's nodes are the decision's choice, not node-manager's: a departure not tied to an
  // action (a loss) is not made the claim's. One that names the action is its removal.
  const owns = a.state !== 'claimed';
  let members = l.members;
  let { nodes, removed } = a;
  for (const [name, m] of Object.entries(l.members)) {
    if (m.present) continue;
    if (m.action === a.id || (owns && m.action === undefined && nodes.includes(name))) {
      if (m.action !== a.id) members = { ...members, [name]: removedBy(m, a.id) };
      nodes = plus(nodes, name);
      removed = plus(removed, name);
    }
  }
  return { ...l, members, actions: { ...l.actions, [a.id]: { ...a, nodes, removed } } };
}

/**
 * A node of the pool became Ready (node-manager's NodeReady). `actionId` names the scale-up
 * that created it. node-manager records an action's start before any of its nodes, so an
 * action the ledger does not know is an old one (forgotten after the retention, the report
 * redelivered): it is recorded as ended, never as in flight (it would block scale-down until
 * its timeout with nothing left to do).
 */
export function nodeJoined(
  l: Ledger,
  node: string,
  actionId: string | null,
  now: number,
  actionTimeoutMs: number,
): Ledger {
  const cur = l.members[node];
  // A tombstone newer than this report wins: the node left after it joined. So does one of the
  // same time, as nodeLeft lets a departure win over a join of its time: both orders agree.
  // And any tombstone, whatever its time, of a node an action of ours made: node-manager never
  // makes a name twice, and may write the report after the node was deleted (its view of the
  // node older than the departure). A listing that has the node brings it back (`listed`).
  const tombstoned = cur !== undefined && !cur.present && (cur.at >= now || actionId !== null);
  // A listing taken more than the lag after this report has the later word (as it has when it
  // comes second, see `listed`): it listed the node (a member now) or the node has left since.
  const overruled = !cur?.present && l.syncedAt !== null && now <= l.syncedAt - LISTING_LAG_MS;
  let next = l;
  if (!tombstoned && !overruled) {
    next = withMember(l, node, {
      present: true,
      at: Math.max(now, cur?.at ?? now),
      ready: true,
      ...(cur?.createdAt !== undefined ? { createdAt: cur.createdAt } : {}),
      ...(actionId ? { action: actionId } : {}),
    });
  }
  if (!actionId) return next;
  const a = next.actions[actionId] ?? {
    id: actionId,
    direction: 'up' as const,
    count: 1,
    origin: 'external' as const,
    state: 'done' as const,
    at: now,
    expiresAt: now + actionTimeoutMs,
    endedAt: now,
    nodes: [],
    removed: [],
  };
  if (a.direction !== 'up' || a.nodes.includes(node)) return next;
  return withAction(next, delivering(a, node));
}

/**
 * A node left the pool: removed by the action `actionId` (NodeRemoved), or lost (`lost`:
 * NodeUnexpectedlyLost). A node that an action of ours removes is never a loss.
 */
export function nodeLeft(
  l: Ledger,
  node: string,
  actionId: string | null,
  now: number,
  opts: { lost?: boolean } = {},
): Ledger {
  const cur = l.members[node];
  // Of a departure already tied to an action, that action is the remover.
  const ours = actionId ?? (cur && !cur.present ? cur.action : undefined) ?? removedByUs(l, node);
  let next = l;
  // Whether this report is about the departure the ledger now holds (or makes it one).
  let current = false;
  if (!cur || (cur.present && cur.at <= now)) {
    current = true;
    next = withMember(l, node, {
      present: false,
      at: now,
      ready: false,
      ...(cur?.createdAt !== undefined ? { createdAt: cur.createdAt } : {}),
      ...(ours ? { action: ours } : { lost: opts.lost === true }),
      ...(cur ? { presentAt: cur.at } : {}),
    });
  } else if (!cur.present) {
    // Gone already. Said lost (or gone without an action), then found to be ours: the removal
    // was written after the listing saw it go. A later report of the departure keeps its time,
    // so that a join of that time loses to it whichever came first.
    current = cur.presentAt === undefined || now >= cur.presentAt;
    const m = current && cur.action === undefined && ours ? removedBy(cur, ours) : cur;
    if (m !== cur || now > cur.at) next = withMember(l, node, { ...m, at: Math.max(cur.at, now) });
  }
  // A report of a departure the ledger no longer holds (the node came back after it) changes
  // nothing more. Otherwise the action that removed the node (the one named, or the one whose
  // victim it is) records the removal.
  if (!current || !ours) return next;
  const a = next.actions[ours];
  if (a?.direction !== 'down' || a.removed.includes(node)) return next;
  return withAction(next, { ...a, removed: plus(a.removed, node), nodes: plus(a.nodes, node) });
}

export interface Claim {
  id: string;
  direction: 'up' | 'down';
  count: number;
  origin: ActionOrigin;
  now: number;
  timeoutMs: number;
  /** down: the nodes chosen, when the decision names them. */
  nodes?: readonly string[];
}

/**
 * A decider claims an action (a decision, a floor repair): it is in flight from now on, so
 * every other decider sees the deficit it covers. Claiming an id already there changes nothing.
 */
export function claim(l: Ledger, c: Claim): Ledger {
  if (l.actions[c.id]) return l;
  return withDownAction(l, {
    id: c.id,
    direction: c.direction,
    count: c.count,
    origin: c.origin,
    state: 'claimed',
    at: c.now,
    expiresAt: c.now + c.timeoutMs,
    nodes: c.direction === 'down' ? [...(c.nodes ?? [])] : [],
    removed: [],
  });
}

/**
 * node-manager started an action: the count it carries out and, for a scale-down, its
 * victims (written before any of them is touched, so their departure is never a loss).
 */
export function actionStarted(
  l: Ledger,
  s: {
    id: string;
    direction: 'up' | 'down';
    count: number;
    nodes?: readonly string[];
    now: number;
    timeoutMs: number;
    /** The pool's workers at the start. */
    from?: number;
  },
): Ledger {
  const cur = l.actions[s.id];
  if (cur && rank[cur.state] > rank.started) return l;
  const base: LedgerAction = cur ?? {
    id: s.id,
    direction: s.direction,
    count: s.count,
    origin: 'external',
    state: 'started',
    at: s.now,
    expiresAt: s.now + s.timeoutMs,
    nodes: [],
    removed: [],
  };
  let nodes = base.nodes;
  if (s.direction === 'down' && s.nodes) {
    // The victims node-manager chose (re-checked on fresh state) replace the decision's;
    // those already removed stay listed (after them: stated again, the list is the same).
    nodes = [...new Set([...s.nodes, ...base.removed])];
  }
  const next: LedgerAction = {
    ...base,
    count: s.count,
    state: 'started',
    nodes,
    ...(base.from === undefined && s.from !== undefined ? { from: s.from } : {}),
  };
  if (cur && JSON.stringify(cur) === JSON.stringify(next)) return l;
  return withDownAction(l, next);
}

/** The action ended. A later report of its start does not reopen it. */
export function actionEnded(l: Ledger, id: string, outcome: 'done' | 'failed', now: number): Ledger {
  const cur = l.actions[id];
  if (!cur) {
    // Ended before the ledger heard of it: remembered, so a late start cannot open it.
    return withAction(l, {
      id,
      direction: 'up',
      count: 0,
      origin: 'external',
      state: outcome,
      at: now,
      expiresAt: now,
      endedAt: now,
      nodes: [],
      removed: [],
    });
  }
  if (ended(cur)) return l;
  return withAction(l, { ...cur, state: outcome, endedAt: now });
}

export interface ListedNode {
  name: string;
  ready: boolean;
  /** Epoch ms, when known. */
  createdAt?: number;
  /** The scale-up that made it (node-manager's `scalewise.io/action-id` annotation), when one did. */
  action?: string;
}

export interface Listing {
  ledger: Ledger;
  /** Members the listing added: present in the API, unknown to the ledger (or gone in it before they were made). */
  appeared: string[];
  /** Members gone from the listing that no action of ours removes: losses to report. */
  lost: string[];
  /** Members gone from the listing that an action of ours removes. */
  removed: string[];
  /** Differences between the ledger before the listing and the listing, per name: the ledger was behind. */
  stale: string[];
}

/**
 * A full listing of the pool's workers at `now` (state-sync, from the Kubernetes API): the
 * members become what it lists, except where a fact newer than the listing's lag says
 * otherwise (a node that just joined may not be listed yet; one just removed may still be).
 * A tombstone is overruled only by a node created after it (a new node of the same name). A
 * listing older than the last one applied changes nothing.
 */
export function listed(l: Ledger, nodes: readonly ListedNode[], now: number): Listing {
  // A listing older than the last one (one applied again late) is overruled by it: it changes nothing.
  if (l.syncedAt !== null && now < l.syncedAt) {
    return { ledger: l, appeared: [], lost: [], removed: [], stale: [] };
  }
  const members: Record<string, Member> = { ...l.members };
  let actions = l.actions;
  // A listed node an up action in flight made is one it has delivered: without this, desiredOf
  // counts it twice (a member, and still to come) until its NodeReady is written.
  const delivered = (n: ListedNode) => {
    const a = n.action === undefined ? undefined : actions[n.action];
    if (a?.direction !== 'up' || a.nodes.includes(n.name)) return;
    actions = { ...actions, [a.id]: delivering(a, n.name) };
  };
  const appeared: string[] = [];
  const lost: string[] = [];
  const removed: string[] = [];
  const stale: string[] = [];
  const seen = new Set<string>();
  for (const n of nodes) {
    seen.add(n.name);
    const cur = members[n.name];
    if (cur?.present) {
      delivered(n);
      if (cur.ready !== n.ready || (n.createdAt !== undefined && cur.createdAt !== n.createdAt)) {
        members[n.name] = {
          ...cur,
          ready: n.ready,
          ...(n.createdAt !== undefined ? { createdAt: n.createdAt } : {}),
        };
      }
      continue;
    }
    if (cur && !cur.present) {
      // Gone by a fact; a listing shows it still: the same node, listed late, unless it was
      // created after it left (a new node of the same name), which a listing taken no later
      // than the departure cannot show.
      const reborn = now > cur.at && n.createdAt !== undefined && n.createdAt > cur.at - 1_000;
      if (!reborn) continue;
    }
    members[n.name] = {
      present: true,
      // What the listing vouches for: the node was there a lag before it, so a departure
      // stated within the lag (taken first or second) wins over it. A new node of a name
      // that left is there after its departure.
      at: cur ? now : now - LISTING_LAG_MS,
      ready: n.ready,
      ...(n.createdAt !== undefined ? { createdAt: n.createdAt } : {}),
      ...(n.action !== undefined && actions[n.action]?.direction === 'up' ? { action: n.action } : {}),
    };
    delivered(n);
    appeared.push(n.name);
    if (l.syncedAt !== null && (n.createdAt === undefined || n.createdAt <= now - LISTING_LAG_MS)) {
      stale.push(n.name);
    }
  }
  for (const [name, m] of Object.entries(l.members)) {
    if (!m.present || seen.has(name)) continue;
    // Joined just now by a fact the listing is too early to show.
    if (m.at > now - LISTING_LAG_MS) continue;
    const ours = removedByUs(l, name);
    members[name] = {
      present: false,
      at: now,
      ready: false,
      ...(m.createdAt !== undefined ? { createdAt: m.createdAt } : {}),
      ...(ours ? { action: ours } : { lost: true }),
      presentAt: m.at,
    };
    if (ours) removed.push(name);
    else lost.push(name);
  }
  return { ledger: { ...l, members, actions, syncedAt: now }, appeared, lost, removed, stale };
}

/** Sets the limits in force (an accepted `trigger.update`); setting the same ones again changes nothing. */
export function withLimits(l: Ledger, limits: Limits): Ledger {
  const cur = l.limits;
  if (
    cur &&
    cur.min === limits.min &&
    cur.max === limits.max &&
    cur.base.min === limits.base.min &&
    cur.base.max === limits.base.max
  ) {
    return l;
  }
  return { ...l, limits };
}

/**
 * The floor and ceiling in force for a pool configured with `min`/`max`: the last accepted
 * update's, unless the configured values changed since it was accepted.
 */
export function limitsOf(l: Ledger, min: number, max: number): { min: number; max: number } {
  const u = l.limits;
  if (u && u.base.min === min && u.base.max === max) return { min: u.min, max: u.max };
  return { min, max };
}

/** Sets or clears the held external target. */
export function withHold(l: Ledger, hold: Hold | null): Ledger {
  if (JSON.stringify(l.hold) === JSON.stringify(hold)) return l;
  return { ...l, hold };
}

/** The hold in force at `now`: pursued, or reached and not yet over (null when none or over). */
export function holdAt(l: Pick<Ledger, 'hold'>, now: number): Hold | null {
  return l.hold && (l.hold.until === null || l.hold.until > now) ? l.hold : null;
}

/** Forgets tombstones and ended or expired actions older than the retention. */
export function pruned(l: Ledger, now: number, retentionMs = RETENTION_MS): Ledger {
  const cutoff = now - retentionMs;
  let changed = false;
  const members: Record<string, Member> = {};
  for (const [n, m] of Object.entries(l.members)) {
    if (!m.present && m.at < cutoff) changed = true;
    else members[n] = m;
  }
  const actions: Record<string, LedgerAction> = {};
  for (const [id, a] of Object.entries(l.actions)) {
    const end = a.endedAt ?? (a.expiresAt <= now ? a.expiresAt : null);
    if (end !== null && end < cutoff) changed = true;
    else actions[id] = a;
  }
  return changed ? { ...l, members, actions } : l;
}

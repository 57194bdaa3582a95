/**
 * The pool ledger, one function at a time: Given a ledger built from a few facts, When one
 * more fact is applied, Then what the services read from it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  actionEnded,
  actionStarted,
  claim,
  desiredOf,
  emptyLedger,
  type Hold,
  holdAt,
  inFlightOf,
  isInFlight,
  type Ledger,
  type LedgerAction,
  LISTING_LAG_MS,
  limitsOf,
  listed,
  lossesSince,
  memberNames,
  nodeJoined,
  nodeLeft,
  pruned,
  RETENTION_MS,
  readyWorkersOf,
  remainingOf,
  removedByUs,
  withHold,
  withLimits,
  workersOf,
} from './ledger.ts';

/** Seconds from an arbitrary origin, in epoch ms. */
const T0 = 1_750_000_000_000;
const at = (s: number): number => T0 + s * 1_000;
const TIMEOUT = 600_000;

/** A pool listed once at `t` with these workers, all Ready. */
function listedWith(names: string[], t = at(0)): Ledger {
  return listed(
    emptyLedger('workers'),
    names.map((name) => ({ name, ready: true })),
    t,
  ).ledger;
}

const downStart = (id: string, nodes: string[], now: number, count = nodes.length) => ({
  id,
  direction: 'down' as const,
  count,
  nodes,
  now,
  timeoutMs: TIMEOUT,
});

/** A decision's claim of `count` workers at `now`, with the usual timeout; a scale-down's may name its victims. */
const decisionClaim = (
  id: string,
  direction: 'up' | 'down',
  count: number,
  now: number,
  nodes?: string[],
) => ({
  id,
  direction,
  count,
  origin: 'decision' as const,
  now,
  timeoutMs: TIMEOUT,
  ...(nodes ? { nodes } : {}),
});

const upStart = (id: string, count: number, now: number) => ({
  id,
  direction: 'up' as const,
  count,
  now,
  timeoutMs: TIMEOUT,
});

describe('workersOf / readyWorkersOf / memberNames', () => {
  test('before the first listing the size is unknown, even with members joined', () => {
    const l = nodeJoined(emptyLedger('workers'), 'w1', null, at(0), TIMEOUT);
    assert.equal(workersOf(l), null);
    assert.equal(readyWorkersOf(l), null);
    assert.equal(desiredOf(l, at(0)), null);
    assert.deepEqual(memberNames(l), ['w1']);
  });

  test('an empty listing makes the size known: 0', () => {
    const l = listed(emptyLedger('workers'), [], at(0)).ledger;
    assert.equal(workersOf(l), 0);
    assert.equal(l.syncedAt, at(0));
  });

  test('workers count the present members; ready ones those last reported Ready; names sorted', () => {
    const l = listed(
      emptyLedger('workers'),
      [
        { name: 'w3', ready: true },
        { name: 'w1', ready: false },
        { name: 'w2', ready: true },
      ],
      at(0),
    ).ledger;
    const after = nodeLeft(l, 'w2', null, at(10), { lost: true });
    assert.equal(workersOf(after), 2);
    assert.equal(readyWorkersOf(after), 1);
    assert.deepEqual(memberNames(after), ['w1', 'w3']);
  });
});

describe('nodeJoined', () => {
  test('without an action: a Ready member, no action recorded', () => {
    const l = nodeJoined(listedWith([]), 'w1', null, at(10), TIMEOUT);
    assert.deepEqual(l.members.w1, { present: true, at: at(10), ready: true });
    assert.deepEqual(l.actions, {});
    assert.equal(workersOf(l), 1);
  });

  test('with a scale-up already started: the node is one it added', () => {
    const started = actionStarted(listedWith(['w1']), upStart('up-1', 2, at(5)));
    const l = nodeJoined(started, 'w2', 'up-1', at(10), TIMEOUT);
    assert.equal(l.members.w2?.action, 'up-1');
    assert.deepEqual(l.actions['up-1']?.nodes, ['w2']);
    assert.equal(l.actions['up-1']?.count, 2);
    assert.equal(remainingOf(l, l.actions['up-1']!), 1);
  });

  test('with an action the ledger does not know (an old one): recorded as ended, never in flight', () => {
    const l = nodeJoined(listedWith([]), 'w1', 'up-x', at(10), TIMEOUT);
    assert.deepEqual(l.actions['up-x'], {
      id: 'up-x',
      direction: 'up',
      count: 1,
      origin: 'external',
      state: 'done',
      at: at(10),
      expiresAt: at(10) + TIMEOUT,
      endedAt: at(10),
      nodes: ['w1'],
      removed: [],
    });
    assert.deepEqual(inFlightOf(l, at(11)), []);
    assert.equal(l.members.w1?.present, true);
  });

  test('a tombstone newer than the join wins: the node left after it joined', () => {
    const gone = nodeLeft(listedWith(['w1']), 'w1', null, at(20), { lost: true });
    const l = nodeJoined(gone, 'w1', null, at(10), TIMEOUT);
    assert.equal(l.members.w1?.present, false);
    assert.equal(workersOf(l), 0);
  });

  test('a departure and a join of the same time: the departure wins, whichever came first', () => {
    const base = listedWith([]);
    const joinFirst = nodeLeft(nodeJoined(base, 'w1', null, at(10), TIMEOUT), 'w1', null, at(10));
    const leaveFirst = nodeJoined(nodeLeft(base, 'w1', null, at(10)), 'w1', null, at(10), TIMEOUT);
    assert.equal(joinFirst.members.w1?.present, false);
    assert.equal(leaveFirst.members.w1?.present, false);
  });

  test('a join newer than a tombstone brings the node back (a new node of the same name)', () => {
    const gone = nodeLeft(listedWith(['w1']), 'w1', null, at(10), { lost: true });
    const l = nodeJoined(gone, 'w1', null, at(20), TIMEOUT);
    assert.deepEqual(l.members.w1, { present: true, at: at(20), ready: true });
  });

  test('a node of an action reported Ready after it was lost stays lost, whatever the times', () => {
    const gone = nodeLeft(listedWith(['w1']), 'w1', null, at(10), { lost: true });
    const l = nodeJoined(gone, 'w1', 'up-1', at(20), TIMEOUT);
    assert.equal(l.members.w1?.present, false);
    assert.equal(l.members.w1?.lost, true);
    assert.equal(workersOf(l), 0);
  });

  test('a join older than the last listing by more than the lag, of a node it did not list: the listing has the later word', () => {
    const l = listedWith(['w2'], at(60));
    const late = nodeJoined(l, 'w1', 'up-1', at(60) - LISTING_LAG_MS, TIMEOUT);
    assert.equal(late.members.w1, undefined);
    assert.equal(workersOf(late), 1);
    // The scale-up did add it: its action says so.
    assert.deepEqual(late.actions['up-1']?.nodes, ['w1']);
    // Within the lag the listing may simply not show it yet.
    const recent = nodeJoined(l, 'w1', null, at(60) - LISTING_LAG_MS + 1, TIMEOUT);
    assert.equal(recent.members.w1?.present, true);
  });

  test('the id of a scale-down is not taken for the scale-up that made the node', () => {
    const l = claim(listedWith(['w1']), decisionClaim('down-1', 'down', 1, at(0)));
    const after = nodeJoined(l, 'w2', 'down-1', at(5), TIMEOUT);
    assert.equal(after.actions['down-1'], l.actions['down-1']);
  });

  test('the same join again changes nothing', () => {
    const once = nodeJoined(listedWith([]), 'w1', 'up-1', at(10), TIMEOUT);
    assert.deepEqual(nodeJoined(once, 'w1', 'up-1', at(10), TIMEOUT), once);
  });
});

describe('nodeLeft', () => {
  test('removed by an action: a tombstone naming it, the action records the removal', () => {
    const l = actionStarted(listedWith(['w1', 'w2']), downStart('down-1', ['w1'], at(5)));
    const after = nodeLeft(l, 'w1', 'down-1', at(10));
    assert.equal(after.members.w1?.present, false);
    assert.equal(after.members.w1?.at, at(10));
    assert.equal(after.members.w1?.action, 'down-1');
    assert.equal(after.members.w1?.lost, undefined);
    assert.deepEqual(after.actions['down-1']?.removed, ['w1']);
    assert.equal(removedByUs(after, 'w1'), 'down-1');
    assert.deepEqual(lossesSince(after, 0), []);
    assert.equal(workersOf(after), 1);
  });

  test('lost, no action: a loss', () => {
    const after = nodeLeft(listedWith(['w1', 'w2']), 'w1', null, at(10), { lost: true });
    assert.equal(after.members.w1?.lost, true);
    assert.equal(removedByUs(after, 'w1'), null);
    assert.deepEqual(lossesSince(after, at(0)), [{ node: 'w1', at: at(10) }]);
  });

  test('gone without an action and not said lost: neither a loss nor ours', () => {
    const after = nodeLeft(listedWith(['w1']), 'w1', null, at(10));
    assert.equal(after.members.w1?.lost, false);
    assert.equal(removedByUs(after, 'w1'), null);
    assert.deepEqual(lossesSince(after, 0), []);
  });

  test('a node a scale-down lists leaves, reported lost by someone who did not know: not lost, ours', () => {
    const l = actionStarted(listedWith(['w1', 'w2']), downStart('down-1', ['w1'], at(5)));
    const after = nodeLeft(l, 'w1', null, at(10), { lost: true });
    assert.notEqual(after.members.w1?.lost, true);
    assert.equal(after.members.w1?.action, 'down-1');
    assert.equal(removedByUs(after, 'w1'), 'down-1');
    assert.deepEqual(lossesSince(after, 0), []);
  });

  test('said lost first (a listing missed it), then removed by an action: ours after all', () => {
    const l = listed(listedWith(['w1', 'w2']), [{ name: 'w2', ready: true }], at(30)).ledger;
    assert.equal(l.members.w1?.lost, true);
    const after = nodeLeft(l, 'w1', 'up-1', at(29));
    assert.notEqual(after.members.w1?.lost, true);
    assert.equal(after.members.w1?.action, 'up-1');
    assert.equal(removedByUs(after, 'w1'), 'up-1');
    assert.deepEqual(lossesSince(after, 0), []);
  });

  test("a departure older than the node's latest join changes nothing", () => {
    const l = nodeJoined(listedWith([]), 'w1', null, at(20), TIMEOUT);
    assert.deepEqual(nodeLeft(l, 'w1', null, at(10), { lost: true }), l);
  });

  test('a removal reported after the node came back (and left again) does not claim its later departure', () => {
    let l = nodeLeft(listedWith(['w1']), 'w1', 'up-1', at(10));
    l = nodeJoined(l, 'w1', null, at(20), TIMEOUT);
    l = nodeLeft(l, 'w1', null, at(30), { lost: true });
    const late = nodeLeft(l, 'w1', 'up-1', at(10));
    assert.equal(late.members.w1?.lost, true);
    assert.equal(removedByUs(late, 'w1'), null);
  });

  test('a later report of a departure keeps its time: a join of that time does not bring the node back', () => {
    let l = nodeLeft(listedWith(['w1']), 'w1', null, at(10), { lost: true });
    l = nodeLeft(l, 'w1', 'up-1', at(20));
    assert.equal(l.members.w1?.at, at(20));
    assert.equal(nodeJoined(l, 'w1', null, at(20), TIMEOUT).members.w1?.present, false);
  });

  test('a departure tied to one action is not taken for the removal of a scale-down that names the node later', () => {
    let l = nodeLeft(listedWith(['w1', 'w2']), 'w1', 'up-1', at(10));
    l = claim(l, decisionClaim('down-1', 'down', 1, at(11), ['w1']));
    const again = nodeLeft(l, 'w1', null, at(10));
    assert.equal(again.members.w1?.action, 'up-1');
    assert.deepEqual(again.actions['down-1']?.removed, []);
  });

  test('the same departure again changes nothing', () => {
    const l = actionStarted(listedWith(['w1']), downStart('down-1', ['w1'], at(5)));
    const once = nodeLeft(l, 'w1', 'down-1', at(10));
    assert.deepEqual(nodeLeft(once, 'w1', 'down-1', at(10)), once);
  });
});

describe('remainingOf', () => {
  const l = listedWith(['w1', 'w2', 'w3']);
  const action = (a: Partial<LedgerAction>): LedgerAction => ({
    id: 'a',
    direction: 'up',
    count: 3,
    origin: 'decision',
    state: 'started',
    at: at(0),
    expiresAt: at(600),
    nodes: [],
    removed: [],
    ...a,
  });

  test('up: the count less the nodes that joined', () => {
    assert.equal(remainingOf(l, action({ nodes: [] })), 3);
    assert.equal(remainingOf(l, action({ nodes: ['w9'] })), 2);
    assert.equal(remainingOf(l, action({ count: 1, nodes: ['w8', 'w9'] })), 0);
  });

  test('down without named victims: the count less those removed', () => {
    assert.equal(remainingOf(l, action({ direction: 'down', count: 2 })), 2);
    assert.equal(remainingOf(l, action({ direction: 'down', count: 2, removed: ['w9'], nodes: ['w9'] })), 1);
  });

  test('down with named victims: those still present', () => {
    const gone = nodeLeft(l, 'w1', null, at(10));
    const a = action({ direction: 'down', count: 2, nodes: ['w1', 'w2'] });
    assert.equal(remainingOf(l, a), 2);
    assert.equal(remainingOf(gone, a), 1);
  });

  test('down with fewer victims named than its count: the unnamed ones still to come', () => {
    const a = action({ direction: 'down', count: 3, nodes: ['w1'] });
    assert.equal(remainingOf(l, a), 3);
    assert.equal(remainingOf(nodeLeft(l, 'w1', null, at(10)), a), 2);
  });
});

describe('isInFlight / inFlightOf / desiredOf', () => {
  // Four workers; a scale-up of 2 (one joined), a scale-down of w1, one done, one expired.
  let l = listedWith(['w1', 'w2', 'w3', 'w4']);
  l = claim(l, decisionClaim('up-1', 'up', 2, at(10)));
  l = nodeJoined(l, 'w5', 'up-1', at(20), TIMEOUT);
  l = actionStarted(l, downStart('down-1', ['w1'], at(5)));
  l = actionEnded(actionStarted(l, upStart('up-done', 3, at(1))), 'up-done', 'done', at(30));
  l = claim(l, { id: 'up-old', direction: 'up', count: 4, origin: 'floor', now: at(2), timeoutMs: 10_000 });

  test('ended and expired actions are not in flight', () => {
    assert.equal(isInFlight(l.actions['up-done']!, at(40)), false);
    assert.equal(isInFlight(l.actions['up-old']!, at(12)), false);
    assert.equal(isInFlight(l.actions['up-old']!, at(11)), true);
  });

  test('in flight: oldest first, each with what it still has to do', () => {
    assert.deepEqual(inFlightOf(l, at(40)), [
      {
        id: 'down-1',
        direction: 'down',
        count: 1,
        remaining: 1,
        origin: 'external',
        state: 'started',
        at: at(5),
        expiresAt: at(5) + TIMEOUT,
      },
      {
        id: 'up-1',
        direction: 'up',
        count: 2,
        remaining: 1,
        origin: 'decision',
        state: 'claimed',
        at: at(10),
        expiresAt: at(10) + TIMEOUT,
      },
    ]);
  });

  test('desired: workers, less what scale-downs still remove, plus what scale-ups still add', () => {
    assert.equal(workersOf(l), 5);
    assert.equal(desiredOf(l, at(40)), 5 - 1 + 1);
    // w1 removed: one fewer worker, nothing left to remove.
    assert.equal(desiredOf(nodeLeft(l, 'w1', 'down-1', at(50)), at(50)), 4 + 1);
    // Past the timeout nothing is in flight.
    assert.equal(desiredOf(l, at(10) + TIMEOUT), 5);
  });

  test('desired is never below 0', () => {
    let small = listedWith(['w1']);
    small = claim(small, decisionClaim('down-2', 'down', 3, at(0)));
    assert.equal(desiredOf(small, at(1)), 0);
  });
});

describe('removedByUs', () => {
  test('a victim an action names, one it removed, one whose tombstone names it; never a loss', () => {
    let l = listedWith(['w1', 'w2', 'w3', 'w4']);
    l = claim(l, decisionClaim('down-1', 'down', 2, at(0), ['w1']));
    l = nodeLeft(l, 'w2', 'down-1', at(5));
    l = nodeLeft(l, 'w3', 'up-1', at(6));
    l = nodeLeft(l, 'w4', null, at(7), { lost: true });
    // A claim names the decision's choice: w1 is the action's victim once node-manager starts it.
    assert.equal(removedByUs(l, 'w1'), null);
    l = actionStarted(l, downStart('down-1', ['w1'], at(8)));
    assert.equal(removedByUs(l, 'w1'), 'down-1');
    assert.equal(removedByUs(l, 'w2'), 'down-1');
    assert.equal(removedByUs(l, 'w3'), 'up-1');
    assert.equal(removedByUs(l, 'w4'), null);
    assert.equal(removedByUs(l, 'w9'), null);
  });

  test('an ended action counts for the victims it removed, not for those it left: they may be lost later', () => {
    let l = actionStarted(listedWith(['w1', 'w2']), downStart('down-1', ['w1', 'w2'], at(0)));
    l = nodeLeft(l, 'w1', 'down-1', at(2));
    l = actionEnded(l, 'down-1', 'failed', at(5));
    assert.equal(removedByUs(l, 'w1'), 'down-1');
    assert.equal(removedByUs(l, 'w2'), null);
    const lost = nodeLeft(l, 'w2', null, at(9), { lost: true });
    assert.equal(lost.members.w2?.lost, true);
  });
});

describe('listed', () => {
  test('the first listing: members appear, nothing stale', () => {
    const r = listed(
      emptyLedger('workers'),
      [
        { name: 'w1', ready: true, createdAt: at(-3600) },
        { name: 'w2', ready: false },
      ],
      at(0),
    );
    assert.deepEqual(r.appeared, ['w1', 'w2']);
    assert.deepEqual(r.stale, []);
    assert.deepEqual([r.lost, r.removed], [[], []]);
    assert.equal(r.ledger.members.w1?.createdAt, at(-3600));
    assert.equal(workersOf(r.ledger), 2);
    assert.equal(readyWorkersOf(r.ledger), 1);
  });

  test('a member joined less than the lag ago is not removed by a listing missing it', () => {
    const l = nodeJoined(listedWith(['w1']), 'w2', null, at(60) - LISTING_LAG_MS + 1, TIMEOUT);
    const r = listed(l, [{ name: 'w1', ready: true }], at(60));
    assert.equal(r.ledger.members.w2?.present, true);
    assert.deepEqual([r.lost, r.removed], [[], []]);
    // One that joined the lag ago or more is.
    const older = nodeJoined(listedWith(['w1']), 'w2', null, at(60) - LISTING_LAG_MS, TIMEOUT);
    assert.deepEqual(listed(older, [{ name: 'w1', ready: true }], at(60)).lost, ['w2']);
  });

  test('gone from the listing: lost unless an action of ours removes it', () => {
    let l = listedWith(['w1', 'w2', 'w3']);
    l = actionStarted(l, downStart('down-1', ['w1'], at(10)));
    const r = listed(l, [{ name: 'w3', ready: true }], at(60));
    assert.deepEqual(r.removed, ['w1']);
    assert.deepEqual(r.lost, ['w2']);
    assert.equal(r.ledger.members.w1?.action, 'down-1');
    assert.equal(r.ledger.members.w2?.lost, true);
    assert.deepEqual(lossesSince(r.ledger, at(0)), [{ node: 'w2', at: at(60) }]);
    assert.equal(workersOf(r.ledger), 1);
  });

  test('a tombstone is not brought back by a listing that still shows the node', () => {
    const gone = nodeLeft(listedWith(['w1', 'w2']), 'w1', null, at(10), { lost: true });
    const r = listed(
      gone,
      [
        { name: 'w1', ready: true, createdAt: at(-600) },
        { name: 'w2', ready: true },
      ],
      at(12),
    );
    assert.equal(r.ledger.members.w1?.present, false);
    assert.deepEqual(r.appeared, []);
    // Without a creation time it is the same node too.
    assert.equal(listed(gone, [{ name: 'w1', ready: true }], at(60)).ledger.members.w1?.present, false);
  });

  test('a listing taken no later than a departure does not bring the node back, whatever its creation time', () => {
    const nodes = [{ name: 'w1', ready: true, createdAt: at(10) }];
    const l = listed(emptyLedger('workers'), nodes, at(10)).ledger;
    const gone = nodeLeft(l, 'w1', null, at(10), { lost: true });
    assert.equal(listed(gone, nodes, at(10)).ledger.members.w1?.present, false);
  });

  test('a node of a tombstoned name created after it left comes back (a new node)', () => {
    const gone = nodeLeft(listedWith(['w1']), 'w1', null, at(10), { lost: true });
    const r = listed(gone, [{ name: 'w1', ready: true, createdAt: at(30) }], at(60));
    assert.equal(r.ledger.members.w1?.present, true);
    assert.deepEqual(r.appeared, ['w1']);
    // Created 30 s before the listing and unknown to the ledger: it was behind.
    assert.deepEqual(r.stale, ['w1']);
  });

  test('stale: only after a first listing, and only for nodes older than the lag', () => {
    const l = listedWith(['w1'], at(0));
    const r = listed(
      l,
      [
        { name: 'w1', ready: true },
        { name: 'w2', ready: true, createdAt: at(60) - LISTING_LAG_MS },
        { name: 'w3', ready: true, createdAt: at(60) - LISTING_LAG_MS + 1_000 },
        { name: 'w4', ready: true },
      ],
      at(60),
    );
    assert.deepEqual(r.appeared, ['w2', 'w3', 'w4']);
    assert.deepEqual(r.stale, ['w2', 'w4']);
  });

  test('Ready and creation time follow the listing for members already present', () => {
    const r = listed(listedWith(['w1']), [{ name: 'w1', ready: false, createdAt: at(-100) }], at(10));
    assert.equal(r.ledger.members.w1?.ready, false);
    assert.equal(r.ledger.members.w1?.createdAt, at(-100));
    assert.deepEqual(r.appeared, []);
  });

  test('a node removed just before a listing that still shows it stays removed, whichever was written first', () => {
    // The listing, taken at 60, lags the API: the removal at 58 is not in it.
    const base = listedWith(['w1'], at(0));
    const listing = [
      { name: 'w1', ready: true },
      { name: 'w2', ready: true },
    ];
    const removedFirst = listed(nodeLeft(base, 'w2', 'up-1', at(58)), listing, at(60)).ledger;
    const listedFirst = nodeLeft(listed(base, listing, at(60)).ledger, 'w2', 'up-1', at(58));
    assert.equal(removedFirst.members.w2?.present, false);
    assert.equal(listedFirst.members.w2?.present, false);
    assert.equal(workersOf(removedFirst), 1);
    assert.equal(workersOf(listedFirst), 1);
  });

  test('a listing older than the last one changes nothing', () => {
    const l = listedWith(['w1'], at(60));
    const r = listed(l, [{ name: 'w2', ready: true }], at(30));
    assert.equal(r.ledger, l);
    assert.deepEqual([r.appeared, r.lost, r.removed, r.stale], [[], [], [], []]);
  });

  test('the same listing again changes nothing', () => {
    const l = nodeJoined(listedWith(['w1', 'w2']), 'w3', null, at(58), TIMEOUT);
    const nodes = [
      { name: 'w1', ready: true },
      { name: 'w4', ready: false },
    ];
    const once = listed(l, nodes, at(60));
    const twice = listed(once.ledger, nodes, at(60));
    assert.deepEqual(twice.ledger, once.ledger);
    assert.deepEqual([twice.appeared, twice.lost, twice.removed], [[], [], []]);
  });
});

describe('claim', () => {
  test('an action in flight from now, with the victims the decision names', () => {
    const l = claim(listedWith(['w1', 'w2']), decisionClaim('down-1', 'down', 1, at(0), ['w2']));
    assert.deepEqual(l.actions['down-1'], {
      id: 'down-1',
      direction: 'down',
      count: 1,
      origin: 'decision',
      state: 'claimed',
      at: at(0),
      expiresAt: at(0) + TIMEOUT,
      nodes: ['w2'],
      removed: [],
    });
    assert.equal(desiredOf(l, at(1)), 1);
  });

  test('claiming an id already there changes nothing', () => {
    const c = {
      id: 'up-1',
      direction: 'up' as const,
      count: 2,
      origin: 'floor' as const,
      now: at(0),
      timeoutMs: TIMEOUT,
    };
    const once = claim(listedWith([]), c);
    assert.equal(claim(once, c), once);
    assert.equal(claim(once, { ...c, count: 5, now: at(9) }), once);
  });
});

describe('actionStarted', () => {
  test('a claimed action starts with the count node-manager carries out and the workers then', () => {
    let l = claim(listedWith(['w1']), decisionClaim('up-1', 'up', 3, at(0)));
    l = actionStarted(l, { ...upStart('up-1', 2, at(1)), from: 1 });
    assert.equal(l.actions['up-1']?.state, 'started');
    assert.equal(l.actions['up-1']?.count, 2);
    assert.equal(l.actions['up-1']?.origin, 'decision');
    assert.equal(l.actions['up-1']?.from, 1);
    // Stated again with other workers: the first stay.
    assert.equal(actionStarted(l, { ...upStart('up-1', 2, at(2)), from: 7 }).actions['up-1']?.from, 1);
  });

  test("node-manager's victims replace the decision's; those already removed stay", () => {
    let l = claim(listedWith(['w1', 'w2', 'w3']), decisionClaim('down-1', 'down', 2, at(0), ['w1', 'w2']));
    l = nodeLeft(l, 'w1', 'down-1', at(1));
    l = actionStarted(l, downStart('down-1', ['w3'], at(2), 2));
    assert.deepEqual(l.actions['down-1']?.nodes, ['w3', 'w1']);
    assert.deepEqual(l.actions['down-1']?.removed, ['w1']);
    assert.equal(removedByUs(l, 'w2'), null);
    assert.equal(removedByUs(l, 'w3'), 'down-1');
  });

  test('stated again after one of its victims was removed, it changes nothing', () => {
    let l = actionStarted(listedWith(['w1', 'w2']), downStart('down-1', ['w1', 'w2'], at(0)));
    l = nodeLeft(l, 'w2', 'down-1', at(5));
    assert.equal(actionStarted(l, downStart('down-1', ['w1', 'w2'], at(0))), l);
  });

  test('does not reopen an ended action', () => {
    let l = actionStarted(listedWith(['w1']), upStart('up-1', 1, at(0)));
    l = actionEnded(l, 'up-1', 'done', at(30));
    assert.equal(actionStarted(l, upStart('up-1', 1, at(0))), l);
  });

  test('an action nobody claimed: started by someone else', () => {
    const l = actionStarted(listedWith([]), upStart('up-x', 2, at(3)));
    assert.equal(l.actions['up-x']?.origin, 'external');
    assert.equal(l.actions['up-x']?.expiresAt, at(3) + TIMEOUT);
  });

  test('a victim said lost before the start was written is ours once it is', () => {
    // The listing came first (it could not know), then the start naming w1.
    const l = listed(listedWith(['w1', 'w2']), [{ name: 'w2', ready: true }], at(60)).ledger;
    assert.deepEqual(lossesSince(l, 0), [{ node: 'w1', at: at(60) }]);
    const after = actionStarted(l, downStart('down-1', ['w1'], at(55)));
    assert.equal(after.members.w1?.lost, undefined);
    assert.equal(after.members.w1?.action, 'down-1');
    assert.deepEqual(lossesSince(after, 0), []);
    assert.deepEqual(after.actions['down-1']?.removed, ['w1']);
    assert.equal(remainingOf(after, after.actions['down-1']!), 0);
  });

  test('a removal written before its action is counted by it', () => {
    let l = nodeLeft(listedWith(['w1', 'w2']), 'w1', 'down-1', at(5));
    l = actionStarted(l, { id: 'down-1', direction: 'down', count: 2, now: at(4), timeoutMs: TIMEOUT });
    assert.deepEqual(l.actions['down-1']?.removed, ['w1']);
    assert.equal(remainingOf(l, l.actions['down-1']!), 1);
  });
});

describe('actionEnded', () => {
  test('done: no longer in flight, its end time kept', () => {
    let l = actionStarted(listedWith([]), upStart('up-1', 1, at(0)));
    l = actionEnded(l, 'up-1', 'done', at(30));
    assert.equal(l.actions['up-1']?.state, 'done');
    assert.equal(l.actions['up-1']?.endedAt, at(30));
    assert.deepEqual(inFlightOf(l, at(31)), []);
    // A second end (failed, later) changes nothing.
    assert.equal(actionEnded(l, 'up-1', 'failed', at(40)), l);
  });

  test('ended before its start was heard of: remembered, and the late start does not open it', () => {
    let l = actionEnded(listedWith([]), 'up-1', 'failed', at(30));
    assert.equal(l.actions['up-1']?.state, 'failed');
    l = actionStarted(l, upStart('up-1', 2, at(10)));
    assert.equal(l.actions['up-1']?.state, 'failed');
    assert.deepEqual(inFlightOf(l, at(31)), []);
    assert.equal(desiredOf(l, at(31)), 0);
  });
});

describe('pruned', () => {
  test('tombstones and ended or expired actions older than the retention go; the rest stays', () => {
    let l = listedWith(['w1', 'w2', 'w3'], at(0));
    l = nodeLeft(l, 'w1', null, at(10), { lost: true });
    l = nodeLeft(l, 'w2', null, at(500), { lost: true });
    l = actionEnded(actionStarted(l, upStart('old', 1, at(0))), 'old', 'done', at(20));
    l = actionEnded(actionStarted(l, upStart('recent', 1, at(0))), 'recent', 'done', at(400));
    l = claim(l, {
      id: 'expired',
      direction: 'up',
      count: 1,
      origin: 'floor',
      now: at(0),
      timeoutMs: 30_000,
    });
    l = claim(l, {
      id: 'flying',
      direction: 'up',
      count: 1,
      origin: 'floor',
      now: at(0),
      timeoutMs: 3_600_000,
    });
    const now = at(40) + RETENTION_MS;
    const p = pruned(l, now);
    assert.deepEqual(Object.keys(p.members).sort(), ['w2', 'w3']);
    assert.deepEqual(Object.keys(p.actions).sort(), ['flying', 'recent']);
    assert.equal(workersOf(p), 1);
  });

  test('nothing to forget: the same ledger back', () => {
    const l = nodeLeft(listedWith(['w1']), 'w1', null, at(10));
    assert.equal(pruned(l, at(11)), l);
  });
});

describe('lossesSince', () => {
  test('losses since a time, oldest first; removals and older losses left out', () => {
    let l = listedWith(['w1', 'w2', 'w3', 'w4']);
    l = nodeLeft(l, 'w3', null, at(30), { lost: true });
    l = nodeLeft(l, 'w1', null, at(20), { lost: true });
    l = nodeLeft(l, 'w2', null, at(5), { lost: true });
    l = nodeLeft(l, 'w4', 'up-1', at(25));
    assert.deepEqual(lossesSince(l, at(10)), [
      { node: 'w1', at: at(20) },
      { node: 'w3', at: at(30) },
    ]);
  });
});

describe('holds and limits', () => {
  const hold: Hold = {
    target: 6,
    direction: 'up',
    action: 'set',
    trigger: 'trigger-1',
    source: '/ci/pipeline',
    reason: 'release',
    at: at(0),
    reachedAt: at(10),
    until: at(600),
    actions: ['trigger-1/ScaleUpDecision'],
  };

  test('a hold is in force until its end', () => {
    const l = withHold(listedWith([]), hold);
    assert.equal(holdAt(l, at(599)), l.hold);
    assert.equal(holdAt(l, at(600)), null);
    assert.equal(holdAt(listedWith([]), at(0)), null);
  });

  test('a target still pursued has no end yet', () => {
    const l = withHold(listedWith([]), { ...hold, reachedAt: null, until: null });
    assert.equal(holdAt(l, at(100_000)), l.hold);
  });

  test('setting the same hold again changes nothing; null clears it', () => {
    const l = withHold(listedWith([]), hold);
    assert.equal(withHold(l, { ...hold }), l);
    assert.equal(withHold(l, null).hold, null);
  });

  test('limits of an update hold while the configured ones are those they replaced', () => {
    const l = withLimits(listedWith([]), {
      min: 3,
      max: 8,
      source: '/ops',
      at: at(0),
      base: { min: 2, max: 6 },
    });
    assert.deepEqual(limitsOf(l, 2, 6), { min: 3, max: 8 });
    // The configuration changed since: its values win.
    assert.deepEqual(limitsOf(l, 1, 6), { min: 1, max: 6 });
    assert.deepEqual(limitsOf(listedWith([]), 2, 6), { min: 2, max: 6 });
    // The same limits again change nothing.
    assert.equal(withLimits(l, { min: 3, max: 8, source: '/other', at: at(9), base: { min: 2, max: 6 } }), l);
  });
});

describe('listed: the nodes an up action made', () => {
  test('a listed node an action in flight made is delivered: desired counts it once, before its NodeReady', () => {
    let l = listedWith(['w1']);
    l = actionStarted(l, { id: 'up-1', direction: 'up', count: 2, now: at(1), timeoutMs: TIMEOUT, from: 1 });
    assert.equal(desiredOf(l, at(2)), 3);
    const { ledger } = listed(
      l,
      [
        { name: 'w1', ready: true },
        { name: 'w2', ready: false, createdAt: at(2), action: 'up-1' },
      ],
      at(3),
    );
    assert.equal(workersOf(ledger), 2);
    assert.equal(desiredOf(ledger, at(3)), 3, 'one node still to come, not two');
    assert.deepEqual(ledger.actions['up-1']?.nodes, ['w2']);
    assert.equal(ledger.members.w2?.action, 'up-1');
    // Its NodeReady later changes neither.
    const ready = nodeJoined(ledger, 'w2', 'up-1', at(4), TIMEOUT);
    assert.equal(desiredOf(ready, at(4)), 3);
    // A node naming an action the ledger does not know, or a scale-down, is a member only.
    const other = listed(
      l,
      [
        { name: 'w1', ready: true },
        { name: 'w9', ready: true, action: 'gone-1' },
      ],
      at(3),
    );
    assert.equal(other.ledger.members.w9?.action, undefined);
    assert.equal(desiredOf(other.ledger, at(3)), 4);
  });
});

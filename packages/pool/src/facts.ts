/**
 * The facts a producer states, written into the ledger before the events that state them are
 * published, and the events' numbers taken from the ledger as it is then: what node-manager
 * and state-sync call between "the core decided these events" and "publish them".
 *
 * The facts (by event type):
 * - ScaleUpStarted / ScaleDownStarted: the action starts (a scale-down's victims with it);
 *   `previous_workers` is the pool's workers now, `target_workers` that plus or minus the count;
 * - NodeReady: the node is a member, added by its action;
 * - NodeRemoved: the node left, removed by its action (a worker pod that finished: by the
 *   scale-up that made it), never a loss;
 * - NodeUnexpectedlyLost: the node left, a loss; `remaining_workers` is the workers after it;
 * - ScalingActionCompleted / ScalingActionFailed: the action ended; a completion's
 *   `new_workers` is the pool's workers after it (and `previous_workers` the start's).
 * Other events pass through unchanged. Applied again (a redelivery), nothing changes.
 */
import {
  actionEnded,
  actionStarted,
  type Ledger,
  nodeJoined,
  nodeLeft,
  remainingOf,
  workersOf,
} from './ledger.ts';

/** The parts of an event this reads: a ScalewiseEvent is one. */
export interface FactEvent {
  type: string;
  data: unknown;
}

export interface Recorded<E> {
  ledger: Ledger;
  /** The events, in order, with their numbers from the ledger. */
  events: E[];
}

type Data = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Records the facts of `events` (all of one pool: the ledger's) at `now`.
 * @param timeoutMs how long an action first seen here counts as in flight (the pool's action timeout)
 */
export function recordFacts<E extends FactEvent>(
  ledger: Ledger,
  events: readonly E[],
  now: number,
  timeoutMs: number,
): Recorded<E> {
  let l = ledger;
  const out: E[] = [];
  for (const e of events) {
    const d = (e.data ?? {}) as Data;
    if (str(d.pool) !== ledger.pool) {
      out.push(e);
      continue;
    }
    const known = workersOf(l);
    const patch = (data: Data): E => ({ ...e, data: { ...d, ...data } });
    switch (e.type) {
      case 'io.scalewise.ScaleUpStarted':
      case 'io.scalewise.ScaleDownStarted': {
        const id = str(d.action_id);
        const count = num(d.count);
        if (!id || count === null) break;
        const up = e.type === 'io.scalewise.ScaleUpStarted';
        const before = l.actions[id];
        l = actionStarted(l, {
          id,
          direction: up ? 'up' : 'down',
          count,
          ...(Array.isArray(d.nodes)
            ? { nodes: d.nodes.filter((n): n is string => typeof n === 'string') }
            : {}),
          now,
          timeoutMs,
          ...(known !== null ? { from: known } : {}),
        });
        // A start stated again (a redelivered decision) keeps the numbers it was first stated
        // with: the workers the ledger recorded at its first start, not those of now.
        const first = before && before.state !== 'claimed' ? l.actions[id] : undefined;
        const from = first ? first.from : (known ?? undefined);
        if (from === undefined) {
          out.push(e);
          continue;
        }
        out.push(
          patch({
            previous_workers: from,
            target_workers: up ? from + count : Math.max(0, from - count),
          }),
        );
        continue;
      }
      case 'io.scalewise.NodeReady': {
        const node = str(d.node_name);
        if (node) l = nodeJoined(l, node, str(d.action_id), now, timeoutMs);
        break;
      }
      case 'io.scalewise.NodeRemoved': {
        const node = str(d.node_name);
        if (node) l = nodeLeft(l, node, str(d.action_id), now);
        break;
      }
      case 'io.scalewise.NodeUnexpectedlyLost': {
        const node = str(d.node_name);
        if (!node) break;
        l = nodeLeft(l, node, null, now, { lost: true });
        const after = workersOf(l);
        out.push(after === null ? e : patch({ remaining_workers: after }));
        continue;
      }
      case 'io.scalewise.ScalingActionCompleted':
      case 'io.scalewise.ScalingActionFailed': {
        const id = str(d.action_id);
        if (!id) break;
        const done = e.type === 'io.scalewise.ScalingActionCompleted';
        // node-manager completes an action once every node of it is there or gone, but writes
        // each node's fact from its own step: a sibling's may reach the ledger just after the
        // completion. A completed scale-down's victims are gone; a completed scale-up's nodes
        // not yet recorded are there (their NodeReady facts follow).
        const a = l.actions[id];
        let coming = 0;
        if (done && a?.direction === 'down') {
          for (const n of a.nodes) if (l.members[n]?.present) l = nodeLeft(l, n, id, now);
        } else if (done && a?.direction === 'up' && a.state !== 'done') {
          coming = remainingOf(l, a);
        }
        l = actionEnded(l, id, done ? 'done' : 'failed', now);
        const after = workersOf(l);
        if (done && after !== null) {
          const from = l.actions[id]?.from;
          out.push(
            patch({ new_workers: after + coming, ...(from !== undefined ? { previous_workers: from } : {}) }),
          );
          continue;
        }
        break;
      }
      default:
        break;
    }
    out.push(e);
  }
  return { ledger: l, events: out };
}

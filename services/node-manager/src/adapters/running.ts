/**
 * Which actions have work left, and what they wait for. The running index (a Redis set) holds
 * every action with work left, a running one and a failed scale-up until its unjoined workers
 * are deleted, so a restarted node-manager re-issues what each still needs. Beside it, in
 * memory: the node each running action waits for (Ready from a watch finds its action) and
 * each running action's deadline (only an action past it needs a deadline check).
 */
import type { Bus } from '@scalewise/bus';
import { type Action, outstanding } from '../core/index.ts';

/** The Redis set of action ids (the index). */
export interface RunningIndex {
  add(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  has(id: string): Promise<boolean>;
  list(): Promise<string[]>;
}

/** The index at `key`, behind the Redis breaker. */
export function redisRunningIndex(bus: Pick<Bus, 'redis' | 'breakers'>, key: string): RunningIndex {
  const call = <T>(fn: () => Promise<T>) => bus.breakers.redis.call(fn);
  return {
    add: async (id) => void (await call(() => bus.redis.sadd(key, id))),
    remove: async (id) => void (await call(() => bus.redis.srem(key, id))),
    has: async (id) => (await call(() => bus.redis.sismember(key, id))) === 1,
    // Read once at start, as before: outside the breaker, so a failure fails the start.
    list: () => bus.redis.smembers(key),
  };
}

export interface Tracker {
  /** Node -> the running action that waits for it. */
  readonly waiting: Map<string, string>;
  /** Running action -> its deadline. */
  readonly deadlines: ReadonlyMap<string, number>;
  /** Indexes the action (or takes it out of the index once it has no work left). */
  track(a: Action): Promise<void>;
  /** The action waits for these nodes (before their creation is recorded). */
  awaiting(actionId: string, nodes: readonly string[]): void;
  readonly index: RunningIndex;
}

export function createTracker(index: RunningIndex): Tracker {
  const waiting = new Map<string, string>();
  const deadlines = new Map<string, number>();
  return {
    waiting,
    deadlines,
    index,
    async track(a) {
      if (a.phase === 'running') {
        deadlines.set(a.id, a.deadline);
        await index.add(a.id);
        for (const [n, s] of Object.entries(a.nodes))
          if (s.state === 'requested' || s.state === 'created') waiting.set(n, a.id);
        return;
      }
      deadlines.delete(a.id);
      await (outstanding(a).length > 0 ? index.add(a.id) : index.remove(a.id));
      for (const n of Object.keys(a.nodes)) if (waiting.get(n) === a.id) waiting.delete(n);
    },
    awaiting(actionId, nodes) {
      for (const n of nodes) waiting.set(n, actionId);
    },
  };
}

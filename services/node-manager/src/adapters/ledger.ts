/**
 * The pool ledger every service shares (packages/pool); node-manager keeps no part of its own
 * beside it. Every batch of events goes through it before it is published: its facts (an
 * action started with its victims, a node joined or left, an action ended) are written there
 * first, and the numbers it states (previous_workers, target_workers, new_workers) are the
 * ledger's, not the decision's.
 */
import type { Bus } from '@scalewise/bus';
import type { PoolConfig } from '@scalewise/config';
import type { AnyScalewiseEvent } from '@scalewise/events';
import { createPoolStore, pruned, recordFacts } from '@scalewise/pool';

export interface LedgerWriter {
  /**
   * Writes the facts a batch of one pool's events states into the pool ledger and gives the
   * events back with the ledger's numbers, to publish. `batch` names the batch in the pool
   * store's outbox: the same batch again (a redelivered decision) gets the same events back,
   * numbers included, however the ledger moved on since. A pool no longer configured (an
   * action resumed after it was removed) is not ours to write about: its events go out as
   * they are.
   * @throws ScalewiseError DEPENDENCY_UNAVAILABLE or CONFLICT (retriable), as the pool store.
   */
  stated(batch: string, events: AnyScalewiseEvent[]): Promise<AnyScalewiseEvent[]>;
}

export function createLedgerWriter(deps: {
  bus: Pick<Bus, 'redis' | 'breakers'>;
  clusterId: string;
  service: string;
  pools: ReadonlyMap<string, PoolConfig>;
  now: () => number;
}): LedgerWriter {
  const ledgers = createPoolStore<never, AnyScalewiseEvent>({
    redis: deps.bus.redis,
    clusterId: deps.clusterId,
    service: deps.service,
    call: (fn) => deps.bus.breakers.redis.call(fn),
  });
  return {
    async stated(batch, events) {
      const name = (events[0]?.data as { pool?: string } | undefined)?.pool;
      const pool = name === undefined ? undefined : deps.pools.get(name);
      if (!pool) return events;
      const t = deps.now();
      const applied = await ledgers.apply(pool.name, `facts/${batch}`, (ledger) => {
        const r = recordFacts(pruned(ledger, t), events, t, pool.action_timeout_seconds * 1000);
        return { ledger: r.ledger, outputs: r.events };
      });
      return applied.outputs;
    },
  };
}

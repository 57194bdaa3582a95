/**
 * The decision engine's wiring: its pool policies from the config, the pool store in Redis
 * (behind the bus's Redis breaker), and the one handler every consumed type goes through
 * (handlers/pool-input.ts). The kit service (service.ts) builds it once per process.
 */
import { type HandlerRegistry, handlersFor } from '@scalewise/bus';
import type { AnyScalewiseEvent } from '@scalewise/events';
import { createPoolStore, type Hold, holdAt, type Ledger, type PoolStore } from '@scalewise/pool';
import type { ServiceContext } from '@scalewise/service';
import { type PoolPolicy, type PoolState, storedState, viewOf } from './core/index.ts';
import { createPoolInputHandler, type HandledType, handledTypes } from './handlers/pool-input.ts';
import { poolPolicies } from './policies.ts';

export { type HandledType, handledTypes } from './handlers/pool-input.ts';

export const serviceName = 'decision-engine';

export interface DecisionEngine {
  handlers: HandlerRegistry<HandledType>;
  store: PoolStore<PoolState, AnyScalewiseEvent>;
  policies: ReadonlyMap<string, PoolPolicy>;
  /**
   * The state of a pool as the engine sees it (its own, with the ledger's numbers) and the
   * trigger target in force (pursued, or held and not over), or null for an unknown pool.
   */
  poolState(pool: string): Promise<{ state: PoolState; ledger: Ledger; hold: Hold | null } | null>;
}

export interface DecisionEngineOptions {
  /** The clock (tests). @default Date.now */
  now?: () => number;
}

export function createDecisionEngine(
  ctx: ServiceContext,
  options: DecisionEngineOptions = {},
): DecisionEngine {
  const { config, bus, telemetry } = ctx;
  const now = options.now ?? Date.now;
  const policies = new Map(poolPolicies(config).map((p) => [p.name, p]));
  const store = createPoolStore<PoolState, AnyScalewiseEvent>({
    redis: bus.redis,
    clusterId: config.cluster_id,
    service: serviceName,
    call: (fn) => bus.breakers.redis.call(fn),
  });
  for (const p of policies.values()) telemetry.metrics.pools.limits(p.name, p.min, p.max);
  const handle = createPoolInputHandler({
    store,
    policies,
    clusterId: config.cluster_id,
    source: `/scalewise/${config.cluster_id}/${serviceName}`,
    telemetry,
    now,
  });
  return {
    handlers: handlersFor(handledTypes, handle),
    store,
    policies,
    async poolState(pool) {
      const policy = policies.get(pool);
      if (!policy) return null;
      const stored = await store.get(pool);
      const t = now();
      const state = storedState(policy, stored.part, stored.ledger, t).pools[pool];
      return state
        ? { state: viewOf(state, stored.ledger, t), ledger: stored.ledger, hold: holdAt(stored.ledger, t) }
        : null;
    },
  };
}

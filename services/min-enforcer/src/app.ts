/**
 * min-enforcer's wiring: its floor policies from the config, the pools' records in Redis
 * (behind the bus's Redis breaker), the handler of consumed events and the periodic check.
 * The kit service (service.ts) builds it once per process.
 */
import { type HandlerRegistry, handlersFor } from '@scalewise/bus';
import type { AnyScalewiseEvent } from '@scalewise/events';
import { createPoolStore, type Ledger, type PoolStore } from '@scalewise/pool';
import type { ServiceContext } from '@scalewise/service';
import { createFloorRecords } from './adapters/floor-records.ts';
import type { FloorPolicy, FloorPoolState } from './core/index.ts';
import { createFloorInputHandler, type HandledType, handledTypes } from './handlers/floor-input.ts';
import { createFloorCheck } from './loops/floor-check.ts';
import { floorPolicies } from './policies.ts';

export { type HandledType, handledTypes } from './handlers/floor-input.ts';
export { floorPolicy } from './policies.ts';

export const serviceName = 'min-enforcer';

export interface MinEnforcer {
  handlers: HandlerRegistry<HandledType>;
  store: PoolStore<FloorPoolState, AnyScalewiseEvent>;
  policies: ReadonlyMap<string, FloorPolicy>;
  /** Checks every pool now (the timer calls this) and publishes what the checks found. */
  check(): Promise<AnyScalewiseEvent[]>;
  /** Starts the periodic check. */
  start(): void;
  stop(): Promise<void>;
  /** The floor state and the pool's ledger as stored (null: not a configured pool). */
  poolState(pool: string): Promise<{ floor: FloorPoolState; ledger: Ledger } | null>;
}

export interface MinEnforcerOptions {
  /** @default Date.now */
  now?: () => number;
}

export function createMinEnforcer(ctx: ServiceContext, options: MinEnforcerOptions = {}): MinEnforcer {
  const { config, bus, telemetry } = ctx;
  const now = options.now ?? Date.now;
  const policies = floorPolicies(config);
  const store = createPoolStore<FloorPoolState, AnyScalewiseEvent>({
    redis: bus.redis,
    clusterId: config.cluster_id,
    service: serviceName,
    call: (fn) => bus.breakers.redis.call(fn),
  });
  const records = createFloorRecords({
    store,
    clusterId: config.cluster_id,
    source: `/scalewise/${config.cluster_id}/${serviceName}`,
    now,
  });
  const loop = createFloorCheck({
    records,
    policies,
    publish: (...events) => bus.publisher.publish(...events),
    intervalMs: config.autoscaler.enforcement.min_violation_check_interval * 1000,
    now,
    log: telemetry.logger,
  });
  return {
    handlers: handlersFor(
      handledTypes,
      createFloorInputHandler({ records, policies, clusterId: config.cluster_id }),
    ),
    store,
    policies,
    check: loop.check,
    start: loop.start,
    stop: loop.stop,
    async poolState(pool) {
      const policy = policies.get(pool);
      return policy ? records.read(policy) : null;
    },
  };
}

/** Maps the YAML config (packages/config, snake_case) onto the floor core's pool policies. */
import type { Config, PoolConfig } from '@scalewise/config';
import { defineFloorPolicy, type FloorPolicy } from './core/index.ts';

/**
 * The floor policy of one configured pool.
 * @throws ScalewiseError INVALID_CONFIG naming the pool and key when a value is out of range.
 */
export function floorPolicy(pool: PoolConfig, config: Config): FloorPolicy {
  const e = config.autoscaler.enforcement;
  return defineFloorPolicy({
    name: pool.name,
    min: pool.min,
    max: pool.max,
    autoScaleToMin: e.auto_scale_to_min,
    checkIntervalSeconds: e.min_violation_check_interval,
    emergencyScaleThreshold: e.emergency_scale_threshold,
    emergencyWindowSeconds: e.emergency_window_seconds,
    actionTimeoutSeconds: pool.action_timeout_seconds,
    allowedTriggerSources: pool.allowed_trigger_sources,
    dryRun: pool.dry_run,
  });
}

/** One floor policy per configured pool, by name. */
export function floorPolicies(config: Config): Map<string, FloorPolicy> {
  return new Map(config.autoscaler.pools.map((p) => [p.name, floorPolicy(p, config)]));
}

/** Maps the YAML config (packages/config, snake_case) onto the core's pool policies. */
import type { Config, PoolConfig } from '@scalewise/config';
import { definePoolPolicy, type PoolPolicy, type ScalingRules } from './core/index.ts';

type Rules = PoolConfig['behavior']['scale_up'];

const rules = (r: Rules): ScalingRules => ({
  stabilizationWindowSeconds: r.stabilization_window_seconds,
  selectPolicy: r.select_policy,
  policies: r.policies.map((p) => ({ type: p.type, value: p.value, periodSeconds: p.period_seconds })),
});

/**
 * One policy per configured pool.
 * @throws ScalewiseError INVALID_CONFIG naming the pool and key, for combinations the schema
 *   cannot check alone (e.g. a low threshold above the target).
 */
export function poolPolicy(pool: PoolConfig): PoolPolicy {
  const t = pool.thresholds;
  return definePoolPolicy({
    name: pool.name,
    min: pool.min,
    max: pool.max,
    nodeSize: {
      cpuMillicores: pool.node_size.cpu_millicores,
      memoryBytes: pool.node_size.memory_mib * 2 ** 20,
    },
    thresholds: {
      cpuHighPercent: t.cpu_high_percent,
      memoryHighPercent: t.memory_high_percent,
      cpuLowPercent: t.cpu_low_percent,
      memoryLowPercent: t.memory_low_percent,
      cpuTargetPercent: t.cpu_target_percent,
      memoryTargetPercent: t.memory_target_percent,
    },
    behavior: { scaleUp: rules(pool.behavior.scale_up), scaleDown: rules(pool.behavior.scale_down) },
    cooldownSeconds: pool.cooldown_seconds,
    underutilizedForSeconds: t.underutilized_for_seconds,
    allowedTriggerSources: pool.allowed_trigger_sources,
    actionTimeoutSeconds: pool.action_timeout_seconds,
    unhealthyNodeTtlSeconds: pool.unhealthy_node_ttl_seconds,
    triggerHoldSeconds: pool.trigger_hold_seconds,
    dryRun: pool.dry_run,
  });
}

export function poolPolicies(config: Config): PoolPolicy[] {
  return config.autoscaler.pools.map(poolPolicy);
}

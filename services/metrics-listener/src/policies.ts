/** Maps the YAML config (packages/config, snake_case) onto the sensing core's pool policies. */
import type { Config } from '@scalewise/config';
import { prometheusSpec } from './adapters/prometheus.ts';
import type { SensePolicy } from './core/index.ts';

/** One sensing policy per configured pool, in the config's order. */
export function sensePolicies(config: Config): SensePolicy[] {
  const s = config.autoscaler.sensing;
  return config.autoscaler.pools.map((p) => ({
    pool: p.name,
    min: p.min,
    max: p.max,
    cpuHighPercent: p.thresholds.cpu_high_percent,
    memoryHighPercent: p.thresholds.memory_high_percent,
    cpuLowPercent: p.thresholds.cpu_low_percent,
    memoryLowPercent: p.thresholds.memory_low_percent,
    underutilizedPeriods: s.underutilized_periods,
    healthRepeatSeconds: s.health_repeat_seconds,
    ...(p.metrics.prometheus ? { prometheus: prometheusSpec(p.metrics.prometheus) } : {}),
    ...(p.provider === 'pods' ? { workerKind: 'pod' as const } : {}),
  }));
}

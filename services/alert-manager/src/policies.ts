/** The `alerts` section of the YAML config mapped onto the routing core's config. */
import type { Config } from '@scalewise/config';
import type { RoutingConfig } from './core/index.ts';

export function routingConfigOf(config: Pick<Config, 'alerts'>): RoutingConfig {
  return {
    sinks: config.alerts.sinks.map((s) => ({
      name: s.name,
      kind: s.kind,
      minSeverity: s.min_severity,
      maxPerMinute: s.max_per_minute,
    })),
    groupWindowSeconds: config.alerts.group_window_seconds,
  };
}

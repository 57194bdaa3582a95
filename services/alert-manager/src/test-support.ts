/** Test support: alert-manager's config for a test of its own on the test servers. Used by tests only. */
import { type ServiceYamlOptions, type StackEndpoints, serversYaml } from '@scalewise/testing';

/** Options of {@link alertManagerYaml}: those of serviceYaml but the pools, and the sinks. */
export interface AlertManagerYamlOptions extends Omit<ServiceYamlOptions, 'autoscaler'> {
  /** The `alerts.sinks` list, as YAML. */
  sinks: string;
}

/**
 * alert-manager's whole config: one pool, `workers`; `sinks` grouped over 300 s; topics and
 * groups under `prefix`, retried three times at most 200 ms apart; the stack's servers.
 */
export function alertManagerYaml(stack: StackEndpoints, options: AlertManagerYamlOptions): string {
  return `
cluster_id: ${options.clusterId}
autoscaler: { pools: [{ name: workers }] }
alerts:
  sinks: ${options.sinks}
  group_window_seconds: 300
events:
  topic_prefix: "${options.prefix}"
  group_prefix: "${options.prefix}"
  partitions: ${options.partitions ?? 3}
  retry: { attempts: 3, initial_ms: 50, max_ms: 200 }
${serversYaml(stack, options.servers)}
telemetry: { log_level: ${options.logLevel ?? 'warn'} }
shutdown_timeout_seconds: 10
`;
}

/**
 * The decision-engine's integration tests' configuration: a cluster id, topics, groups, DLQ
 * bucket and Redis keys no other test shares, on the stack's servers.
 */
import { type LoadedConfig, loadConfig } from '@scalewise/config';
import { type StackEndpoints, serversYaml, uniqueName } from '@scalewise/testing';

/** @param pools the YAML of `autoscaler.pools` */
export function engineTestConfig(
  stack: StackEndpoints,
  pools: string,
  label = 'de',
): { loaded: LoadedConfig; prefix: string } {
  const prefix = `${uniqueName(label)}.`;
  const loaded = loadConfig({
    text: `
cluster_id: ${uniqueName('c')}
autoscaler:
  pools: ${pools}
events:
  topic_prefix: "${prefix}"
  group_prefix: "${prefix}"
  partitions: 3
${serversYaml(stack)}
telemetry: { log_level: warn }
shutdown_timeout_seconds: 10
`,
    env: {},
  });
  return { loaded, prefix };
}

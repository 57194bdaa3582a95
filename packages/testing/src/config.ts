import { uniqueName } from './names.ts';
import type { StackEndpoints } from './stack.ts';

/** Options of {@link serversYaml}. */
export interface ServersOptions {
  brokers?: readonly string[];
  redisUrl?: string;
  apiToken?: string | undefined;
  kubeconfig?: string;
  /** More keys of the `http` section, as YAML flow-map entries: `tokens: [...], metrics_auth: token`. */
  http?: string | undefined;
}

/**
 * The part of a service's YAML config that points it at the test servers: Kafka, Redis, S3
 * (with a dead-letter bucket no other test uses), the Kubernetes API when the stack has one
 * (or `kubeconfig`, another control plane's),
 * and HTTP on a free port of 127.0.0.1. Tests add cluster_id, autoscaler, events, ... around it.
 */
export function serversYaml(stack: StackEndpoints, options: ServersOptions = {}): string {
  const s3 = stack.s3;
  return [
    `kafka: { brokers: [${(options.brokers ?? stack.kafka.brokers).join(', ')}] }`,
    `redis: { url: "${options.redisUrl ?? stack.redis.url}" }`,
    `s3: { endpoint: "${s3.endpoint}", region: ${s3.region}, bucket: ${uniqueName('dlq')}, access_key_id: ${s3.accessKeyId}, secret_access_key: ${s3.secretAccessKey} }`,
    ...(options.kubeconfig || stack.kubernetes
      ? [`kubernetes: { kubeconfig: "${options.kubeconfig ?? stack.kubernetes?.kubeconfig}" }`]
      : []),
    `http: { host: 127.0.0.1, port: 0${options.apiToken ? `, api_token: ${options.apiToken}` : ''}${options.http ? `, ${options.http}` : ''} }`,
  ].join('\n');
}

/** Options of {@link serviceYaml}. */
export interface ServiceYamlOptions {
  clusterId: string;
  /** The topic and group prefix, ending in `.`. */
  prefix: string;
  /** The `autoscaler` section's lines, each indented by two spaces. */
  autoscaler: string;
  /** @default 3 */
  partitions?: number;
  /** The servers' options: tokens, another broker ({@link serversYaml}). */
  servers?: ServersOptions;
  /** @default 'warn' */
  logLevel?: string;
}

/**
 * A whole service config of a test's own: its cluster id, its pools, topics and groups under
 * `prefix`, the stack's servers, warnings only, a 10 s shutdown.
 */
export function serviceYaml(stack: StackEndpoints, options: ServiceYamlOptions): string {
  return `
cluster_id: ${options.clusterId}
autoscaler:
${options.autoscaler}
events: { topic_prefix: "${options.prefix}", group_prefix: "${options.prefix}", partitions: ${options.partitions ?? 3} }
${serversYaml(stack, options.servers)}
telemetry: { log_level: ${options.logLevel ?? 'warn'} }
shutdown_timeout_seconds: 10
`;
}

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

/** Options of {@link poolServiceYaml}. */
export interface PoolServiceYamlOptions
  extends Omit<ServiceYamlOptions, 'clusterId' | 'prefix' | 'autoscaler'> {
  /** The pool's keys besides its name: provider, min, max, provider_options, ... */
  pool: Record<string, unknown>;
  /** The other keys of the `autoscaler` section: sensing, enforcement, ... */
  autoscaler?: Record<string, unknown>;
}

/**
 * The {@link serviceYaml} of a test with one pool of its own, `name`, which is also the
 * cluster id and, with a `.`, the topic and group prefix. The pool and the other autoscaler
 * keys are written as JSON, which YAML reads.
 */
export function poolServiceYaml(
  stack: StackEndpoints,
  name: string,
  options: PoolServiceYamlOptions,
): string {
  const { pool, autoscaler = {}, ...rest } = options;
  const section = { pools: [{ name, ...pool }], ...autoscaler };
  return serviceYaml(stack, {
    ...rest,
    clusterId: name,
    prefix: `${name}.`,
    autoscaler: Object.entries(section)
      .map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`)
      .join('\n'),
  });
}

/**
 * The keys of a pods pool (min 0, max 10) whose worker pods, busybox, go to the namespace of
 * the pool's name; with `host`, onto that node only and deleted as soon as they completed.
 * `providerOptions` adds to the provider options or replaces some.
 */
export function podsPool(
  name: string,
  host?: string,
  providerOptions: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    provider: 'pods',
    min: 0,
    max: 10,
    provider_options: {
      namespace: name,
      image: 'busybox:1.36',
      ...(host
        ? {
            node_selector: { 'kubernetes.io/hostname': host },
            cleanup: { succeeded_after_seconds: 0, failed_after_seconds: 0 },
          }
        : {}),
      ...providerOptions,
    },
  };
}

/** The configuration mapped onto the clients' own option types. */
import { type TopicKey, topicKeys } from '@scalewise/events';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { LoadedConfig } from './load.ts';
import type { Config } from './schema.ts';

/**
 * kafkajs options: brokers, timeouts, TLS (CA, client certificate and key read at load) and
 * SASL PLAIN or SCRAM-SHA-256/512, as `kafka.security` says; a password from a file is read
 * again at each authentication ({@link LoadedConfig.secret}).
 */
export function kafkaClientConfig(loaded: LoadedConfig, clientId: string): KafkaConfig {
  const { kafka } = loaded.config;
  const sec = kafka.security;
  const out: KafkaConfig = {
    clientId: kafka.client_id ?? clientId,
    brokers: kafka.brokers,
    connectionTimeout: kafka.connection_timeout_ms,
    requestTimeout: kafka.request_timeout_ms,
    retry: { initialRetryTime: 100, maxRetryTime: kafka.retry_backoff_max_ms },
  };
  if (sec.protocol === 'SSL' || sec.protocol === 'SASL_SSL') {
    const { ca, cert, key } = loaded.kafkaTls;
    out.ssl = {
      rejectUnauthorized: sec.reject_unauthorized,
      ...(ca ? { ca: [ca] } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    };
  }
  if ((sec.protocol === 'SASL_PLAINTEXT' || sec.protocol === 'SASL_SSL') && sec.mechanism) {
    const username = sec.username ?? '';
    const mechanism =
      sec.mechanism === 'PLAIN'
        ? 'plain'
        : sec.mechanism === 'SCRAM-SHA-256'
          ? 'scram-sha-256'
          : 'scram-sha-512';
    // kafkajs reads the password on each authentication (every new connection): from a
    // password file, it is read again then, so a corrected or rotated file needs no restart.
    out.sasl = {
      mechanism,
      username,
      get password() {
        return loaded.secret?.('kafka.security.password') ?? sec.password ?? '';
      },
    } as SASLOptions;
  }
  return out;
}

/** The Kafka topic of every topic key: `events.topics.<key>` when set, else prefix + key. */
export function topicNames(config: Config): Record<TopicKey, string> {
  const names = {} as Record<TopicKey, string>;
  for (const k of topicKeys) names[k] = config.events.topics[k] ?? `${config.events.topic_prefix}${k}`;
  return names;
}

/**
 * The Kafka consumer group a member joins: `events.group_prefix` + the member's name. The one
 * rule for group names: the services (`<service>`, alert-manager's `alert-manager-notify` and
 * per-replica `alert-manager-stream-<replica>`), the CLI's `cli-tail-<id>`, and whatever reads
 * a group's lag from outside (KEDA's ScaledObjects, e2e/src/keda.int.test.ts) derive it here.
 */
export function consumerGroupId(config: Pick<Config, 'events'>, member: string): string {
  return `${config.events.group_prefix}${member}`;
}

/**
 * Options of the S3 client and the dead-letter bucket; with the loaded config, the CA of an
 * https endpoint (`s3.ca_file`) too.
 */
export function s3ClientConfig(from: Config | LoadedConfig): {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  /** PEM of the CA(s) trusted for an https endpoint. */
  ca?: string;
} {
  const loaded = 'config' in from ? from : undefined;
  const s3 = (loaded?.config ?? (from as Config)).s3;
  const ca = loaded?.s3Tls.ca;
  return {
    region: s3.region,
    bucket: s3.bucket,
    forcePathStyle: s3.force_path_style,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    ...(s3.access_key_id ? { accessKeyId: s3.access_key_id } : {}),
    ...(s3.secret_access_key ? { secretAccessKey: s3.secret_access_key } : {}),
    ...(ca ? { ca } : {}),
  };
}

/** The Redis client's URL and options: AUTH (user and password) and the CA of a `rediss://` server. */
export interface RedisClientConfig {
  url: string;
  username?: string;
  password?: string;
  /** Set for `rediss://`: TLS, trusting `ca` when given (else Node's roots). */
  tls?: { ca?: string };
}

/** ioredis' URL and options as `redis` says (passwords from files are read at load). */
export function redisClientConfig(loaded: LoadedConfig): RedisClientConfig {
  const r = loaded.config.redis;
  const ca = loaded.redisTls.ca;
  return {
    url: r.url,
    ...(r.username ? { username: r.username } : {}),
    ...(r.password ? { password: r.password } : {}),
    ...(r.url.startsWith('rediss:') ? { tls: ca ? { ca } : {} } : {}),
  };
}

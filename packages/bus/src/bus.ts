/**
 * The composition the services use: one Kafka client, an idempotent producer, breakers
 * around the producer, S3 and Redis, the dead-letter store and the idempotency store, and
 * subscribers built on them.
 */
import { ScalewiseError } from '@scalewise/errors';
import { type EventType, type TopicKey, topicKeys, topicName } from '@scalewise/events';
import { Redis } from 'ioredis';
import { Kafka, type KafkaConfig, logLevel, Partitioners } from 'kafkajs';
import { type Breaker, type BreakerOptions, createBreaker } from './breaker.ts';
import { createS3DeadLetterStore, type DeadLetterStore } from './dlq.ts';
import { createRedisIdempotency, type IdempotencyStore } from './idempotency.ts';
import { describeKafkaError, kafkaAccessProblem } from './kafka-errors.ts';
import { type BreakerState, type BusMetrics, noopBusMetrics } from './metrics.ts';
import { createPublisher, type Publisher } from './publisher.ts';
import { describeRedisError } from './redis-errors.ts';
import type { RetryPolicy } from './retry.ts';
import { createS3Client, type S3Api } from './s3.ts';
import {
  type BusLogger,
  createSubscriber,
  type HandlerRegistry,
  type Subscriber,
  silentLogger,
} from './subscriber.ts';
import { ensureTopics } from './topics.ts';

export interface BusConfig {
  service: string;
  clusterid: string;
  /** kafkajs client options (brokers, ssl, sasl, ...). */
  kafka: KafkaConfig;
  /** A `rediss://` URL connects over TLS, trusting `tls.ca` when given. */
  redis: {
    url: string;
    username?: string;
    password?: string;
    tls?: { ca?: string };
    /** The password now (a password file read again): asked before each (re)connection. */
    readPassword?: () => string | undefined;
  };
  s3: {
    endpoint?: string;
    region: string;
    bucket: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    forcePathStyle?: boolean;
    /** PEM of the CA(s) trusted for an https endpoint. */
    ca?: string;
    /** The keys now (a secret file read again), asked for each request; instead of the static keys. */
    credentials?: () => Promise<{ accessKeyId: string; secretAccessKey: string }>;
  };
  /** @default 'scalewise.' */
  topicPrefix?: string;
  /** Full names of single topics, overriding prefix + key (config `events.topics`). */
  topicNames?: Partial<Record<TopicKey, string>>;
  /** Partitions of topics the bus creates. @default 6 */
  partitions?: number;
  /** Replicas of topics the bus creates. @default the broker's default.replication.factor */
  replicationFactor?: number;
  breakers?: BreakerOptions;
  retry?: RetryPolicy;
  metrics?: BusMetrics;
  logger?: BusLogger;
  onBreakerState?: (name: string, state: BreakerState) => void;
  /**
   * Every subscriber's group membership: kafkajs session timeout and heartbeat (how soon a
   * dead member's partitions move) and the static instance id (the pod name), if any.
   */
  membership?: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number; groupInstanceId?: string };
}

export interface Bus {
  kafka: Kafka;
  publisher: Publisher;
  dlq: DeadLetterStore;
  idempotency: IdempotencyStore;
  redis: Redis;
  s3: S3Api;
  breakers: { producer: Breaker; s3: Breaker; redis: Breaker };
  /**
   * Why the Redis connection is not ready, in words (refused credentials, an untrusted
   * certificate, a refused connection), from the client's last error; undefined once ready.
   */
  redisProblem(): string | undefined;
  /**
   * Connects the producer, creates missing topics and the DLQ bucket. May be called again after
   * it failed: the producer is disconnected on failure, the Redis connection kept (ioredis
   * reconnects on its own).
   * @throws ScalewiseError DEPENDENCY_UNAVAILABLE naming the brokers and the cause; not
   * retriable (`details.problem`) when Kafka refused the credentials, the certificate or an ACL.
   */
  start(): Promise<void>;
  subscribe<T extends EventType>(options: {
    groupId: string;
    handlers: HandlerRegistry<T>;
    topics?: readonly TopicKey[];
    fromBeginning?: boolean;
    /** Whether this service dead-letters an undecodable record of a topic. @default every topic */
    ownsTopic?: (topic: TopicKey) => boolean;
    /** A handler failing on a dependency: pause the partition, or dead-letter. @default 'pause' */
    handlerDependencyFailures?: 'pause' | 'dead-letter';
  }): Subscriber;
  /** Why subscribers stopped for good (fenced by a replica under the same instance id). */
  failures(): string[];
  /** Stops the subscribers (draining), flushes and disconnects everything. */
  stop(deadlineMs?: number): Promise<void>;
}

export function createBus(config: BusConfig): Bus {
  const metrics = config.metrics ?? noopBusMetrics;
  const logger = config.logger ?? silentLogger;
  const kafka = new Kafka({ logLevel: logLevel.WARN, ...config.kafka });
  const breakers = {
    producer: createBreaker('kafka-producer', config.breakers, metrics, config.onBreakerState),
    s3: createBreaker('s3', config.breakers, metrics, config.onBreakerState),
    redis: createBreaker('redis', config.breakers, metrics, config.onBreakerState),
  };
  // Idempotent producer: Kafka deduplicates retried sends per partition (acks=all required).
  const newProducer = () =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // kafkajs' default (murmur2, as Java's), named so that kafkajs does not warn about it.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  let producer = newProducer();
  const publisher = createPublisher({
    producer,
    // After a broker crash the idempotent session may be gone on the broker's side.
    renewProducer: async (old) => {
      await old.disconnect().catch(() => undefined);
      producer = newProducer();
      await producer.connect();
      return producer;
    },
    breaker: breakers.producer,
    topicPrefix: config.topicPrefix ?? 'scalewise.',
    topicNames: config.topicNames ?? {},
    metrics,
  });
  const s3 = createS3Client({
    region: config.s3.region,
    forcePathStyle: config.s3.forcePathStyle ?? true,
    ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}),
    ...(config.s3.ca ? { ca: config.s3.ca } : {}),
    ...(config.s3.credentials
      ? { credentials: config.s3.credentials }
      : config.s3.accessKeyId && config.s3.secretAccessKey
        ? { accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey }
        : {}),
  });
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    ...(config.redis.username ? { username: config.redis.username } : {}),
    ...(config.redis.password ? { password: config.redis.password } : {}),
    ...(config.redis.tls ? { tls: config.redis.tls } : {}),
  });
  // Reported through the breaker and /readyz (redisProblem), not as an unhandled event.
  let redisError: unknown;
  redis.on('error', (err) => {
    redisError = err;
  });
  redis.on('ready', () => {
    redisError = undefined;
  });
  // ioredis reads its options' password on each connection: a password file read again
  // before each makes a corrected or rotated file work without a restart.
  const refreshRedisPassword = () => {
    const password = config.redis.readPassword?.();
    if (password !== undefined) redis.options.password = password;
  };
  redis.on('reconnecting', refreshRedisPassword);
  const dlq = createS3DeadLetterStore(s3, config.s3.bucket, breakers.s3);
  const idempotency = createRedisIdempotency(redis, breakers.redis);
  const subscribers: Subscriber[] = [];

  return {
    kafka,
    publisher,
    dlq,
    idempotency,
    redis,
    s3,
    breakers,
    redisProblem: () =>
      redis.status === 'ready'
        ? undefined
        : `redis connection is ${redis.status}${redisError ? `: ${describeRedisError(redisError)}` : ''}`,
    async start() {
      // Called again after a failed start: ioredis keeps reconnecting on its own meanwhile, and
      // a second connect() would open a second connection.
      if (redis.status === 'wait' || redis.status === 'end') {
        refreshRedisPassword();
        await redis.connect().catch((err: Error) =>
          // ioredis rejects with "Connection is closed"; the reason is in its last error event.
          logger.warn({ err: describeRedisError(redisError ?? err) }, 'Redis not reachable yet'),
        );
      }
      try {
        const admin = kafka.admin();
        try {
          await admin.connect();
          await ensureTopics(admin, {
            prefix: config.topicPrefix ?? 'scalewise.',
            names: config.topicNames ?? {},
            partitions: config.partitions ?? 6,
            ...(config.replicationFactor !== undefined
              ? { replicationFactor: config.replicationFactor }
              : {}),
          });
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
        await producer.connect();
      } catch (err) {
        // Nothing of a failed start stays connected: a later start() begins afresh.
        await producer.disconnect().catch(() => undefined);
        const problem = kafkaAccessProblem(err);
        if (!problem && err instanceof ScalewiseError) throw err;
        const topics = topicKeys.map((k) =>
          topicName(k, config.topicPrefix ?? 'scalewise.', config.topicNames),
        );
        throw new ScalewiseError(
          'DEPENDENCY_UNAVAILABLE',
          `Kafka ${Array.isArray(config.kafka.brokers) ? config.kafka.brokers.join(',') : '(brokers from a function)'}: ${describeKafkaError(err, { topics })}`,
          { cause: err, ...(problem ? { retriable: false, details: { problem } } : {}) },
        );
      }
      try {
        await dlq.ensureBucket();
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        throw err;
      }
    },
    subscribe(options) {
      const s = createSubscriber({
        kafka,
        groupId: options.groupId,
        service: config.service,
        clusterid: config.clusterid,
        handlers: options.handlers,
        publisher,
        dlq,
        idempotency,
        topicPrefix: config.topicPrefix ?? 'scalewise.',
        topicNames: config.topicNames ?? {},
        ...(options.topics ? { topics: options.topics } : {}),
        ...(options.fromBeginning !== undefined ? { fromBeginning: options.fromBeginning } : {}),
        ...(options.ownsTopic ? { ownsTopic: options.ownsTopic } : {}),
        ...(options.handlerDependencyFailures
          ? { handlerDependencyFailures: options.handlerDependencyFailures }
          : {}),
        ...config.membership,
        ...(config.retry ? { retry: config.retry } : {}),
        metrics,
        logger,
      });
      subscribers.push(s);
      return {
        ...s,
        // One stopped by its owner (a service's start that failed) is the bus's no longer.
        async stop(deadlineMs?: number) {
          const i = subscribers.indexOf(s);
          if (i >= 0) subscribers.splice(i, 1);
          await s.stop(deadlineMs);
        },
      };
    },
    failures: () => subscribers.flatMap((s) => s.failure() ?? []),
    async stop(deadlineMs = 30_000) {
      await Promise.all([...subscribers].map((s) => s.stop(deadlineMs)));
      await publisher.flush().catch(() => undefined);
      await producer.disconnect();
      redis.disconnect();
      s3.destroy();
      for (const b of Object.values(breakers)) b.shutdown();
    },
  };
}

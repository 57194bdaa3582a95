/**
 * The composition root every service uses: config, telemetry, the bus, the HTTP surface and
 * their order of starting and stopping. `createService` builds and wires (tests use it);
 * `runService` adds the process: listening, starting (a start that fails on a dependency is
 * tried again in the process, not ready meanwhile), SIGTERM/SIGINT draining within the
 * configured deadline, and exiting non-zero on an uncaught error rather than limping on.
 */

import {
  type BreakerOptions,
  type BreakerState,
  type Bus,
  type BusConfig,
  createBus,
  type HandlerRegistry,
  type RetryPolicy,
} from '@scalewise/bus';
import {
  type Config,
  kafkaClientConfig,
  type LoadedConfig,
  loadConfig,
  redisClientConfig,
  s3ClientConfig,
} from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { auditEvent, type EventType, type TopicKey } from '@scalewise/events';
import {
  createTelemetry,
  kafkajsLogCreator,
  type Logger,
  type Telemetry,
  type TelemetryOptions,
} from '@scalewise/telemetry';
import type { FastifyInstance } from 'fastify';
import { type KafkaConfig, logLevel } from 'kafkajs';
import { buildApp, type ReadinessCheck } from './app.ts';
import { createTokenStore } from './auth.ts';
import { breakerReporter } from './breaker-events.ts';
import { kafkaCheck } from './checks.ts';
import { Lifecycle } from './lifecycle.ts';
import { installSourceMappedStacks } from './source-stacks.ts';
import { startFailureKind, startWithRetry } from './start-retry.ts';

export interface ServiceContext {
  name: string;
  config: Config;
  loaded: LoadedConfig;
  telemetry: Telemetry;
  bus: Bus;
  /**
   * Reports a breaker's new state as the kit does for its own (a log line and a
   * CircuitBreakerStateChanged event): for breakers a service makes around other dependencies.
   */
  onBreakerState(breaker: string, state: BreakerState): void;
}

/** The breakers' settings of `events.breaker`, for the bus and any breaker a service makes. */
export function breakerOptionsOf(config: Config): BreakerOptions {
  return {
    errorThresholdPercentage: config.events.breaker.error_threshold_percent,
    resetTimeoutMs: config.events.breaker.reset_timeout_ms,
    timeoutMs: config.events.breaker.call_timeout_ms,
  };
}

/** The retry policy of `events.retry`. */
export function retryPolicyOf(config: Config): RetryPolicy {
  return {
    maxAttempts: config.events.retry.attempts,
    baseMs: config.events.retry.initial_ms,
    maxMs: config.events.retry.max_ms,
  };
}

export interface ServiceDefinition<T extends EventType = EventType> {
  name: string;
  version?: string;
  /** The loaded config; when absent it is loaded from SCALEWISE_CONFIG and the environment. */
  config?: LoadedConfig;
  /** The events this service consumes, one handler per type. */
  handlers?: (ctx: ServiceContext) => HandlerRegistry<T>;
  /** Consumer group. @default `consumerGroupId(config, name)`: `${events.group_prefix}${name}` */
  groupId?: string;
  /** Topics to consume. @default the topics of the handled types */
  topics?: readonly TopicKey[];
  fromBeginning?: boolean;
  /** The service's own REST routes. */
  routes?: (app: FastifyInstance, ctx: ServiceContext) => void | Promise<void>;
  /** Readiness checks besides Kafka, Redis and S3 (the Kubernetes API, ...). */
  checks?: (ctx: ServiceContext) => ReadinessCheck[];
  /**
   * The service's own job does not need Redis: what waits while it is down (the service is
   * then degraded, not unready). @default Redis is needed
   */
  redisDegrades?: string;
  /** Runs after the bus started, before listening (load state, start watches and timers). */
  onStart?: (ctx: ServiceContext) => Promise<void>;
  /** Runs first on shutdown (stop timers and watches). */
  onStop?: (ctx: ServiceContext) => Promise<void>;
  /** Test hooks: extra span processors, log destination. */
  telemetry?: Pick<TelemetryOptions, 'spanProcessors' | 'logDestination'>;
}

export interface Service extends ServiceContext {
  app: FastifyInstance;
  /**
   * Starts the bus, the consumer (when there are handlers) and `onStart`. Does not listen.
   * Until it has succeeded /readyz fails its `start` check with the last failure. May be called
   * again after it failed, while `resumable`: it goes on where it stopped, with nothing of the
   * failed attempt left running (the bus disconnects, a consumer that did not join is stopped
   * and made anew); a second call after success does nothing.
   */
  start(): Promise<void>;
  /** False once `onStart` failed: it is not run twice in one process (it need not be idempotent). */
  readonly resumable: boolean;
  /** Listens on http.host:http.port; returns the address. */
  listen(): Promise<string>;
  /** Drains: /readyz turns 503, the consumer finishes its record, everything closes. */
  stop(): Promise<void>;
  readonly draining: boolean;
}

export async function createService<T extends EventType>(def: ServiceDefinition<T>): Promise<Service> {
  const loaded = def.config ?? loadConfig();
  const { config, httpTokens } = loaded;
  // A client's configuration (loaded with httpTokens: false) would make a service with no token.
  if (!httpTokens) {
    throw new ScalewiseError(
      'INVALID_CONFIG',
      `${def.name}: the configuration was loaded without its HTTP tokens (httpTokens: false); a service needs them`,
    );
  }
  const telemetry = createTelemetry({
    service: def.name,
    ...(def.version ? { version: def.version } : {}),
    config: config.telemetry,
    logBase: { cluster_id: config.cluster_id },
    ...def.telemetry,
  });
  const kafkaConfig: KafkaConfig = {
    ...kafkaClientConfig(loaded, def.name),
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(telemetry.logger),
  };
  const breakers = breakerReporter(def.name, config.cluster_id, telemetry.logger);
  const { onBreakerState } = breakers;
  const bus = createBus(busOptionsOf(def.name, loaded, kafkaConfig, telemetry, onBreakerState));
  breakers.publishWith(bus.publisher);
  const ctx: ServiceContext = { name: def.name, config, loaded, telemetry, bus, onBreakerState };
  const kafkaReady = kafkaCheck(kafkaConfig);
  const lifecycle = new Lifecycle(def, ctx, kafkaReady, config.s3.bucket);
  const source = `/scalewise/${config.cluster_id}/${def.name}`;
  const app = await buildApp({
    service: def.name,
    ...(def.version ? { version: def.version } : {}),
    logger: telemetry.logger,
    metrics: telemetry.metrics,
    checks: lifecycle.checks,
    draining: () => lifecycle.draining,
    tokens: createTokenStore(httpTokens, { log: telemetry.logger }),
    metricsAuth: config.http.metrics_auth,
    // Acknowledged by Kafka before the response goes out (auth.ts).
    audit: async (record) => {
      await bus.publisher.publish(auditEvent(record, { source, clusterid: config.cluster_id }));
    },
    ...(def.routes ? { routes: (a: FastifyInstance) => def.routes?.(a, ctx) } : {}),
  });
  return {
    ...ctx,
    app,
    get draining() {
      return lifecycle.draining;
    },
    get resumable() {
      return lifecycle.resumable;
    },
    start: () => lifecycle.start(),
    async listen() {
      const address = await app.listen({ host: config.http.host, port: config.http.port });
      telemetry.logger.info({ address }, 'listening');
      return address;
    },
    stop: () => lifecycle.stop(app),
  };
}

/** The bus of service `service` as the configuration says: Kafka, Redis, S3, topics, breakers, retry. */
function busOptionsOf(
  service: string,
  loaded: LoadedConfig,
  kafka: KafkaConfig,
  telemetry: Telemetry,
  onBreakerState: BusConfig['onBreakerState'],
): BusConfig {
  const { config } = loaded;
  const s3 = s3ClientConfig(loaded);
  // Secrets given as files are read again at each connection (Kafka: kafkaClientConfig).
  const s3KeyId = s3.accessKeyId;
  const s3Credentials =
    s3KeyId && loaded.secret?.('s3.secret_access_key') !== undefined
      ? async () => ({
          accessKeyId: s3KeyId,
          secretAccessKey: loaded.secret?.('s3.secret_access_key') ?? s3.secretAccessKey ?? '',
        })
      : undefined;
  return {
    onBreakerState,
    service,
    clusterid: config.cluster_id,
    kafka,
    redis: {
      ...redisClientConfig(loaded),
      readPassword: () => loaded.secret?.('redis.password'),
    },
    s3: { ...s3, ...(s3Credentials ? { credentials: s3Credentials } : {}) },
    topicPrefix: config.events.topic_prefix,
    topicNames: config.events.topics,
    partitions: config.events.partitions,
    ...(config.events.replication_factor !== undefined
      ? { replicationFactor: config.events.replication_factor }
      : {}),
    breakers: breakerOptionsOf(config),
    retry: retryPolicyOf(config),
    membership: {
      sessionTimeoutMs: config.events.session_timeout_ms,
      heartbeatIntervalMs: config.events.heartbeat_interval_ms,
      ...(config.events.group_instance_id ? { groupInstanceId: config.events.group_instance_id } : {}),
    },
    metrics: telemetry.metrics.bus,
    logger: telemetry.logger,
  };
}

/** Exit codes: 0 drained cleanly; 1 failed or exceeded the drain deadline; 78 bad config (EX_CONFIG). */
export const exitCodes = { ok: 0, failed: 1, config: 78 } as const;

/**
 * Runs a service as the process: loads the config (a bad one is printed in full, exit 78),
 * listens (the probes answer from then on), starts, and drains on SIGTERM/SIGINT within
 * `shutdown_timeout_seconds`. A start that fails on a dependency (refused credentials or
 * certificate, a missing ACL, a server down) is tried again with backoff (`start_retry`) while
 * /readyz answers 503 naming the cause; one that fails on the configuration exits 78, on
 * anything else 1.
 */
export async function runService<T extends EventType>(def: ServiceDefinition<T>): Promise<Service> {
  installSourceMappedStacks();
  let loaded: LoadedConfig;
  try {
    loaded = def.config ?? loadConfig();
  } catch (err) {
    if (err instanceof ScalewiseError && err.code === 'INVALID_CONFIG') {
      process.stderr.write(`${def.name}: ${err.message}\n`);
      process.exit(exitCodes.config);
    }
    throw err;
  }
  const service = await createService({ ...def, config: loaded });
  const log = service.telemetry.logger;
  exitOnCrash(log);
  const stopping = drainOnSignals(service, loaded.config.shutdown_timeout_seconds);
  try {
    await service.listen();
    const { initial_ms, max_ms } = loaded.config.start_retry;
    await startWithRetry(() => service.start(), {
      initialMs: initial_ms,
      maxMs: max_ms,
      log,
      signal: stopping,
      resumable: () => service.resumable,
    });
  } catch (err) {
    log.fatal({ err }, 'start failed');
    await service.stop().catch(() => undefined);
    process.exit(startFailureKind(err) === 'config' ? exitCodes.config : exitCodes.failed);
  }
  return service;
}

/** An uncaught error ends the process (exit 1) rather than leaving it limping on. */
function exitOnCrash(log: Logger): void {
  const die = (kind: string) => (err: unknown) => {
    log.fatal({ err }, `${kind}: exiting`);
    process.exitCode = exitCodes.failed;
    // Give the logger a moment to flush; do not wait for a drain that may hang on the broken state.
    setTimeout(() => process.exit(exitCodes.failed), 200).unref();
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled rejection'));
}

/**
 * SIGTERM or SIGINT drains the service within `deadlineSeconds` and exits (0 drained, 1 not);
 * a second signal exits at once. The signal returned is aborted on the first, to end a start
 * still being retried.
 */
function drainOnSignals(service: Service, deadlineSeconds: number): AbortSignal {
  const log = service.telemetry.logger;
  const shutdown = (signal: string) => {
    if (service.draining) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(exitCodes.failed);
    }
    log.info({ signal }, 'draining');
    const deadline = setTimeout(() => {
      log.error({ seconds: deadlineSeconds }, 'drain deadline exceeded: exiting');
      process.exit(exitCodes.failed);
    }, deadlineSeconds * 1000);
    deadline.unref();
    service.stop().then(
      () => process.exit(exitCodes.ok),
      (err) => {
        log.error({ err }, 'drain failed');
        process.exit(exitCodes.failed);
      },
    );
  };
  const stopping = new AbortController();
  process.once('SIGTERM', () => {
    stopping.abort();
    shutdown('SIGTERM');
  });
  process.once('SIGINT', () => {
    stopping.abort();
    shutdown('SIGINT');
  });
  return stopping.signal;
}

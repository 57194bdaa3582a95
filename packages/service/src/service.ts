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
  createBus,
  deadLetterOwners,
  type HandlerRegistry,
  type RetryPolicy,
  type Subscriber,
} from '@scalewise/bus';
import {
  type Config,
  consumerGroupId,
  kafkaClientConfig,
  type LoadedConfig,
  loadConfig,
  redisClientConfig,
  s3ClientConfig,
} from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { auditEvent, createEvent, type EventType, type TopicKey } from '@scalewise/events';
import {
  createTelemetry,
  kafkajsLogCreator,
  type Telemetry,
  type TelemetryOptions,
} from '@scalewise/telemetry';
import type { FastifyInstance } from 'fastify';
import { type KafkaConfig, logLevel } from 'kafkajs';
import { buildApp, type ReadinessCheck, runChecks } from './app.ts';
import { createTokenStore } from './auth.ts';
import { kafkaCheck, redisCheck, s3Check } from './checks.ts';
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
  // Breaker state is a metric (the bus records it) and an event (DESIGN.md section 6), which
  // alert-manager turns into a notification when one opens. Published without waiting; when the
  // broken dependency is Kafka itself the event cannot go out, and the metric and log remain.
  const breakerStates = new Map<string, BreakerState>();
  const onBreakerState = (breaker: string, state: BreakerState) => {
    const previous = breakerStates.get(breaker) ?? 'closed';
    breakerStates.set(breaker, state);
    if (previous === state) return;
    telemetry.logger.warn({ breaker, state, previous }, 'circuit breaker changed state');
    const event = createEvent(
      'io.scalewise.CircuitBreakerStateChanged',
      { service: def.name, breaker, state, previous, changed_at: new Date().toISOString() },
      {
        source: `/scalewise/${config.cluster_id}/${def.name}`,
        clusterid: config.cluster_id,
        partitionkey: def.name,
        severity: state === 'open' ? 'critical' : state === 'half_open' ? 'warning' : 'info',
      },
    );
    bus.publisher.publish(event).catch((err) => {
      telemetry.logger.warn({ err, breaker, state }, 'could not publish the breaker change');
    });
  };
  const bus = createBus({
    onBreakerState,
    service: def.name,
    clusterid: config.cluster_id,
    kafka: kafkaConfig,
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
  });
  const ctx: ServiceContext = { name: def.name, config, loaded, telemetry, bus, onBreakerState };
  const kafkaReady = kafkaCheck(kafkaConfig);
  let started = false;
  /** Why the last start failed, until one succeeds. */
  let startProblem: string | undefined;
  const checks = [
    {
      // Until start() succeeded the service does not do its job, whatever the other checks say
      // (an S3 bucket refused at start only degrades them).
      name: 'start',
      async check() {
        if (!started) throw new Error(startProblem ? `start failed: ${startProblem}` : 'not started yet');
      },
    },
    kafkaReady,
    {
      // A consumer fenced by a replica under the same instance id has stopped for good.
      name: 'consumer',
      async check() {
        const why = bus.failures();
        if (why.length > 0) throw new Error(why.join('; '));
      },
    },
    redisCheck(bus.redis, def.redisDegrades, bus.redisProblem),
    // Through the S3 breaker once started only: before, the bucket may not exist yet (start
    // creates it), and the probes' 404s would hold the breaker open against that very start.
    s3Check(bus.s3, s3.bucket, {
      call: (fn) => (started ? bus.breakers.s3.call(fn) : fn()),
    }),
    ...(def.checks?.(ctx) ?? []),
  ];
  let draining = false;
  // The dependencies the service can work without are checked on their own every 10 s,
  // probed or not: the metric stays true, and an outage opens its breaker (an alert).
  let watch: NodeJS.Timeout | undefined;
  const watchDegrading = () => {
    if (watch) return;
    const degrading = checks.filter((c) => c.degrades);
    watch = setInterval(() => {
      void runChecks(degrading, 2000).then((results) => {
        for (const r of results) telemetry.metrics.dependencyUp(r.name, r.ok);
      });
    }, 10_000);
    watch.unref();
  };
  const tokens = createTokenStore(httpTokens, { log: telemetry.logger });
  const source = `/scalewise/${config.cluster_id}/${def.name}`;
  const app = await buildApp({
    service: def.name,
    ...(def.version ? { version: def.version } : {}),
    logger: telemetry.logger,
    metrics: telemetry.metrics,
    checks,
    draining: () => draining,
    tokens,
    metricsAuth: config.http.metrics_auth,
    // Acknowledged by Kafka before the response goes out (auth.ts).
    audit: async (record) => {
      await bus.publisher.publish(auditEvent(record, { source, clusterid: config.cluster_id }));
    },
    ...(def.routes ? { routes: (a: FastifyInstance) => def.routes?.(a, ctx) } : {}),
  });
  let subscriber: Subscriber | undefined;
  let stopped: Promise<void> | undefined;
  // How far start() got: a call after a failure goes on from there.
  let busStarted = false;
  let onStartRan = false;
  let onStartFailed = false;
  let handlers: HandlerRegistry<T> | undefined;
  const join = async () => {
    if (!def.handlers) return;
    handlers ??= def.handlers(ctx);
    subscriber ??= bus.subscribe({
      groupId: def.groupId ?? consumerGroupId(config, def.name),
      handlers,
      ...(def.topics ? { topics: def.topics } : {}),
      ...(def.fromBeginning !== undefined ? { fromBeginning: def.fromBeginning } : {}),
      ownsTopic: (topic) => deadLetterOwners[topic] === def.name,
    });
    const s = subscriber;
    try {
      await s.start();
    } catch (err) {
      // A consumer that did not join is not restarted: the next attempt makes a new one.
      subscriber = undefined;
      await s.stop(5000).catch(() => undefined);
      throw err;
    }
  };

  return {
    ...ctx,
    app,
    get draining() {
      return draining;
    },
    get resumable() {
      return !onStartFailed;
    },
    async start() {
      if (started) return;
      if (onStartFailed) {
        throw new ScalewiseError('INTERNAL', `${def.name}: onStart failed before; it is not run twice`);
      }
      try {
        if (!busStarted) {
          await bus.start();
          busStarted = true;
        }
        watchDegrading();
        // The service's own work (min-enforcer's floor checks, the sensing, the syncs) starts
        // while the consumer joins its group: after a crash the join waits out the dead
        // member's session (events.session_timeout_ms), and the floor must not.
        const joining = join();
        joining.catch(() => undefined);
        if (!onStartRan) {
          onStartRan = true;
          try {
            await def.onStart?.(ctx);
          } catch (err) {
            onStartFailed = true;
            throw err;
          }
        }
        await joining;
      } catch (err) {
        startProblem = err instanceof Error ? err.message : String(err);
        throw err;
      }
      started = true;
      startProblem = undefined;
      telemetry.logger.info(
        { groupId: def.groupId, handlers: def.handlers !== undefined },
        'service started',
      );
    },
    async listen() {
      const address = await app.listen({ host: config.http.host, port: config.http.port });
      telemetry.logger.info({ address }, 'listening');
      return address;
    },
    stop() {
      stopped ??= (async () => {
        draining = true;
        const deadlineMs = config.shutdown_timeout_seconds * 1000;
        const errors: unknown[] = [];
        const step = async (what: string, fn: () => Promise<unknown>) => {
          try {
            await fn();
          } catch (err) {
            errors.push(err);
            telemetry.logger.error({ err, step: what }, 'shutdown step failed');
          }
        };
        if (watch) clearInterval(watch);
        await step('onStop', async () => def.onStop?.(ctx));
        // The bus drains its subscribers (the record in hand finishes and is committed).
        await step('bus', () => bus.stop(deadlineMs));
        await step('readiness', () => kafkaReady.close());
        await step('http', () => app.close());
        telemetry.logger.info({ errors: errors.length }, 'service stopped');
        await step('telemetry', () => telemetry.shutdown());
        if (errors.length > 0)
          throw new AggregateError(errors, `${def.name}: ${errors.length} shutdown step(s) failed`);
      })();
      return stopped;
    },
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
  const die = (kind: string) => (err: unknown) => {
    log.fatal({ err }, `${kind}: exiting`);
    process.exitCode = exitCodes.failed;
    // Give the logger a moment to flush; do not wait for a drain that may hang on the broken state.
    setTimeout(() => process.exit(exitCodes.failed), 200).unref();
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled rejection'));
  const shutdown = (signal: string) => {
    if (service.draining) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(exitCodes.failed);
    }
    log.info({ signal }, 'draining');
    const deadline = setTimeout(() => {
      log.error({ seconds: loaded.config.shutdown_timeout_seconds }, 'drain deadline exceeded: exiting');
      process.exit(exitCodes.failed);
    }, loaded.config.shutdown_timeout_seconds * 1000);
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
  try {
    await service.listen();
    const { initial_ms, max_ms } = loaded.config.start_retry;
    await startWithRetry(() => service.start(), {
      initialMs: initial_ms,
      maxMs: max_ms,
      log,
      signal: stopping.signal,
      resumable: () => service.resumable,
    });
  } catch (err) {
    log.fatal({ err }, 'start failed');
    await service.stop().catch(() => undefined);
    process.exit(startFailureKind(err) === 'config' ? exitCodes.config : exitCodes.failed);
  }
  return service;
}

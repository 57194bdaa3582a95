/**
 * What the commands are given: output streams, the environment, the configuration (loaded
 * when a command first asks), clients with short deadlines so an unreachable server is an
 * error in seconds rather than a hang, and the signal that ends `tail`.
 */
import {
  type AuditIdentity,
  cliActor,
  createBreaker,
  createS3Client,
  createS3DeadLetterStore,
  describeKafkaError,
  kafkaAccessProblem,
  kafkaAudit,
} from '@scalewise/bus';
import type { BusCliDeps, CliOutput } from '@scalewise/bus/cli';
import {
  kafkaClientConfig,
  type LoadedConfig,
  loadConfig,
  s3ClientConfig,
  topicNames,
} from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import type { TopicKey } from '@scalewise/events';
import { Kafka, logLevel } from 'kafkajs';
import { colourEnabled, type Palette, palette } from './colour.ts';

export interface Io {
  stdout: CliOutput;
  stderr: CliOutput;
  env: Record<string, string | undefined>;
  /** Aborted on SIGINT/SIGTERM: `tail` stops and exits 0. */
  signal: AbortSignal;
}

export interface Context extends Io {
  /** Colours for stdout. */
  colour: Palette;
  config(): LoadedConfig;
  kafka(): Kafka;
  /** Kafka topic names by key (prefix + key, or `events.topics`). */
  topics(): Record<TopicKey, string>;
  /** Deadline for reaching a server (Kafka connect, an HTTP call). */
  connectTimeoutMs: number;
  /** The `replay` and `dlq` commands' clients, with their audit. */
  busDeps(): BusCliDeps;
  /** Who the audit records name: `cli:<os user>@<host>`, and the SASL user when Kafka has one. */
  identity(): AuditIdentity;
}

/**
 * The configuration the CLI runs with when no file is given (neither --config nor
 * SCALEWISE_CONFIG): every default, with the environment overrides (KAFKA_BROKERS,
 * KAFKA_TOPIC_PREFIX, S3_*, ...) on top. The schema needs one pool; the CLI never reads it.
 */
export const builtInConfig = 'autoscaler:\n  pools:\n    - name: default\n';

/** @default 8000 ms; SCALEWISE_CLI_TIMEOUT_MS overrides. */
export function connectTimeout(env: Record<string, string | undefined>): number {
  const v = Number(env.SCALEWISE_CLI_TIMEOUT_MS);
  return Number.isInteger(v) && v > 0 ? v : 8000;
}

export function createContext(io: Io, options: { configPath?: string; noColour?: boolean }): Context {
  let loaded: LoadedConfig | undefined;
  const config = (): LoadedConfig => {
    if (!loaded) {
      const path = options.configPath ?? io.env.SCALEWISE_CONFIG;
      // The services' HTTP tokens are theirs: the CLI sends its own (--token, SCALEWISE_API_TOKEN).
      loaded = path
        ? loadConfig({ path, env: io.env, httpTokens: false })
        : loadConfig({ text: builtInConfig, env: io.env, httpTokens: false });
    }
    return loaded;
  };
  const timeout = connectTimeout(io.env);
  const kafka = () => {
    const base = kafkaClientConfig(config(), 'scalewise-cli');
    return new Kafka({
      ...base,
      logLevel: logLevel.NOTHING,
      connectionTimeout: Math.min(base.connectionTimeout ?? 3000, timeout),
      // Few, short retries: the CLI reports an unreachable broker instead of waiting it out.
      retry: { retries: 2, initialRetryTime: 250, maxRetryTime: 1000 },
    });
  };
  const identity = (): AuditIdentity => {
    const sec = config().config.kafka.security;
    const sasl = sec.protocol === 'SASL_SSL' || sec.protocol === 'SASL_PLAINTEXT';
    return { actor: cliActor(), ...(sasl && sec.username ? { principal: sec.username } : {}) };
  };
  const ctx: Context = {
    ...io,
    identity,
    colour: palette(!options.noColour && colourEnabled(io.stdout.isTTY, io.env)),
    config,
    kafka,
    topics: () => topicNames(config().config),
    connectTimeoutMs: timeout,
    busDeps: () => {
      const c = config().config;
      return {
        kafka,
        deadLetters: () => {
          // The bus's own client: the services' (s3.ca_file included); without static keys it
          // takes the AWS SDK's credential chain.
          const { bucket, ...s3 } = s3ClientConfig(config());
          const client = createS3Client({ ...s3, timeoutMs: timeout });
          return createS3DeadLetterStore(client, bucket, createBreaker('s3', { timeoutMs: timeout }));
        },
        topicPrefix: c.events.topic_prefix,
        topicNames: c.events.topics,
        stdout: io.stdout,
        stderr: io.stderr,
        audit: kafkaAudit({
          ...identity(),
          kafka,
          clusterid: c.cluster_id,
          topicPrefix: c.events.topic_prefix,
          topicNames: c.events.topics,
        }),
      };
    },
  };
  return ctx;
}

/**
 * Connects a kafkajs client (producer, consumer, admin) within the deadline.
 * @throws ScalewiseError DEPENDENCY_UNAVAILABLE naming the brokers and the cause.
 */
export async function connectKafka<C extends { connect(): Promise<void>; disconnect(): Promise<void> }>(
  client: C,
  brokers: readonly string[],
  timeoutMs: number,
): Promise<C> {
  try {
    await withDeadline(client.connect(), timeoutMs, `no answer within ${timeoutMs / 1000} s`);
    return client;
  } catch (err) {
    void client.disconnect().catch(() => undefined);
    throw new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `${kafkaAccessProblem(err) ? 'Kafka broker' : 'cannot reach Kafka broker'} ${brokers.join(',')}: ${describeKafkaError(err)}`,
      { cause: err, details: { brokers } },
    );
  }
}

/** The innermost readable message of an error chain (kafkajs wraps its network errors). */
export function causeOf(err: unknown): string {
  let e: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  for (let i = 0; i < 5 && e instanceof Error; i += 1) {
    if (e.message) message = e.message;
    e = (e as { originalError?: unknown }).originalError ?? e.cause;
  }
  return message;
}

/** Rejects with `message` when `p` does not settle within `ms`. */
export async function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

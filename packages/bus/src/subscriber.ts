/**
 * Consuming events (DESIGN.md section 6): a consumer group whose handlers are typed by the
 * event types they take, so a subscribed type without a handler is a compile error.
 *
 * Per record, in partition order:
 *   1. decode (fromKafkaMessage); a record that is not a valid event goes to the DLQ;
 *   2. skip types this service has no handler for (another service's), and events already
 *      processed (Redis);
 *   3. run the handler with bounded retries (backoff + jitter, heartbeats between); a
 *      non-retriable error or the last failed attempt sends the record to the DLQ;
 *   4. publish the handler's output events and wait for Kafka's acknowledgement;
 *   5. mark the event processed; only then does kafkajs commit the offset (eachMessage
 *      returning is what resolves it).
 * A dead letter is: the record stored in S3, then DeadLetterRecorded published, then the
 * commit. When a dependency is down (an open breaker, S3 or Redis or Kafka unreachable)
 * the partition pauses and the step is retried until it works or the service stops;
 * nothing is committed that was neither handled nor stored.
 */
import { errorCode, isRetriable, ScalewiseError } from '@scalewise/errors';
import {
  type AnyScalewiseEvent,
  createEvent,
  type EventType,
  eventTypesOfTopic,
  fromKafkaMessage,
  type ScalewiseEvent,
  type TopicKey,
  topicName,
  topicOf,
} from '@scalewise/events';
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import type { DeadLetter, DeadLetterStore } from './dlq.ts';
import type { IdempotencyStore } from './idempotency.ts';
import { type BusMetrics, noopBusMetrics } from './metrics.ts';
import type { Publisher } from './publisher.ts';
import { backoffMs, defaultRetryPolicy, type RetryPolicy, sleep as realSleep, withRetry } from './retry.ts';
import { inProcessSpan } from './tracing.ts';

export interface HandlerContext {
  topic: string;
  partition: number;
  offset: string;
  /** 1 for the first try. */
  attempt: number;
  /** Keeps the consumer in its group during long work. */
  heartbeat(): Promise<void>;
}

/** What a handler returns: the events its input caused (published before the commit). */
export type Outputs = readonly (ScalewiseEvent | AnyScalewiseEvent)[] | undefined | void;

export type Handler<T extends EventType> = (
  event: ScalewiseEvent<T>,
  ctx: HandlerContext,
) => Promise<Outputs> | Outputs;

/** One handler per consumed type; leaving one out is a type error. */
export type HandlerRegistry<T extends EventType> = { [K in T]: Handler<K> };

export interface BusLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: BusLogger = { info() {}, warn() {}, error() {} };

export interface SubscriberDeps<T extends EventType> {
  kafka: Kafka;
  groupId: string;
  /** The service's name, in dead letters and as the source of DeadLetterRecorded. */
  service: string;
  clusterid: string;
  handlers: HandlerRegistry<T>;
  publisher: Publisher;
  dlq: DeadLetterStore;
  idempotency: IdempotencyStore;
  /** @default 'scalewise.' */
  topicPrefix?: string;
  topicNames?: Partial<Record<TopicKey, string>>;
  /** Topics to read. @default the topics of the handled types */
  topics?: readonly TopicKey[];
  /** Read from the beginning when the group has no offsets. @default false */
  fromBeginning?: boolean;
  retry?: RetryPolicy;
  /** Backoff while a dependency is down. @default 200 ms to 10 s */
  pauseBackoff?: RetryPolicy;
  metrics?: BusMetrics;
  logger?: BusLogger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Passed to kafkajs. @default 30000 / 3000 */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

export interface Subscriber {
  start(): Promise<void>;
  /** Stops fetching, lets in-flight records finish, commits and disconnects, within `deadlineMs`. */
  stop(deadlineMs?: number): Promise<void>;
  /** Partitions paused because a dependency is down. */
  paused(): { topic: string; partition: number }[];
  readonly consumer: Consumer;
}

const infraCodes = new Set(['CIRCUIT_OPEN', 'DEPENDENCY_UNAVAILABLE', 'TIMEOUT']);

/** Whether an error means "a dependency is down" (pause and wait) rather than "this record is bad". */
export function isDependencyFailure(err: unknown): boolean {
  return err instanceof ScalewiseError && infraCodes.has(err.code);
}

export function createSubscriber<T extends EventType>(deps: SubscriberDeps<T>): Subscriber {
  const prefix = deps.topicPrefix ?? 'scalewise.';
  const metrics = deps.metrics ?? noopBusMetrics;
  const log = deps.logger ?? silentLogger;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  const retry = deps.retry ?? defaultRetryPolicy;
  const pauseBackoff = deps.pauseBackoff ?? {
    maxAttempts: Number.POSITIVE_INFINITY,
    baseMs: 200,
    maxMs: 10_000,
  };
  const handled = new Set<string>(Object.keys(deps.handlers));
  const topicKeys = deps.topics ?? [...new Set([...handled].map((t) => topicOf(t as EventType)))];
  const topics = topicKeys.map((k) => topicName(k, prefix, deps.topicNames));
  const pausedNow = new Map<string, { topic: string; partition: number }>();
  let stopping = false;

  const consumer = deps.kafka.consumer({
    groupId: deps.groupId,
    sessionTimeout: deps.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: deps.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeInMs: 100,
    retry: { retries: 10 },
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    const p = e.payload as { topic: string; partition: number; offsetLag: string };
    metrics.consumerLag(deps.groupId, p.topic, p.partition, Number(p.offsetLag));
  });

  /**
   * Runs `step` until it succeeds. While a dependency is down the partition is paused and
   * the step retried with backoff; a stop in the meantime aborts with SHUTTING_DOWN, so the
   * offset is not committed.
   */
  async function untilAvailable<R>(
    payload: EachMessagePayload,
    what: string,
    step: () => Promise<R>,
  ): Promise<R> {
    let resume: (() => void) | undefined;
    const key = `${payload.topic}/${payload.partition}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await step();
        if (resume) {
          resume();
          pausedNow.delete(key);
          log.info(
            { topic: payload.topic, partition: payload.partition, what },
            'dependency back, partition resumed',
          );
        }
        return r;
      } catch (err) {
        if (!isDependencyFailure(err)) throw err;
        if (!resume) {
          resume = payload.pause();
          pausedNow.set(key, { topic: payload.topic, partition: payload.partition });
          log.warn(
            {
              topic: payload.topic,
              partition: payload.partition,
              offset: payload.message.offset,
              what,
              err: (err as Error).message,
            },
            'dependency down, partition paused',
          );
        }
        if (stopping) {
          throw new ScalewiseError('SHUTTING_DOWN', `stopping while ${what} waits for a dependency`, {
            cause: err,
          });
        }
        await payload.heartbeat().catch(() => undefined);
        await sleep(Math.max(50, backoffMs(attempt, pauseBackoff, deps.random)));
      }
    }
  }

  async function deadLetter(
    payload: EachMessagePayload,
    err: unknown,
    attempts: number,
    firstFailure: number,
    event: AnyScalewiseEvent | undefined,
  ): Promise<void> {
    const { topic, partition, message } = payload;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) {
      if (v === undefined) continue;
      const one = Array.isArray(v) ? v[0] : v;
      if (one !== undefined) headers[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
    }
    const cause =
      err instanceof ScalewiseError && err.code === 'RETRIES_EXHAUSTED' && err.cause ? err.cause : err;
    const d: DeadLetter = {
      version: 1,
      service: deps.service,
      consumer_group: deps.groupId,
      topic,
      partition,
      offset: message.offset,
      record: {
        key: message.key ? message.key.toString('utf8') : null,
        value_base64: message.value ? message.value.toString('base64') : null,
        headers,
        timestamp: message.timestamp ?? null,
      },
      event_id: event?.id ?? headers.ce_id ?? null,
      event_type: event?.type ?? headers.ce_type ?? null,
      error: {
        code: errorCode(cause),
        message: cause instanceof Error ? cause.message : String(cause),
        stack: cause instanceof Error ? (cause.stack ?? null) : null,
        retriable: isRetriable(cause),
      },
      attempts,
      first_failure_at: new Date(firstFailure).toISOString(),
      last_failure_at: new Date(now()).toISOString(),
    };
    const key = await untilAvailable(payload, 'storing a dead letter', () => deps.dlq.put(d));
    const recorded = createEvent(
      'io.scalewise.DeadLetterRecorded',
      {
        bucket: deps.dlq.bucket,
        key,
        topic,
        partition,
        offset: message.offset,
        consumer_group: deps.groupId,
        service: deps.service,
        ...(d.event_id ? { event_id: d.event_id } : {}),
        ...(d.event_type ? { event_type: d.event_type } : {}),
        error_code: d.error.code,
        reason: d.error.message.slice(0, 2000),
        attempts,
      },
      {
        // The same record dead-lettered twice (a redelivery) gives the same event id.
        id: `dlq:${deps.groupId}:${topic}:${partition}:${message.offset}`,
        source: `/scalewise/${deps.service}`,
        clusterid: event?.clusterid ?? deps.clusterid,
        partitionkey: event?.partitionkey ?? (message.key ? message.key.toString('utf8') : topic),
        ...(event ? { correlationid: event.correlationid, causationid: event.id } : {}),
      },
    );
    await untilAvailable(payload, 'publishing DeadLetterRecorded', () => deps.publisher.publish(recorded));
    metrics.deadLettered(topic, d.error.code);
    log.warn(
      { topic, partition, offset: message.offset, key, code: d.error.code, attempts },
      'record dead-lettered',
    );
  }

  async function eachMessage(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message } = payload;
    const started = now();
    let event: AnyScalewiseEvent;
    try {
      event = fromKafkaMessage(message, { topic, partition, offset: message.offset });
    } catch (err) {
      await deadLetter(payload, err, 1, started, undefined);
      metrics.consumed(topic, 'unknown', (now() - started) / 1000, 'dead_lettered');
      return;
    }
    const handler = (deps.handlers as unknown as Record<string, Handler<EventType> | undefined>)[event.type];
    if (!handler) {
      metrics.consumed(topic, event.type, (now() - started) / 1000, 'ignored');
      return;
    }
    await inProcessSpan(
      event,
      { topic, partition, offset: message.offset, group: deps.groupId },
      async () => {
        const duplicate = await untilAvailable(payload, 'checking processed events', () =>
          deps.idempotency.seen(deps.groupId, event.source, event.id),
        );
        if (duplicate) {
          metrics.consumed(topic, event.type, (now() - started) / 1000, 'duplicate');
          return;
        }
        let outputs: Outputs;
        let attempts = 0;
        try {
          const r = await withRetry(
            async (attempt) => {
              attempts = attempt;
              return handler(event as ScalewiseEvent<EventType>, {
                topic,
                partition,
                offset: message.offset,
                attempt,
                heartbeat: payload.heartbeat,
              });
            },
            retry,
            {
              sleep,
              ...(deps.random ? { random: deps.random } : {}),
              beforeWait: async (attempt, waitMs, err) => {
                log.warn(
                  {
                    topic,
                    partition,
                    offset: message.offset,
                    type: event.type,
                    attempt,
                    waitMs,
                    err: (err as Error).message,
                  },
                  'handler failed, retrying',
                );
                await payload.heartbeat();
              },
            },
          );
          outputs = r.value;
        } catch (err) {
          await deadLetter(payload, err, Math.max(1, attempts), started, event);
          metrics.consumed(topic, event.type, (now() - started) / 1000, 'dead_lettered');
          return;
        }
        const out = [...(outputs ?? [])];
        if (out.length > 0)
          await untilAvailable(payload, 'publishing outputs', () => deps.publisher.publish(...out));
        await untilAvailable(payload, 'marking the event processed', () =>
          deps.idempotency.mark(deps.groupId, event.source, event.id),
        );
        metrics.consumed(topic, event.type, (now() - started) / 1000, 'handled');
      },
    );
  }

  return {
    consumer,
    async start() {
      for (const t of topicKeys) {
        const types = eventTypesOfTopic(t);
        if (types.length === 0) throw new ScalewiseError('INVALID_CONFIG', `unknown topic '${t}'`);
      }
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: deps.fromBeginning ?? false });
      await consumer.run({ autoCommit: true, eachMessage });
    },
    async stop(deadlineMs = 30_000) {
      stopping = true;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), deadlineMs);
      });
      const result = await Promise.race([consumer.disconnect().then(() => 'ok' as const), deadline]);
      if (timer) clearTimeout(timer);
      if (result === 'timeout') log.error({ deadlineMs }, 'consumer did not stop within the deadline');
    },
    paused: () => [...pausedNow.values()],
  };
}

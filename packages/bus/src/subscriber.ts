/**
 * Consuming events (DESIGN.md section 6): a consumer group whose handlers are typed by the
 * event types they take, so a subscribed type without a handler is a compile error.
 *
 * Per batch of one partition (kafkajs eachBatch), in partition order:
 *   1. decode every record (fromKafkaMessage); a record that is not a valid event goes to the
 *      DLQ if this service owns the topic's dead letters (`ownsTopic`), and is skipped
 *      (counted, logged) otherwise: one dead letter per record, whatever number of groups
 *      read the topic;
 *   2. skip types this service has no handler for (another service's), and events already
 *      processed: one pipelined Redis check for the whole batch, plus the batch's own;
 *   3. run each handler with bounded retries (backoff + jitter, heartbeats between); a
 *      non-retriable error or the last failed attempt sends the record to the DLQ;
 *   4. publish the handlers' output events together and wait for Kafka's acknowledgement;
 *   5. mark the events processed (one pipeline); only then is the offset of the last record
 *      resolved, and committed. Steps 4 and 5 also run within a batch once 500 outputs wait
 *      or the oldest has waited 50 ms, and before a record that must wait (below).
 * A dead letter is: the record stored in S3, then DeadLetterRecorded published, then the
 * commit.
 *
 * When a step cannot proceed because a dependency is down (an open breaker, S3 or Redis or
 * Kafka unreachable, a handler failing on one unless `handlerDependencyFailures` says to
 * dead-letter), that record's partition alone is paused:
 * the batch returns with the record unresolved, so nothing is committed past it, and the
 * partition is resumed after a backoff (200 ms doubling to 10 s), when the record is read
 * again and the step retried. Every other partition and topic goes on meanwhile: an S3
 * outage holds back only the records that need a dead letter.
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
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { DeadLetter, DeadLetterStore } from './dlq.ts';
import type { IdempotencyStore } from './idempotency.ts';
import { describeKafkaError, kafkaAccessProblem, kafkaRefused } from './kafka-errors.ts';
import { type BusMetrics, noopBusMetrics } from './metrics.ts';
import { activeTraceparent, type Publisher } from './publisher.ts';
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

/**
 * The registry that gives each of `types` the one `handler`, which takes any event of them (a
 * discriminated union over `type`). Its type is exactly the types listed: assigning it to a
 * `HandlerRegistry` of a type the list lacks, or passing a handler that takes fewer types, is
 * a compile error.
 */
export function handlersFor<T extends EventType>(
  types: readonly T[],
  // The types come from the list alone; the handler is checked against them.
  handler: (
    event: NoInfer<{ [K in T]: ScalewiseEvent<K> }[T]>,
    ctx: HandlerContext,
  ) => Promise<Outputs> | Outputs,
): HandlerRegistry<T> {
  const registry: Partial<Record<T, typeof handler>> = {};
  for (const t of types) registry[t] = handler;
  // Every listed type has the handler, and the handler takes every listed type's event.
  return registry as HandlerRegistry<T>;
}

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
  /**
   * Whether this service dead-letters an undecodable record of a topic (bus `deadLetterOwners`);
   * on the others it skips such a record. @default every topic
   */
  ownsTopic?: (topic: TopicKey) => boolean;
  /**
   * What a handler that kept failing on a dependency does: `pause` the partition until the
   * dependency is back (the record is not at fault), or `dead-letter` the record like any
   * other failure, for a consumer whose dependency is the record's own destination (a
   * notification sink) and must not hold back the records for everything else.
   * Dependencies of the bus itself (Redis, S3, Kafka) always pause. @default 'pause'
   */
  handlerDependencyFailures?: 'pause' | 'dead-letter';
  /** Partitions consumed at once (kafkajs `partitionsConsumedConcurrently`). @default 4 */
  concurrency?: number;
  retry?: RetryPolicy;
  /** Backoff while a dependency is down. @default 200 ms to 10 s */
  pauseBackoff?: RetryPolicy;
  /**
   * Backoff before starting again a consumer kafkajs gave up on for an error that is not a
   * refusal (an outage's): a random wait up to a ceiling doubling from `baseMs` to `maxMs`,
   * never under `baseMs`. @default 1 s to 30 s
   */
  restartBackoff?: Pick<RetryPolicy, 'baseMs' | 'maxMs'>;
  metrics?: BusMetrics;
  logger?: BusLogger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Passed to kafkajs: how soon a dead member's partitions move. @default 10000 / 1000 */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /**
   * Static membership (Kafka's `group.instance.id`, the pod name): restarted under the same
   * id, the consumer takes its partitions back at once. @default dynamic membership
   */
  groupInstanceId?: string;
}

export interface Subscriber {
  start(): Promise<void>;
  /** Stops fetching, lets in-flight records finish, commits and disconnects, within `deadlineMs`. */
  stop(deadlineMs?: number): Promise<void>;
  /** Partitions paused because a record of theirs waits for a dependency. */
  paused(): { topic: string; partition: number; offset: string; waiting: string; since: number }[];
  /**
   * Why the consumer stopped for good, if it did: another live consumer joined the group under
   * the same instance id (the older one is fenced and must not come back to fence the newer), or
   * Kafka refused it (credentials, certificate, a missing ACL on its group or topics), which a
   * restart would only repeat.
   */
  failure(): string | undefined;
  readonly consumer: Consumer;
}

/**
 * Kafka's FENCED_INSTANCE_ID (82): another member holds this static instance id now. kafkajs
 * re-wraps some errors with the message only (KafkaJSNonRetriableError without its cause),
 * so the broker's message counts as well as the type.
 */
export function isFenced(err: unknown): boolean {
  type Wrapped = { type?: string; message?: string; cause?: unknown; originalError?: unknown };
  let e = err as Wrapped | undefined;
  for (let depth = 0; e && depth < 8; depth += 1) {
    if (e.type === 'FENCED_INSTANCE_ID') return true;
    if (typeof e.message === 'string' && e.message.includes('same group instance id')) return true;
    e = (e.cause ?? e.originalError) as Wrapped | undefined;
  }
  return false;
}

const infraCodes = new Set(['CIRCUIT_OPEN', 'DEPENDENCY_UNAVAILABLE', 'TIMEOUT']);

/** Whether an error means "a dependency is down" (pause and wait) rather than "this record is bad". */
export function isDependencyFailure(err: unknown): boolean {
  if (!(err instanceof ScalewiseError)) return false;
  if (infraCodes.has(err.code)) return true;
  // A handler that kept failing on a dependency: the record is not at fault.
  return err.code === 'RETRIES_EXHAUSTED' && isDependencyFailure(err.cause);
}

/** Thrown inside a record's processing when a step must wait for a dependency. */
class Blocked extends Error {
  readonly what: string;
  readonly reason: unknown;
  constructor(what: string, reason: unknown) {
    super(`${what}: waiting for a dependency`);
    this.what = what;
    this.reason = reason;
  }
}

/** A record in hand: where it came from, and the batch's heartbeat. */
interface InHand {
  topic: string;
  partition: number;
  message: KafkaMessage;
  heartbeat(): Promise<void>;
}

/** A record decoded, or why it could not be. */
type Decoded = { event: AnyScalewiseEvent } | { error: unknown };

/** How far a record went: done with, handled with outputs to send, or waiting for a dependency. */
type Step =
  | { kind: 'resolved' }
  | {
      kind: 'handled';
      event: AnyScalewiseEvent;
      outputs: (ScalewiseEvent | AnyScalewiseEvent)[];
      type: string;
      started: number;
    }
  | { kind: 'blocked'; blocked: Blocked };

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
  const restartBackoff = deps.restartBackoff ?? { baseMs: 1_000, maxMs: 30_000 };
  const handled = new Set<string>(Object.keys(deps.handlers));
  const topicKeys = deps.topics ?? [...new Set([...handled].map((t) => topicOf(t as EventType)))];
  const topics = topicKeys.map((k) => topicName(k, prefix, deps.topicNames));
  const keyOf = new Map(topicKeys.map((k) => [topicName(k, prefix, deps.topicNames), k]));
  const handlerWaits = (deps.handlerDependencyFailures ?? 'pause') === 'pause';
  const handlerOf = (event: AnyScalewiseEvent): Handler<EventType> | undefined =>
    (deps.handlers as unknown as Record<string, Handler<EventType> | undefined>)[event.type];
  /** A batch's outputs are sent once this many wait, or the oldest has waited this long. */
  const flushOutputs = 500;
  const flushMs = 50;
  const owns = (topic: string): boolean => {
    const key = keyOf.get(topic);
    return key === undefined || !deps.ownsTopic || deps.ownsTopic(key);
  };
  /** Paused partitions: the record that waits, since when, how many tries, the resume timer. */
  const blocked = new Map<
    string,
    {
      topic: string;
      partition: number;
      offset: string;
      waiting: string;
      since: number;
      tries: number;
      timer?: NodeJS.Timeout;
    }
  >();
  let stopping = false;

  let failure: string | undefined;
  const consumer = deps.kafka.consumer({
    groupId: deps.groupId,
    ...(deps.groupInstanceId ? { groupInstanceId: deps.groupInstanceId } : {}),
    sessionTimeout: deps.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: deps.heartbeatIntervalMs ?? 1_000,
    maxWaitTimeInMs: 100,
    // A fenced consumer that rejoined would fence the newer one in turn, and so on forever; one
    // refused by Kafka (credentials, certificate, ACL) would be refused again, in a loop.
    retry: {
      retries: 10,
      restartOnFailure: async (err) => !isFenced(err) && kafkaAccessProblem(err) === undefined,
    },
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!isFenced(e.payload.error)) {
      if (e.payload.restart !== false || stopping) return;
      const why = describeKafkaError(e.payload.error, { topics, group: deps.groupId });
      // A refusal (credentials, certificate, ACL) would be refused again: stop for good and
      // say why, so that /readyz does not call a consumer that stopped ready.
      // kafkajs also gives up on errors it calls non-retriable that an outage produces (a
      // broker gone mid-request, re-wrapped without its cause): the consumer comes back on its
      // own, or a Kafka outage would leave it stopped after Kafka returned.
      if (kafkaRefused(e.payload.error)) stoppedForGood(why);
      else restartLater(why);
      return;
    }
    failure =
      `another consumer joined group ${deps.groupId} as instance ${deps.groupInstanceId}: ` +
      'this one is fenced and stopped (two replicas share events.group_instance_id / SCALEWISE_INSTANCE_ID)';
    log.error({ groupId: deps.groupId, groupInstanceId: deps.groupInstanceId }, failure);
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    const p = e.payload as { topic: string; partition: number; offsetLag: string };
    metrics.consumerLag(deps.groupId, p.topic, p.partition, Number(p.offsetLag));
  });

  /** Runs one step of a record; a dependency failure becomes {@link Blocked}. */
  async function needs<R>(what: string, step: () => Promise<R>): Promise<R> {
    try {
      return await step();
    } catch (err) {
      if (isDependencyFailure(err)) throw new Blocked(what, err);
      throw err;
    }
  }

  async function deadLetter(
    r: InHand,
    err: unknown,
    attempts: number,
    firstFailure: number,
    event: AnyScalewiseEvent | undefined,
  ): Promise<void> {
    const { topic, partition, message } = r;
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
    const key = await needs('storing a dead letter', () => deps.dlq.put(d));
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
    await needs('publishing DeadLetterRecorded', () => deps.publisher.publish(recorded));
    metrics.deadLettered(topic, d.error.code);
    log.warn(
      { topic, partition, offset: message.offset, key, code: d.error.code, attempts },
      'record dead-lettered',
    );
  }

  /**
   * Takes one record as far as it goes without publishing: a handled event's outputs and its
   * mark are left to the batch ({@link eachBatch} sends them together). `seen`: the batch's
   * pipelined answer for this event (or the batch's own handled events).
   */
  async function processRecord(
    r: InHand,
    decoded: Decoded,
    seen: (event: AnyScalewiseEvent) => boolean,
  ): Promise<Step> {
    const { topic, partition, message } = r;
    const started = now();
    let type = 'unknown';
    try {
      if ('error' in decoded) {
        if (!owns(topic)) {
          log.warn(
            { topic, partition, offset: message.offset, err: (decoded.error as Error).message },
            'undecodable record skipped: another service dead-letters this topic',
          );
          metrics.consumed(topic, type, (now() - started) / 1000, 'skipped');
          return { kind: 'resolved' };
        }
        await deadLetter(r, decoded.error, 1, started, undefined);
        metrics.consumed(topic, type, (now() - started) / 1000, 'dead_lettered');
        return { kind: 'resolved' };
      }
      const { event } = decoded;
      type = event.type;
      const handler = handlerOf(event);
      if (!handler) {
        metrics.consumed(topic, type, (now() - started) / 1000, 'ignored');
        return { kind: 'resolved' };
      }
      if (seen(event)) {
        metrics.consumed(topic, type, (now() - started) / 1000, 'duplicate');
        return { kind: 'resolved' };
      }
      return await inProcessSpan(
        event,
        { topic, partition, offset: message.offset, group: deps.groupId },
        async (): Promise<Step> => {
          let outputs: Outputs;
          let attempts = 0;
          try {
            const res = await withRetry(
              async (attempt) => {
                attempts = attempt;
                return handler(event as ScalewiseEvent<EventType>, {
                  topic,
                  partition,
                  offset: message.offset,
                  attempt,
                  heartbeat: r.heartbeat,
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
                      type,
                      attempt,
                      waitMs,
                      err: (err as Error).message,
                    },
                    'handler failed, retrying',
                  );
                  await r.heartbeat();
                },
              },
            );
            outputs = res.value;
          } catch (err) {
            if (handlerWaits && isDependencyFailure(err)) throw new Blocked(`handling ${type}`, err);
            await deadLetter(r, err, Math.max(1, attempts), started, event);
            metrics.consumed(topic, type, (now() - started) / 1000, 'dead_lettered');
            return { kind: 'resolved' };
          }
          // Published later with the batch: each output keeps this span as its parent.
          const parent = activeTraceparent();
          const out = [...(outputs ?? [])].map((e) =>
            e.traceparent || !parent ? e : { ...e, traceparent: parent },
          );
          return { kind: 'handled', event, outputs: out, type, started };
        },
      );
    } catch (err) {
      if (!(err instanceof Blocked)) throw err;
      metrics.consumed(topic, type, (now() - started) / 1000, 'blocked');
      return { kind: 'blocked', blocked: err };
    }
  }

  /** Pauses the record's partition and schedules its resumption after a backoff. */
  function block(r: InHand, b: Blocked): void {
    const key = `${r.topic}/${r.partition}`;
    const prev = blocked.get(key);
    const tries = prev && prev.offset === r.message.offset ? prev.tries + 1 : 1;
    if (tries === 1) {
      log.warn(
        {
          topic: r.topic,
          partition: r.partition,
          offset: r.message.offset,
          what: b.what,
          err: (b.reason as Error).message,
        },
        'dependency down, partition paused',
      );
    }
    consumer.pause([{ topic: r.topic, partitions: [r.partition] }]);
    const entry = {
      topic: r.topic,
      partition: r.partition,
      offset: r.message.offset,
      waiting: b.what,
      since: prev && prev.offset === r.message.offset ? prev.since : now(),
      tries,
    } as NonNullable<ReturnType<typeof blocked.get>>;
    if (!stopping) {
      entry.timer = setTimeout(
        () => {
          if (stopping) return;
          consumer.resume([{ topic: r.topic, partitions: [r.partition] }]);
        },
        Math.max(50, backoffMs(tries, pauseBackoff, deps.random)),
      );
      entry.timer.unref?.();
    }
    blocked.set(key, entry);
  }

  /** A record of a paused partition went through: the partition is unblocked. */
  function unblock(topic: string, partition: number): void {
    const key = `${topic}/${partition}`;
    const entry = blocked.get(key);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    blocked.delete(key);
    log.info(
      { topic, partition, what: entry.waiting, tries: entry.tries },
      'dependency back, partition resumed',
    );
  }

  /**
   * A batch of one partition, in order: every record decoded, the processed-events check of
   * all of them in one pipeline, the handlers one after another, and then, together, the
   * outputs published (one produce, acknowledged), the events marked (one pipeline) and the
   * offset resolved. A record that waits for a dependency first has everything before it
   * sent and resolved, then pauses the partition at itself. Outputs are also sent once
   * `flushOutputs` of them wait or the oldest has waited `flushMs`, so a long batch does not
   * hold them back.
   */
  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const inHand = batch.messages.map(
      (message): InHand => ({
        topic: batch.topic,
        partition: batch.partition,
        message,
        heartbeat: payload.heartbeat,
      }),
    );
    const decoded = inHand.map((r): Decoded => {
      try {
        return {
          event: fromKafkaMessage(r.message, {
            topic: r.topic,
            partition: r.partition,
            offset: r.message.offset,
          }),
        };
      } catch (error) {
        return { error };
      }
    });
    const candidates = decoded.flatMap((d) => ('event' in d && handlerOf(d.event) ? [d.event] : []));
    const processed = new Set<string>();
    const eventKey = (e: { source: string; id: string }) => `${e.source}\n${e.id}`;
    if (candidates.length > 0 && inHand[0]) {
      try {
        const answers = await needs('checking processed events', () =>
          deps.idempotency.seenMany(
            deps.groupId,
            candidates.map((e) => ({ source: e.source, id: e.id })),
          ),
        );
        candidates.forEach((e, i) => {
          if (answers[i]) processed.add(eventKey(e));
        });
      } catch (err) {
        if (!(err instanceof Blocked)) throw err;
        block(inHand[0], err);
        return;
      }
    }

    let pending:
      | {
          first: InHand;
          last: InHand;
          handled: Extract<Step, { kind: 'handled' }>[];
          outputs: number;
          since: number;
        }
      | undefined;
    /** Sends what the records so far left to the batch; false when that must wait (paused). */
    const flush = async (): Promise<boolean> => {
      const p = pending;
      if (!p) return true;
      const outputs = p.handled.flatMap((h) => h.outputs);
      try {
        if (outputs.length > 0) await needs('publishing outputs', () => deps.publisher.publish(...outputs));
        if (p.handled.length > 0) {
          await needs('marking the events processed', () =>
            deps.idempotency.markMany(
              deps.groupId,
              p.handled.map((h) => ({ source: h.event.source, id: h.event.id })),
            ),
          );
        }
      } catch (err) {
        if (!(err instanceof Blocked)) throw err;
        for (const h of p.handled)
          metrics.consumed(batch.topic, h.type, (now() - h.started) / 1000, 'blocked');
        block(p.first, err);
        return false;
      }
      for (const h of p.handled) metrics.consumed(batch.topic, h.type, (now() - h.started) / 1000, 'handled');
      pending = undefined;
      unblock(batch.topic, batch.partition);
      payload.resolveOffset(p.last.message.offset);
      await payload.commitOffsetsIfNecessary();
      return true;
    };

    for (const [i, r] of inHand.entries()) {
      if (!payload.isRunning() || payload.isStale() || stopping) break;
      const d = decoded[i] as Decoded;
      const step = await processRecord(r, d, (e) => processed.has(eventKey(e)));
      if (step.kind === 'blocked') {
        // Unresolved, the record is fetched again when the partition resumes.
        if (await flush()) block(r, step.blocked);
        return;
      }
      pending ??= { first: r, last: r, handled: [], outputs: 0, since: now() };
      pending.last = r;
      if (step.kind === 'handled') {
        pending.handled.push(step);
        pending.outputs += step.outputs.length;
        processed.add(eventKey(step.event));
      }
      if (pending.outputs >= flushOutputs || now() - pending.since >= flushMs) {
        if (!(await flush())) return;
      }
      await payload.heartbeat().catch(() => undefined);
    }
    await flush();
  }

  const run = async () => {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: deps.fromBeginning ?? false });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: deps.concurrency ?? 4,
      eachBatch,
    });
  };
  function stoppedForGood(why: string): void {
    failure = `consumer group ${deps.groupId} stopped: ${why}`;
    log.error({ groupId: deps.groupId, topics }, failure);
  }
  /** Restarts of a consumer kafkajs gave up on, in a row: the backoff grows with them. */
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  function restartLater(why: string): void {
    if (stopping || restartTimer) return;
    restarts += 1;
    const delayMs = Math.max(restartBackoff.baseMs, backoffMs(restarts, restartBackoff, deps.random));
    log.warn(
      { groupId: deps.groupId, topics, delayMs, restarts },
      `consumer group ${deps.groupId} stopped (${why}); starting it again in ${delayMs} ms`,
    );
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      run().then(
        () => {
          restarts = 0;
          log.info({ groupId: deps.groupId, topics }, `consumer group ${deps.groupId} started again`);
        },
        (err: unknown) => {
          const why = describeKafkaError(err, { topics, group: deps.groupId });
          if (kafkaRefused(err)) return stoppedForGood(why);
          consumer.disconnect().catch(() => undefined);
          restartLater(why);
        },
      );
    }, delayMs);
  }

  return {
    consumer,
    async start() {
      for (const t of topicKeys) {
        const types = eventTypesOfTopic(t);
        if (types.length === 0) throw new ScalewiseError('INVALID_CONFIG', `unknown topic '${t}'`);
      }
      try {
        await run();
      } catch (err) {
        const problem = kafkaAccessProblem(err);
        if (!problem) throw err;
        throw new ScalewiseError(
          'DEPENDENCY_UNAVAILABLE',
          `consumer group ${deps.groupId} on ${topics.join(', ')}: ${describeKafkaError(err, { topics, group: deps.groupId })}`,
          { cause: err, retriable: false, details: { problem, group: deps.groupId, topics } },
        );
      }
    },
    async stop(deadlineMs = 30_000) {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      for (const b of blocked.values()) if (b.timer) clearTimeout(b.timer);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), deadlineMs);
      });
      const result = await Promise.race([consumer.disconnect().then(() => 'ok' as const), deadline]);
      if (timer) clearTimeout(timer);
      if (result === 'timeout') log.error({ deadlineMs }, 'consumer did not stop within the deadline');
    },
    failure: () => failure,
    paused: () =>
      [...blocked.values()].map(({ topic, partition, offset, waiting, since }) => ({
        topic,
        partition,
        offset,
        waiting,
        since,
      })),
  };
}

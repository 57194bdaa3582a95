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
import { ScalewiseError } from '@scalewise/errors';
import {
  type AnyScalewiseEvent,
  type EventType,
  eventTypesOfTopic,
  fromKafkaMessage,
  type ScalewiseEvent,
  type TopicKey,
  topicName,
  topicOf,
} from '@scalewise/events';
import type {
  Consumer,
  ConsumerConfig,
  ConsumerCrashEvent,
  EachBatchPayload,
  Kafka,
  KafkaMessage,
} from 'kafkajs';
import type { DeadLetterStore } from './dlq.ts';
import type { IdempotencyStore } from './idempotency.ts';
import { describeKafkaError, kafkaAccessProblem, kafkaRefused } from './kafka-errors.ts';
import { type BusMetrics, noopBusMetrics } from './metrics.ts';
import { activeTraceparent, type Publisher } from './publisher.ts';
import {
  backoffMs,
  defaultRetryPolicy,
  type RetryHooks,
  type RetryPolicy,
  sleep as realSleep,
  withRetry,
} from './retry.ts';
import { deadLetterOf, deadLetterRecorded } from './subscriber-dead-letter.ts';
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

/** Runs one step of a record; a dependency failure becomes {@link Blocked}. */
async function needs<R>(what: string, step: () => Promise<R>): Promise<R> {
  try {
    return await step();
  } catch (err) {
    if (isDependencyFailure(err)) throw new Blocked(what, err);
    throw err;
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

/** A record handled, its outputs and its mark left to the batch. */
interface Handled {
  kind: 'handled';
  event: AnyScalewiseEvent;
  outputs: (ScalewiseEvent | AnyScalewiseEvent)[];
  type: string;
  started: number;
}

/** How far a record went: done with, handled with outputs to send, or waiting for a dependency. */
type Step = { kind: 'resolved' } | Handled | { kind: 'blocked'; blocked: Blocked };

const resolved: Step = { kind: 'resolved' };

type Outcome = Parameters<BusMetrics['consumed']>[3];

/** A paused partition: the record that waits, since when, how many tries, the resume timer. */
interface BlockedPartition {
  topic: string;
  partition: number;
  offset: string;
  waiting: string;
  since: number;
  tries: number;
  timer?: NodeJS.Timeout;
}

/** What the records of a batch so far left to send: outputs, marks and the offset to resolve. */
interface Pending {
  first: InHand;
  last: InHand;
  handled: Handled[];
  outputs: number;
  since: number;
}

/** One batch in progress: kafkajs' payload, the events known processed, what is left to send. */
interface BatchState {
  payload: EachBatchPayload;
  processed: Set<string>;
  pending: Pending | undefined;
}

/** A batch's outputs are sent once this many wait, or the oldest has waited this long. */
const flushOutputs = 500;
const flushMs = 50;

/** The key of an event in a batch's set of processed events. */
const eventKey = (e: { source: string; id: string }) => `${e.source}\n${e.id}`;

/** The records of a batch, each with its partition and the batch's heartbeat. */
function recordsInHand(payload: EachBatchPayload): InHand[] {
  const { batch } = payload;
  return batch.messages.map(
    (message): InHand => ({
      topic: batch.topic,
      partition: batch.partition,
      message,
      heartbeat: payload.heartbeat,
    }),
  );
}

function decode(r: InHand): Decoded {
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
}

/** A handler's outputs, published later with the batch: each keeps the active span as its parent. */
function withParentSpan(outputs: Outputs): (ScalewiseEvent | AnyScalewiseEvent)[] {
  const parent = activeTraceparent();
  return [...(outputs ?? [])].map((e) => (e.traceparent || !parent ? e : { ...e, traceparent: parent }));
}

/** kafkajs' consumer of the group, with static membership if asked. */
function consumerConfig<T extends EventType>(deps: SubscriberDeps<T>): ConsumerConfig {
  return {
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
  };
}

/**
 * The consumer group behind {@link createSubscriber}. Every callback given to kafkajs or to a
 * timer is an arrow function, so `this` stays the subscriber.
 */
class KafkaSubscriber<T extends EventType> {
  readonly consumer: Consumer;
  private readonly deps: SubscriberDeps<T>;
  private readonly metrics: BusMetrics;
  private readonly log: BusLogger;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly retry: RetryPolicy;
  private readonly pauseBackoff: RetryPolicy;
  private readonly restartBackoff: Pick<RetryPolicy, 'baseMs' | 'maxMs'>;
  private readonly topicKeys: readonly TopicKey[];
  private readonly topics: string[];
  private readonly keyOf: Map<string, TopicKey>;
  private readonly handlerWaits: boolean;
  /** Paused partitions, by `topic/partition`. */
  private readonly blocked = new Map<string, BlockedPartition>();
  private stopping = false;
  /** Why the consumer stopped for good, if it did. */
  private stoppedBecause: string | undefined;
  /** Restarts of a consumer kafkajs gave up on, in a row: the backoff grows with them. */
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(deps: SubscriberDeps<T>) {
    const prefix = deps.topicPrefix ?? 'scalewise.';
    this.deps = deps;
    this.metrics = deps.metrics ?? noopBusMetrics;
    this.log = deps.logger ?? silentLogger;
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? realSleep;
    this.retry = deps.retry ?? defaultRetryPolicy;
    this.pauseBackoff = deps.pauseBackoff ?? {
      maxAttempts: Number.POSITIVE_INFINITY,
      baseMs: 200,
      maxMs: 10_000,
    };
    this.restartBackoff = deps.restartBackoff ?? { baseMs: 1_000, maxMs: 30_000 };
    const handled = new Set<string>(Object.keys(deps.handlers));
    this.topicKeys = deps.topics ?? [...new Set([...handled].map((t) => topicOf(t as EventType)))];
    this.topics = this.topicKeys.map((k) => topicName(k, prefix, deps.topicNames));
    this.keyOf = new Map(this.topicKeys.map((k) => [topicName(k, prefix, deps.topicNames), k]));
    this.handlerWaits = (deps.handlerDependencyFailures ?? 'pause') === 'pause';
    this.consumer = deps.kafka.consumer(consumerConfig(deps));
    this.consumer.on(this.consumer.events.CRASH, (e) => this.crashed(e));
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, (e) => {
      const p = e.payload as { topic: string; partition: number; offsetLag: string };
      this.metrics.consumerLag(deps.groupId, p.topic, p.partition, Number(p.offsetLag));
    });
  }

  async start(): Promise<void> {
    for (const t of this.topicKeys) {
      const types = eventTypesOfTopic(t);
      if (types.length === 0) throw new ScalewiseError('INVALID_CONFIG', `unknown topic '${t}'`);
    }
    try {
      await this.run();
    } catch (err) {
      const problem = kafkaAccessProblem(err);
      if (!problem) throw err;
      const { groupId } = this.deps;
      const topics = this.topics;
      throw new ScalewiseError(
        'DEPENDENCY_UNAVAILABLE',
        `consumer group ${groupId} on ${topics.join(', ')}: ${describeKafkaError(err, { topics, group: groupId })}`,
        { cause: err, retriable: false, details: { problem, group: groupId, topics } },
      );
    }
  }

  async stop(deadlineMs = 30_000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    for (const b of this.blocked.values()) if (b.timer) clearTimeout(b.timer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs);
    });
    const result = await Promise.race([this.consumer.disconnect().then(() => 'ok' as const), deadline]);
    if (timer) clearTimeout(timer);
    if (result === 'timeout') this.log.error({ deadlineMs }, 'consumer did not stop within the deadline');
  }

  failure(): string | undefined {
    return this.stoppedBecause;
  }

  paused(): ReturnType<Subscriber['paused']> {
    return [...this.blocked.values()].map(({ topic, partition, offset, waiting, since }) => ({
      topic,
      partition,
      offset,
      waiting,
      since,
    }));
  }

  private async run(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: this.deps.fromBeginning ?? false });
    await this.consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.deps.concurrency ?? 4,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** kafkajs' CRASH: a fenced consumer stops; one kafkajs gave up on stops or starts again. */
  private crashed(e: ConsumerCrashEvent): void {
    if (isFenced(e.payload.error)) {
      this.fenced();
      return;
    }
    if (e.payload.restart !== false || this.stopping) return;
    const why = describeKafkaError(e.payload.error, { topics: this.topics, group: this.deps.groupId });
    // A refusal (credentials, certificate, ACL) would be refused again: stop for good and
    // say why, so that /readyz does not call a consumer that stopped ready.
    // kafkajs also gives up on errors it calls non-retriable that an outage produces (a
    // broker gone mid-request, re-wrapped without its cause): the consumer comes back on its
    // own, or a Kafka outage would leave it stopped after Kafka returned.
    if (kafkaRefused(e.payload.error)) this.stoppedForGood(why);
    else this.restartLater(why);
  }

  private fenced(): void {
    const { groupId, groupInstanceId } = this.deps;
    this.stoppedBecause =
      `another consumer joined group ${groupId} as instance ${groupInstanceId}: ` +
      'this one is fenced and stopped (two replicas share events.group_instance_id / SCALEWISE_INSTANCE_ID)';
    this.log.error({ groupId, groupInstanceId }, this.stoppedBecause);
  }

  private stoppedForGood(why: string): void {
    this.stoppedBecause = `consumer group ${this.deps.groupId} stopped: ${why}`;
    this.log.error({ groupId: this.deps.groupId, topics: this.topics }, this.stoppedBecause);
  }

  private restartLater(why: string): void {
    if (this.stopping || this.restartTimer) return;
    this.restarts += 1;
    const { groupId, random } = this.deps;
    const delayMs = Math.max(
      this.restartBackoff.baseMs,
      backoffMs(this.restarts, this.restartBackoff, random),
    );
    this.log.warn(
      { groupId, topics: this.topics, delayMs, restarts: this.restarts },
      `consumer group ${groupId} stopped (${why}); starting it again in ${delayMs} ms`,
    );
    this.restartTimer = setTimeout(() => this.restart(), delayMs);
  }

  private restart(): void {
    this.restartTimer = undefined;
    if (this.stopping) return;
    const { groupId } = this.deps;
    this.run().then(
      () => {
        this.restarts = 0;
        this.log.info({ groupId, topics: this.topics }, `consumer group ${groupId} started again`);
      },
      (err: unknown) => {
        const why = describeKafkaError(err, { topics: this.topics, group: groupId });
        if (kafkaRefused(err)) return this.stoppedForGood(why);
        this.consumer.disconnect().catch(() => undefined);
        this.restartLater(why);
      },
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
  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const inHand = recordsInHand(payload);
    const decoded = inHand.map((r) => decode(r));
    const processed = await this.processedOf(inHand, decoded);
    if (!processed) return;
    const b: BatchState = { payload, processed, pending: undefined };
    for (const [i, r] of inHand.entries()) {
      if (!payload.isRunning() || payload.isStale() || this.stopping) break;
      if (!(await this.takeRecord(b, r, decoded[i] as Decoded))) return;
      await payload.heartbeat().catch(() => undefined);
    }
    await this.flush(b);
  }

  /**
   * The events of a batch already processed, asked of the idempotency store in one pipeline;
   * undefined when the store is down (the partition is then paused at the batch's first record).
   */
  private async processedOf(inHand: InHand[], decoded: Decoded[]): Promise<Set<string> | undefined> {
    const candidates = decoded.flatMap((d) => ('event' in d && this.handlerOf(d.event) ? [d.event] : []));
    const processed = new Set<string>();
    if (candidates.length > 0 && inHand[0]) {
      try {
        const answers = await needs('checking processed events', () =>
          this.deps.idempotency.seenMany(
            this.deps.groupId,
            candidates.map((e) => ({ source: e.source, id: e.id })),
          ),
        );
        candidates.forEach((e, i) => {
          if (answers[i]) processed.add(eventKey(e));
        });
      } catch (err) {
        if (!(err instanceof Blocked)) throw err;
        this.block(inHand[0], err);
        return undefined;
      }
    }
    return processed;
  }

  /**
   * Processes one record of the batch and adds it to what is left to send, sending that when
   * it is large or old enough; false when the batch must end here (its partition paused).
   */
  private async takeRecord(b: BatchState, r: InHand, d: Decoded): Promise<boolean> {
    const step = await this.processRecord(r, d, (e) => b.processed.has(eventKey(e)));
    if (step.kind === 'blocked') {
      // Unresolved, the record is fetched again when the partition resumes.
      if (await this.flush(b)) this.block(r, step.blocked);
      return false;
    }
    b.pending ??= { first: r, last: r, handled: [], outputs: 0, since: this.now() };
    const pending = b.pending;
    pending.last = r;
    if (step.kind === 'handled') {
      pending.handled.push(step);
      pending.outputs += step.outputs.length;
      b.processed.add(eventKey(step.event));
    }
    if (pending.outputs >= flushOutputs || this.now() - pending.since >= flushMs) {
      if (!(await this.flush(b))) return false;
    }
    return true;
  }

  /** Sends what the records so far left to the batch; false when that must wait (paused). */
  private async flush(b: BatchState): Promise<boolean> {
    const p = b.pending;
    if (!p) return true;
    const { batch } = b.payload;
    try {
      await this.sendPending(p);
    } catch (err) {
      if (!(err instanceof Blocked)) throw err;
      for (const h of p.handled) this.consumed(batch.topic, h.type, h.started, 'blocked');
      this.block(p.first, err);
      return false;
    }
    for (const h of p.handled) this.consumed(batch.topic, h.type, h.started, 'handled');
    b.pending = undefined;
    this.unblock(batch.topic, batch.partition);
    b.payload.resolveOffset(p.last.message.offset);
    await b.payload.commitOffsetsIfNecessary();
    return true;
  }

  /** The handled events' outputs published (acknowledged), then the events marked processed. */
  private async sendPending(p: Pending): Promise<void> {
    const outputs = p.handled.flatMap((h) => h.outputs);
    if (outputs.length > 0) await needs('publishing outputs', () => this.deps.publisher.publish(...outputs));
    if (p.handled.length > 0) {
      await needs('marking the events processed', () =>
        this.deps.idempotency.markMany(
          this.deps.groupId,
          p.handled.map((h) => ({ source: h.event.source, id: h.event.id })),
        ),
      );
    }
  }

  /**
   * Takes one record as far as it goes without publishing: a handled event's outputs and its
   * mark are left to the batch ({@link flush} sends them together). `seen`: the batch's
   * pipelined answer for this event (or the batch's own handled events).
   */
  private async processRecord(
    r: InHand,
    decoded: Decoded,
    seen: (event: AnyScalewiseEvent) => boolean,
  ): Promise<Step> {
    const started = this.now();
    const type = 'event' in decoded ? decoded.event.type : 'unknown';
    try {
      if ('error' in decoded) return await this.undecodable(r, decoded.error, started);
      const { event } = decoded;
      const handler = this.handlerOf(event);
      if (!handler) {
        this.consumed(r.topic, type, started, 'ignored');
        return resolved;
      }
      if (seen(event)) {
        this.consumed(r.topic, type, started, 'duplicate');
        return resolved;
      }
      return await inProcessSpan(
        event,
        { topic: r.topic, partition: r.partition, offset: r.message.offset, group: this.deps.groupId },
        () => this.handle(r, event, handler, started),
      );
    } catch (err) {
      if (!(err instanceof Blocked)) throw err;
      this.consumed(r.topic, type, started, 'blocked');
      return { kind: 'blocked', blocked: err };
    }
  }

  /** A record that is not a valid event: dead-lettered if this service owns the topic's. */
  private async undecodable(r: InHand, error: unknown, started: number): Promise<Step> {
    const { topic, partition, message } = r;
    if (!this.owns(topic)) {
      this.log.warn(
        { topic, partition, offset: message.offset, err: (error as Error).message },
        'undecodable record skipped: another service dead-letters this topic',
      );
      this.consumed(topic, 'unknown', started, 'skipped');
      return resolved;
    }
    await this.deadLetter(r, error, 1, started, undefined);
    this.consumed(topic, 'unknown', started, 'dead_lettered');
    return resolved;
  }

  /**
   * Runs the event's handler with bounded retries, inside the event's span; a handler that kept
   * failing is dead-lettered, or waits ({@link Blocked}) when a dependency failed it.
   */
  private async handle(
    r: InHand,
    event: AnyScalewiseEvent,
    handler: Handler<EventType>,
    started: number,
  ): Promise<Step> {
    const { topic, partition, message } = r;
    const type = event.type;
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
        this.retry,
        this.retryHooks(r, type),
      );
      outputs = res.value;
    } catch (err) {
      if (this.handlerWaits && isDependencyFailure(err)) throw new Blocked(`handling ${type}`, err);
      await this.deadLetter(r, err, Math.max(1, attempts), started, event);
      this.consumed(topic, type, started, 'dead_lettered');
      return resolved;
    }
    return { kind: 'handled', event, outputs: withParentSpan(outputs), type, started };
  }

  /** Between a handler's attempts: the failure logged, and a heartbeat to keep the member. */
  private retryHooks(r: InHand, type: string): RetryHooks {
    return {
      sleep: this.sleep,
      ...(this.deps.random ? { random: this.deps.random } : {}),
      beforeWait: async (attempt, waitMs, err) => {
        this.log.warn(
          {
            topic: r.topic,
            partition: r.partition,
            offset: r.message.offset,
            type,
            attempt,
            waitMs,
            err: (err as Error).message,
          },
          'handler failed, retrying',
        );
        await r.heartbeat();
      },
    };
  }

  /** Stores the record in S3, then publishes DeadLetterRecorded; either may wait ({@link Blocked}). */
  private async deadLetter(
    r: InHand,
    err: unknown,
    attempts: number,
    firstFailure: number,
    event: AnyScalewiseEvent | undefined,
  ): Promise<void> {
    const { topic, partition, message } = r;
    const owner = { service: this.deps.service, groupId: this.deps.groupId, clusterid: this.deps.clusterid };
    const failed = { topic, partition, message, event };
    const d = deadLetterOf(owner, failed, { err, attempts, firstFailure, lastFailure: this.now() });
    const key = await needs('storing a dead letter', () => this.deps.dlq.put(d));
    const recorded = deadLetterRecorded(owner, failed, d, { bucket: this.deps.dlq.bucket, key });
    await needs('publishing DeadLetterRecorded', () => this.deps.publisher.publish(recorded));
    this.metrics.deadLettered(topic, d.error.code);
    this.log.warn(
      { topic, partition, offset: message.offset, key, code: d.error.code, attempts },
      'record dead-lettered',
    );
  }

  /** Pauses the record's partition and schedules its resumption after a backoff. */
  private block(r: InHand, b: Blocked): void {
    const key = `${r.topic}/${r.partition}`;
    const prev = this.blocked.get(key);
    const sameRecord = prev !== undefined && prev.offset === r.message.offset;
    const tries = sameRecord ? prev.tries + 1 : 1;
    if (tries === 1) {
      this.log.warn(
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
    this.consumer.pause([{ topic: r.topic, partitions: [r.partition] }]);
    const entry: BlockedPartition = {
      topic: r.topic,
      partition: r.partition,
      offset: r.message.offset,
      waiting: b.what,
      since: sameRecord ? prev.since : this.now(),
      tries,
    };
    if (!this.stopping) entry.timer = this.resumeLater(r, tries);
    this.blocked.set(key, entry);
  }

  /** The timer that resumes a paused partition after the backoff of its `tries`. */
  private resumeLater(r: InHand, tries: number): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        if (this.stopping) return;
        this.consumer.resume([{ topic: r.topic, partitions: [r.partition] }]);
      },
      Math.max(50, backoffMs(tries, this.pauseBackoff, this.deps.random)),
    );
    timer.unref?.();
    return timer;
  }

  /** A record of a paused partition went through: the partition is unblocked. */
  private unblock(topic: string, partition: number): void {
    const key = `${topic}/${partition}`;
    const entry = this.blocked.get(key);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    this.blocked.delete(key);
    this.log.info(
      { topic, partition, what: entry.waiting, tries: entry.tries },
      'dependency back, partition resumed',
    );
  }

  private handlerOf(event: AnyScalewiseEvent): Handler<EventType> | undefined {
    return (this.deps.handlers as unknown as Record<string, Handler<EventType> | undefined>)[event.type];
  }

  /** Whether this service dead-letters the undecodable records of `topic`. */
  private owns(topic: string): boolean {
    const key = this.keyOf.get(topic);
    return key === undefined || !this.deps.ownsTopic || this.deps.ownsTopic(key);
  }

  /** Reports a record's processing ended with `outcome`, timed from `started`. */
  private consumed(topic: string, type: string, started: number, outcome: Outcome): void {
    this.metrics.consumed(topic, type, (this.now() - started) / 1000, outcome);
  }
}

export function createSubscriber<T extends EventType>(deps: SubscriberDeps<T>): Subscriber {
  const s = new KafkaSubscriber(deps);
  // A plain object of closures: the bus spreads a subscriber (`{ ...s, stop }`), which would
  // leave a class's methods behind.
  return {
    consumer: s.consumer,
    start: () => s.start(),
    stop: (deadlineMs?: number) => s.stop(deadlineMs),
    failure: () => s.failure(),
    paused: () => s.paused(),
  };
}

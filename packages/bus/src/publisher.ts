/**
 * Publishing events: an idempotent producer with acks=all, through a circuit breaker.
 * `publish` waits for Kafka's acknowledgement; `enqueue` + `flush` batch many events into
 * one request. The W3C trace context of the caller's active span is carried in the
 * `traceparent` extension when the event has none.
 */

import { context, propagation } from '@opentelemetry/api';
import { ScalewiseError } from '@scalewise/errors';
import {
  type AnyScalewiseEvent,
  type ScalewiseEvent,
  type TopicKey,
  toKafkaMessage,
  topicName,
  topicOf,
} from '@scalewise/events';
import type { Producer, TopicMessages } from 'kafkajs';
import type { Breaker } from './breaker.ts';
import { describeKafkaError, kafkaAccessProblem } from './kafka-errors.ts';
import { type BusMetrics, noopBusMetrics } from './metrics.ts';
import { startPublishSpans } from './tracing.ts';

export interface PublisherDeps {
  producer: Producer;
  breaker: Breaker;
  /** @default 'scalewise.' */
  topicPrefix?: string;
  topicNames?: Partial<Record<TopicKey, string>>;
  metrics?: BusMetrics;
  now?: () => number;
  /** Batch size at which `enqueue` flushes by itself. @default 500 */
  maxBatch?: number;
  /** How long `enqueue` may hold an event before flushing. @default 20 ms */
  lingerMs?: number;
  /**
   * Replaces a producer whose idempotent session the broker no longer knows (see
   * {@link lostProducerState}): disconnects `old`, returns a new one, connected. Without it
   * such a producer keeps failing until the process restarts.
   */
  renewProducer?: (old: Producer) => Promise<Producer>;
}

/**
 * The broker's answers that mean the idempotent producer's session (producer id and
 * sequence numbers) is lost on its side, as after a broker crash: kafkajs never recovers
 * from them by itself (tulios/kafkajs#598); a new producer (a new producer id) does.
 */
const producerStateErrors = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** Whether `err` (or an error it wraps) says the broker lost the producer's session. */
export function lostProducerState(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const e = err as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  if (typeof e.type === 'string' && producerStateErrors.has(e.type)) return true;
  const inner = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])];
  return inner.some((x) => lostProducerState(x, depth + 1));
}

export interface Publisher {
  /** Publishes events and resolves once Kafka acknowledged all of them (acks=all). */
  publish(...events: (ScalewiseEvent | AnyScalewiseEvent)[]): Promise<void>;
  /** Adds an event to the current batch; resolves when its batch is acknowledged. */
  enqueue(event: ScalewiseEvent | AnyScalewiseEvent): Promise<void>;
  /** Sends the current batch now. */
  flush(): Promise<void>;
  /** The Kafka topic of an event. */
  topicFor(event: ScalewiseEvent | AnyScalewiseEvent): string;
}

/** The caller's trace context as a W3C traceparent, when a span is active. */
export function activeTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

export function createPublisher(deps: PublisherDeps): Publisher {
  const prefix = deps.topicPrefix ?? 'scalewise.';
  const metrics = deps.metrics ?? noopBusMetrics;
  const now = deps.now ?? Date.now;
  const maxBatch = deps.maxBatch ?? 500;
  const lingerMs = deps.lingerMs ?? 20;
  let batch: {
    event: ScalewiseEvent | AnyScalewiseEvent;
    resolve: () => void;
    reject: (e: unknown) => void;
  }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let producer = deps.producer;
  /** Set when the broker lost `producer`'s session: the next send renews it first. */
  let lost = false;
  let renewing: Promise<void> | undefined;
  /** A new producer in place of the lost one, once however many sends wait for it. */
  const renew = (): Promise<void> => {
    const renewProducer = deps.renewProducer;
    if (!renewProducer || !lost) return Promise.resolve();
    renewing ??= renewProducer(producer)
      .then((p) => {
        producer = p;
        lost = false;
      })
      .finally(() => {
        renewing = undefined;
      });
    return renewing;
  };

  const topicFor = (e: ScalewiseEvent | AnyScalewiseEvent) =>
    topicName(topicOf(e.type), prefix, deps.topicNames);

  async function send(input: (ScalewiseEvent | AnyScalewiseEvent)[]): Promise<void> {
    if (input.length === 0) return;
    // Each event gets a PRODUCER span, child of its own traceparent or of the caller's span.
    const spans = startPublishSpans(input, topicFor);
    const events = spans.events;
    const byTopic = new Map<string, TopicMessages>();
    for (const e of events) {
      const topic = topicFor(e);
      const tm = byTopic.get(topic) ?? { topic, messages: [] };
      tm.messages.push(toKafkaMessage(e));
      byTopic.set(topic, tm);
    }
    const started = now();
    try {
      await deps.breaker.call(async () => {
        // A new session first when the broker lost the last one (until renewing succeeds).
        await renew();
        const using = producer;
        try {
          await using.sendBatch({ topicMessages: [...byTopic.values()], acks: -1 });
        } catch (err) {
          // The next attempt (the caller retries: a dependency failure) renews the producer.
          if (lostProducerState(err) && using === producer) lost = true;
          throw err;
        }
      });
    } catch (err) {
      spans.end(err);
      for (const e of events)
        metrics.publishFailed(topicFor(e), e.type, (err as { code?: string }).code ?? 'UNKNOWN');
      if (err instanceof ScalewiseError) throw err;
      // A refusal (an ACL, the credentials) is still a dependency failure: the partition waits
      // until the operator fixes it rather than dead-lettering every record meanwhile.
      const problem = kafkaAccessProblem(err);
      const topics = [...byTopic.keys()];
      throw new ScalewiseError(
        'DEPENDENCY_UNAVAILABLE',
        `publishing ${events.length} event(s) to ${topics.join(', ')} failed: ${describeKafkaError(err, { topics })}`,
        { cause: err, ...(problem ? { details: { problem, topics } } : {}) },
      );
    }
    spans.end();
    const seconds = (now() - started) / 1000;
    for (const e of events) metrics.published(topicFor(e), e.type, seconds);
  }

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const current = batch;
    batch = [];
    if (current.length === 0) return;
    try {
      await send(current.map((b) => b.event));
      for (const b of current) b.resolve();
    } catch (err) {
      for (const b of current) b.reject(err);
    }
  }

  return {
    publish: (...events) => send(events),
    enqueue(event) {
      return new Promise<void>((resolve, reject) => {
        batch.push({ event, resolve, reject });
        if (batch.length >= maxBatch) void flush();
        else timer ??= setTimeout(() => void flush(), lingerMs);
      });
    },
    flush,
    topicFor,
  };
}

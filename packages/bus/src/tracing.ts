/**
 * Spans of the bus, after the OpenTelemetry messaging semantic conventions for Kafka: one
 * PRODUCER span `publish <topic>` per published event and one CONSUMER span `process <topic>`
 * per processed event, linked through the CloudEvent's `traceparent` extension (the
 * `ce_traceparent` header) so that one chain of events is one trace across services, through
 * dead letters and replays too. Without a registered SDK the API is a no-op and events keep
 * the traceparent they had. Why these spans and not @opentelemetry/instrumentation-kafkajs:
 * packages/telemetry/README.md.
 */
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { AnyScalewiseEvent, ScalewiseEvent } from '@scalewise/events';

const tracer = () => trace.getTracer('@scalewise/bus');

/** The context an event's traceparent names, or the active one when it has none. */
export function parentContext(traceparent: string | undefined): Context {
  if (!traceparent) return context.active();
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** The W3C traceparent of a span, or undefined for a non-recording (no SDK) span. */
export function traceparentOf(span: Span): string | undefined {
  if (!span.spanContext() || !trace.isSpanContextValid(span.spanContext())) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier.traceparent;
}

/** The attributes both spans of an event carry. The record key is the event's partition key. */
const eventAttributes = (event: ScalewiseEvent | AnyScalewiseEvent, topic: string): Attributes => ({
  'messaging.system': 'kafka',
  'messaging.destination.name': topic,
  'messaging.message.id': event.id,
  'messaging.kafka.message.key': event.partitionkey,
  'cloudevents.event_id': event.id,
  'cloudevents.event_type': event.type,
  'cloudevents.event_source': event.source,
  ...(event.correlationid ? { 'scalewise.correlation_id': event.correlationid } : {}),
});

/**
 * Starts the PRODUCER span of each event and returns the events carrying their span as
 * traceparent; `end` closes the spans with the publish's outcome.
 */
export function startPublishSpans<E extends ScalewiseEvent | AnyScalewiseEvent>(
  events: readonly E[],
  topicFor: (e: E) => string,
): { events: E[]; end(err?: unknown): void } {
  const spans: Span[] = [];
  const out = events.map((e) => {
    const topic = topicFor(e);
    const span = tracer().startSpan(
      `publish ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          ...eventAttributes(e, topic),
          'messaging.operation.name': 'publish',
          'messaging.operation.type': 'send',
        },
      },
      parentContext(e.traceparent),
    );
    spans.push(span);
    const traceparent = traceparentOf(span);
    return traceparent ? ({ ...e, traceparent } as E) : e;
  });
  return {
    events: out,
    end(err?: unknown) {
      for (const span of spans) {
        if (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        }
        span.end();
      }
    },
  };
}

/**
 * Runs `fn` in the CONSUMER span of an event, a child of the span that published it; the
 * events `fn` publishes become children of this span.
 */
export async function inProcessSpan<T>(
  event: AnyScalewiseEvent,
  where: { topic: string; partition: number; offset: string; group: string },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(
    `process ${where.topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...eventAttributes(event, where.topic),
        'messaging.operation.name': 'process',
        'messaging.operation.type': 'process',
        'messaging.consumer.group.name': where.group,
        // The partition under both names: the current convention's and the Kafka-specific
        // one that older backends and dashboards still query.
        'messaging.destination.partition.id': String(where.partition),
        'messaging.kafka.destination.partition': where.partition,
        'messaging.kafka.offset': Number(where.offset),
      },
    },
    parentContext(event.traceparent),
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

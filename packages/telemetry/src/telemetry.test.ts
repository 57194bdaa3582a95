import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { inProcessSpan, startPublishSpans } from '@scalewise/bus';
import { createEvent, sampleData } from '@scalewise/events';
import { createTelemetry } from './index.ts';
import { jsonLines } from './test-support.ts';

const { lines, destination: sink } = jsonLines();
const spans = new InMemorySpanExporter();
const telemetry = createTelemetry({
  service: 'telemetry-test',
  version: '0.1.0',
  config: { log_level: 'debug' },
  spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
  logDestination: sink,
});
after(() => telemetry.shutdown());

describe('metrics', () => {
  test('the bus port fills the seed 003 metrics under scalewise_', async () => {
    const m = telemetry.metrics;
    m.bus.published('scalewise.signals', 'io.scalewise.PendingPodsDetected', 0.004);
    m.bus.publishFailed('scalewise.signals', 'io.scalewise.PendingPodsDetected', 'DEPENDENCY_UNAVAILABLE');
    m.bus.consumed('scalewise.signals', 'io.scalewise.PendingPodsDetected', 0.02, 'handled');
    m.bus.consumed('scalewise.signals', 'io.scalewise.PendingPodsDetected', 0.001, 'duplicate');
    m.bus.consumerLag('scalewise.decision-engine', 'scalewise.signals', 3, 42);
    m.bus.deadLettered('scalewise.signals', 'SCHEMA_VIOLATION');
    m.bus.deadLettersCurrent(7);
    m.bus.breakerState('s3', 'open');
    m.dependencyUp('kafka', false);
    m.pools.workers('workers', { ready: 3, provisioning: 1 });
    m.pools.desired('workers', 4);
    m.pools.limits('workers', 2, 6);
    const text = await m.render();
    const has = (re: RegExp) => assert.match(text, re);
    has(
      /scalewise_events_published_total\{event_type="io.scalewise.PendingPodsDetected",topic="scalewise.signals"\} 1/,
    );
    has(/scalewise_event_publish_duration_seconds_bucket\{[^}]*le="0.005"\} 1/);
    has(/scalewise_event_publish_errors_total\{[^}]*code="DEPENDENCY_UNAVAILABLE"[^}]*\} 1/);
    has(/scalewise_events_consumed_total\{[^}]*outcome="handled"[^}]*\} 1/);
    has(/scalewise_events_consumed_total\{[^}]*outcome="duplicate"[^}]*\} 1/);
    has(/scalewise_event_consume_duration_seconds_count\{[^}]*\} 1/);
    has(
      /scalewise_consumer_lag\{group="scalewise.decision-engine",topic="scalewise.signals",partition="3"\} 42/,
    );
    has(/scalewise_dlq_messages_total\{topic="scalewise.signals",code="SCHEMA_VIOLATION"\} 1/);
    has(/scalewise_dlq_current_size 7/);
    has(/scalewise_circuit_breaker_state\{breaker="s3"\} 1/);
    has(/scalewise_dependency_up\{dependency="kafka"\} 0/);
    has(/scalewise_pool_workers\{pool="workers",state="ready"\} 3/);
    has(/scalewise_pool_workers\{pool="workers",state="draining"\} 0/);
    has(/scalewise_pool_desired_workers\{pool="workers"\} 4/);
    has(/scalewise_pool_min_workers\{pool="workers"\} 2/);
    assert.doesNotMatch(text, /_total_total/);
  });
});

describe('traces', () => {
  test('a published event and its processing are one trace: producer span, then consumer span as its child', async () => {
    spans.reset();
    const event = createEvent(
      'io.scalewise.PendingPodsDetected',
      sampleData['io.scalewise.PendingPodsDetected'],
      {
        source: '/test',
        clusterid: 'local',
      },
    );
    const published = startPublishSpans([event], () => 'scalewise.signals');
    published.end();
    const sent = published.events[0];
    assert.ok(sent?.traceparent, 'the event carries the producer span as traceparent');
    let innerTraceparent: string | undefined;
    await inProcessSpan(
      sent,
      { topic: 'scalewise.signals', partition: 0, offset: '5', group: 'g' },
      async () => {
        // An event published by the handler continues the same trace.
        const child = startPublishSpans(
          [
            createEvent('io.scalewise.ScaleUpDecision', sampleData['io.scalewise.ScaleUpDecision'], {
              source: '/t',
              clusterid: 'local',
            }),
          ],
          () => 'scalewise.decisions',
        );
        child.end();
        innerTraceparent = child.events[0]?.traceparent;
        telemetry.logger.info('inside the consumer span');
      },
    );
    const finished = spans.getFinishedSpans();
    const producer = finished.find((s) => s.name === 'publish scalewise.signals');
    const consumer = finished.find((s) => s.name === 'process scalewise.signals');
    const output = finished.find((s) => s.name === 'publish scalewise.decisions');
    assert.ok(producer && consumer && output);
    assert.equal(producer.kind, SpanKind.PRODUCER);
    assert.equal(consumer.kind, SpanKind.CONSUMER);
    const traceId = producer.spanContext().traceId;
    assert.equal(consumer.spanContext().traceId, traceId);
    assert.equal(output.spanContext().traceId, traceId);
    assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId);
    assert.equal(output.parentSpanContext?.spanId, consumer.spanContext().spanId);
    assert.equal(consumer.attributes['cloudevents.event_id'], event.id);
    assert.equal(consumer.attributes['messaging.kafka.offset'], 5);
    assert.ok(innerTraceparent?.includes(traceId));
    const line = lines.find((l) => l.msg === 'inside the consumer span');
    assert.equal(line?.trace_id, traceId, 'log lines carry the trace id');
    assert.equal(line?.span_id, consumer.spanContext().spanId);
  });
});

/** The messaging attributes the spans carry, by the short names the assertions use. */
const messagingAttributes = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  key: 'messaging.kafka.message.key',
  partition: 'messaging.kafka.destination.partition',
  partitionId: 'messaging.destination.partition.id',
  offset: 'messaging.kafka.offset',
  group: 'messaging.consumer.group.name',
  id: 'messaging.message.id',
  operation: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
} as const;

/** `span`'s attributes named in `expected` are exactly those values. */
function assertMessaging(
  span: ReadableSpan | undefined,
  expected: Partial<Record<keyof typeof messagingAttributes, unknown>>,
): void {
  const names = Object.keys(expected) as (keyof typeof messagingAttributes)[];
  const actual = Object.fromEntries(names.map((n) => [n, span?.attributes[messagingAttributes[n]]]));
  assert.deepEqual(actual, expected);
}

describe('messaging semantic conventions', () => {
  test('publish <topic> and process <topic> carry the Kafka messaging attributes', async () => {
    spans.reset();
    const event = createEvent('io.scalewise.ScaleUpDecision', sampleData['io.scalewise.ScaleUpDecision'], {
      source: '/test',
      clusterid: 'local',
    });
    const published = startPublishSpans([event], () => 'scalewise.decisions');
    published.end();
    const sent = published.events[0];
    assert.ok(sent);
    await inProcessSpan(
      sent,
      { topic: 'scalewise.decisions', partition: 4, offset: '1234', group: 'scalewise.node-manager' },
      async () => undefined,
    );
    const [producer, consumer] = spans.getFinishedSpans();
    assert.equal(producer?.name, 'publish scalewise.decisions');
    assert.equal(producer?.kind, SpanKind.PRODUCER);
    // Both spans name the same message.
    const message = {
      system: 'kafka',
      destination: 'scalewise.decisions',
      key: event.partitionkey,
      id: event.id,
    };
    assertMessaging(producer, { ...message, operation: 'publish', operationType: 'send' });
    assert.equal(consumer?.name, 'process scalewise.decisions');
    assert.equal(consumer?.kind, SpanKind.CONSUMER);
    assertMessaging(consumer, {
      ...message,
      partition: 4,
      partitionId: '4',
      offset: 1234,
      group: 'scalewise.node-manager',
      operation: 'process',
      operationType: 'process',
    });
    assert.equal(consumer?.parentSpanContext?.spanId, producer?.spanContext().spanId);
  });
});

describe('logs', () => {
  test('JSON with service, level label and masked secrets', () => {
    telemetry.logger.info({ kafka: { sasl: { password: 'p4ss' } }, password: 'top' }, 'connecting');
    const line = lines.find((l) => l.msg === 'connecting');
    assert.ok(line);
    assert.equal(line.service, 'telemetry-test');
    assert.equal(line.level, 'info');
    assert.equal(line.version, '0.1.0');
    assert.ok(!JSON.stringify(line).includes('p4ss'));
    assert.ok(!JSON.stringify(line).includes('top'));
  });
});

// A minimal service built with the kit, on the real servers: readiness follows its broker
// (a private one, stopped and restarted here), /metrics shows the events that flowed, and a
// trace spans the publish and the consume.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { type PrivateKafka, startPrivateKafka } from '@scalewise/bus/test-support';
import { loadConfig } from '@scalewise/config';
import { createEvent, sampleData } from '@scalewise/events';
import { getStack, uniqueName, waitFor } from '@scalewise/testing';
import { createService, type Service } from './index.ts';

const spans = new InMemorySpanExporter();
const handled: string[] = [];
let kafka: PrivateKafka;
let service: Service;
let base: string;
let loaded: ReturnType<typeof loadConfig>;
const handlers = () => ({
  'io.scalewise.PoolMetricsObserved': async (e: { id: string }) => {
    handled.push(e.id);
  },
});

const readyz = async () => {
  const res = await fetch(`${base}/readyz`);
  return {
    status: res.status,
    body: (await res.json()) as {
      status: string;
      failing: string[];
      checks: Record<string, { error?: string }>;
    },
  };
};

/** /readyz once it answers `status`. */
const readyzOf = (status: number, timeoutMs: number, what: string) =>
  waitFor(
    async () => {
      const r = await readyz();
      return r.status === status ? r : undefined;
    },
    { timeoutMs, what },
  );

before(async () => {
  const stack = await getStack();
  kafka = await startPrivateKafka();
  const prefix = `${uniqueName('kit')}.`;
  loaded = loadConfig({
    text: `
autoscaler:
  pools: [{ name: workers }]
events:
  topic_prefix: "${prefix}"
  partitions: 2
  group_instance_id: kit-0
kafka:
  brokers: [${kafka.brokers.join(', ')}]
redis:
  url: ${stack.redis.url}
s3:
  endpoint: ${stack.s3.endpoint}
  region: ${stack.s3.region}
  bucket: ${uniqueName('kit-dlq')}
  access_key_id: ${stack.s3.accessKeyId}
  secret_access_key: ${stack.s3.secretAccessKey}
http:
  host: 127.0.0.1
  port: 0
telemetry:
  log_level: warn
shutdown_timeout_seconds: 20
`,
    env: {},
  });
  service = await createService({
    name: 'kit-test',
    version: '0.1.0',
    config: loaded,
    fromBeginning: true,
    handlers,
    telemetry: {
      spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
      logDestination: new Writable({ write: (_c, _e, done) => done() }),
    },
  });
  await service.start();
  base = await service.listen();
});

after(async () => {
  await service?.stop().catch(() => undefined);
  await kafka?.destroy();
});

describe('a service built with the kit', () => {
  test('/healthz and /readyz answer 200 with Kafka, Redis and S3 up', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const { status, body } = await readyz();
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(Object.keys(body.checks).sort(), ['consumer', 'kafka', 'redis', 's3', 'start']);
  });

  test('events flow: handled once, /metrics counts them, and one trace spans publish and consume', async () => {
    const tracer = trace.getTracer('kit-test');
    const events = Array.from({ length: 5 }, (_, i) =>
      createEvent(
        'io.scalewise.PoolMetricsObserved',
        { ...sampleData['io.scalewise.PoolMetricsObserved'], workers: i },
        { source: '/kit-test', clusterid: 'local' },
      ),
    );
    await tracer.startActiveSpan('test publishes', async (span) => {
      await service.bus.publisher.publish(...events);
      span.end();
    });
    await waitFor(() => handled.length >= 5, { timeoutMs: 30_000, what: 'five events handled' });
    assert.deepEqual([...handled].sort(), events.map((e) => e.id).sort());

    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(
      metrics,
      /scalewise_events_published_total\{event_type="io.scalewise.PoolMetricsObserved",topic="kit[^"]*\.metrics"\} 5/,
    );
    await waitFor(
      async () =>
        /scalewise_events_consumed_total\{[^}]*outcome="handled"[^}]*\} 5/.test(
          await (await fetch(`${base}/metrics`)).text(),
        ),
      { timeoutMs: 10_000, what: 'consumed_total 5' },
    );
    assert.match(metrics, /scalewise_event_publish_duration_seconds_count\{[^}]*\} 5/);

    const finished = await waitFor(
      () => {
        const all = spans.getFinishedSpans();
        return all.filter(
          (s) =>
            s.kind === SpanKind.CONSUMER &&
            s.attributes['cloudevents.event_type'] === 'io.scalewise.PoolMetricsObserved',
        ).length >= 5
          ? all
          : undefined;
      },
      { timeoutMs: 10_000, what: 'five consumer spans' },
    );
    const root = finished.find((s) => s.name === 'test publishes');
    assert.ok(root);
    for (const e of events) {
      const producer = finished.find(
        (s) => s.kind === SpanKind.PRODUCER && s.attributes['cloudevents.event_id'] === e.id,
      );
      const consumer = finished.find(
        (s) => s.kind === SpanKind.CONSUMER && s.attributes['cloudevents.event_id'] === e.id,
      );
      assert.ok(producer && consumer, `spans of ${e.id}`);
      assert.equal(
        producer.spanContext().traceId,
        root.spanContext().traceId,
        'publish is in the caller trace',
      );
      assert.equal(
        consumer.spanContext().traceId,
        root.spanContext().traceId,
        'consume is in the same trace',
      );
      assert.equal(
        consumer.parentSpanContext?.spanId,
        producer.spanContext().spanId,
        'consume is a child of publish',
      );
    }
  });

  test('/readyz turns 503 naming Kafka when the broker stops, and 200 when it returns', async () => {
    await kafka.stop();
    try {
      const down = await readyzOf(503, 30_000, '/readyz 503');
      // Kafka alone: the consumer, which kafkajs may give up on during the outage, is started
      // again by the bus and is not a failure of its own.
      assert.deepEqual(down.body.failing, ['kafka']);
      assert.match(down.body.checks.kafka?.error ?? '', /kafka 127\.0\.0\.1:\d+/);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /scalewise_dependency_up\{dependency="kafka"\} 0/);
      assert.match(metrics, /scalewise_dependency_up\{dependency="redis"\} 1/);
    } finally {
      // Whatever failed above, the broker comes back for the tests that follow.
      await kafka.start();
    }
    const up = await readyzOf(200, 60_000, '/readyz 200 again');
    assert.deepEqual(up.body.failing, []);
  });

  test('a second replica under the same instance id: the first is fenced and reports not ready, naming it', async () => {
    // The first replica is back in its group after the broker's restart (an event handled):
    // whichever of the two joins last holds the name, and that must be the twin here.
    const probe = createEvent(
      'io.scalewise.PoolMetricsObserved',
      sampleData['io.scalewise.PoolMetricsObserved'],
      {
        source: '/kit-test',
        clusterid: 'local',
      },
    );
    await service.bus.publisher.publish(probe);
    await waitFor(() => handled.includes(probe.id), {
      timeoutMs: 60_000,
      what: 'the first replica consuming',
    });
    const twin = await createService({
      name: 'kit-test',
      version: '0.1.0',
      config: loaded,
      handlers,
      telemetry: { logDestination: new Writable({ write: (_c, _e, done) => done() }) },
    });
    try {
      await twin.start();
      const fenced = await readyzOf(503, 30_000, '/readyz 503 on the fenced replica');
      assert.deepEqual(fenced.body.failing, ['consumer']);
      assert.match(fenced.body.checks.consumer?.error ?? '', /instance kit-0/);
      assert.match(fenced.body.checks.consumer?.error ?? '', /SCALEWISE_INSTANCE_ID/);
    } finally {
      await twin.stop();
    }
  });

  test('stop drains the consumer and closes the server', async () => {
    const stopping = service.stop();
    assert.equal(service.draining, true);
    await stopping;
    await assert.rejects(fetch(`${base}/healthz`));
  });
});

/**
 * NodeSDK as the services start it, exporting to a real OTLP/HTTP receiver: a small HTTP
 * server on 127.0.0.1 in this test that records every request. The OTEL_* variables are set
 * in process.env because NodeSDK reads them there; each test restores them.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, afterEach, before, describe, test } from 'node:test';
import { startPublishSpans } from '@scalewise/bus';
import { createEvent, sampleData } from '@scalewise/events';
import { createTelemetry } from './index.ts';

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

let server: Server;
let base: string;
const received: Received[] = [];
const quiet = new Writable({ write: (_c, _e, done) => done() });

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });

before(async () => {
  server = createServer((req, res) => {
    void readBody(req).then((body) => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const otelVars = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_SDK_DISABLED',
];
afterEach(() => {
  for (const k of otelVars) delete process.env[k];
  received.length = 0;
});

const publishOne = () => {
  const event = createEvent(
    'io.scalewise.PendingPodsDetected',
    sampleData['io.scalewise.PendingPodsDetected'],
    { source: '/test', clusterid: 'local' },
  );
  const published = startPublishSpans([event], () => 'scalewise.signals');
  published.end();
  return published.events[0];
};

describe('OTLP/HTTP export through NodeSDK', () => {
  test('with OTEL_EXPORTER_OTLP_ENDPOINT a span reaches the endpoint, named by OTEL_SERVICE_NAME', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = base;
    process.env.OTEL_SERVICE_NAME = 'otel-named-service';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=int-test';
    const telemetry = createTelemetry({ service: 'scalewise-name', logDestination: quiet });
    const sent = publishOne();
    assert.ok(sent?.traceparent, 'the event carries its producer span');
    // Shutting down flushes the batch processor.
    await telemetry.shutdown();

    const traces = received.filter((r) => r.url === '/v1/traces');
    assert.equal(traces.length, 1, `one export request, got ${received.map((r) => r.url).join(', ')}`);
    const [request] = traces;
    assert.equal(request?.method, 'POST');
    assert.match(request?.contentType ?? '', /application\/json/);
    const body = JSON.parse(request?.body ?? '{}') as {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: { name: string; traceId: string }[] }[];
      }[];
    };
    const [resourceSpans] = body.resourceSpans;
    const attr = (key: string) =>
      resourceSpans?.resource.attributes.find((a) => a.key === key)?.value.stringValue;
    assert.equal(attr('service.name'), 'otel-named-service', 'OTEL_SERVICE_NAME wins');
    assert.equal(attr('deployment.environment.name'), 'int-test', 'OTEL_RESOURCE_ATTRIBUTES is read');
    const spans = resourceSpans?.scopeSpans.flatMap((s) => s.spans) ?? [];
    const span = spans.find((s) => s.name === 'publish scalewise.signals');
    assert.ok(span, `the publish span was exported: ${spans.map((s) => s.name).join(', ')}`);
    assert.ok(sent.traceparent.includes(span.traceId), 'the exported span is the event traceparent');
  });

  test('with OTEL_SDK_DISABLED=true nothing is exported and events carry no new traceparent', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = base;
    process.env.OTEL_SDK_DISABLED = 'true';
    const telemetry = createTelemetry({ service: 'disabled', logDestination: quiet });
    const sent = publishOne();
    assert.equal(sent?.traceparent, undefined, 'no SDK: the API is a no-op');
    await telemetry.shutdown();
    // The enabled case above exports during shutdown; give a stray request time anyway.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(received, []);
  });

  test('the config key sends traces without any OTEL_* variable', async () => {
    const telemetry = createTelemetry({
      service: 'from-config',
      config: { otlp_traces_endpoint: `${base}/custom/traces` },
      logDestination: quiet,
    });
    publishOne();
    await telemetry.shutdown();
    assert.deepEqual(
      received.map((r) => r.url),
      ['/custom/traces'],
    );
  });
});

/**
 * One call gives a service its telemetry: OpenTelemetry tracing (OTLP/HTTP export when
 * configured, off by default; W3C traceparent propagation; the bus creates the Kafka spans),
 * a per-service Prometheus registry for /metrics, and the pino logger.
 *
 * Tracing is the SDK's TracerProvider registered with an AsyncLocalStorage context manager
 * and the W3C propagator: the three things `@opentelemetry/sdk-node`'s NodeSDK did for us.
 * NodeSDK itself is not used: it imports every exporter it can configure from OTEL_*
 * variables (gRPC, protobuf, Zipkin, logs, metrics), which cost each service about 20 MiB
 * of idle RSS (bench/README.md) for code it never ran.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { createLogger, type Logger } from './logger.ts';
import { createServiceMetrics, type ServiceMetrics } from './metrics.ts';

export interface TelemetryOptions {
  service: string;
  version?: string;
  /** packages/config's `telemetry` section. */
  config?: {
    log_level?: string;
    otlp_traces_endpoint?: string | undefined;
    trace_sample_ratio?: number;
  };
  /** Extra span processors (tests add a SimpleSpanProcessor over an InMemorySpanExporter). */
  spanProcessors?: SpanProcessor[];
  /** Log destination. @default stdout */
  logDestination?: Parameters<typeof createLogger>[0]['destination'];
  /** Extra base fields of every log line. */
  logBase?: Record<string, unknown>;
}

export interface Telemetry {
  service: string;
  logger: Logger;
  metrics: ServiceMetrics;
  tracer: ReturnType<typeof trace.getTracer>;
  /** Ends the SDK (flushing spans) and the metrics registry. */
  shutdown(): Promise<void>;
}

/** The process's one tracer provider: the first service to start it sets it up. */
let sdk:
  | {
      instance: TracerProvider;
      contextManager: AsyncLocalStorageContextManager;
      users: number;
      service: string;
    }
  | undefined;

/**
 * The OTLP/HTTP exporter, created on the first export: its module (and the OTLP transformer
 * under it) is loaded only by a service configured to send traces.
 */
function lazyOtlpExporter(url: string): SpanExporter {
  let exporter: Promise<SpanExporter> | undefined;
  const get = () =>
    (exporter ??= import('@opentelemetry/exporter-trace-otlp-http').then(
      ({ OTLPTraceExporter }) => new OTLPTraceExporter({ url }),
    ));
  return {
    export(spans, done) {
      get().then(
        (e) => e.export(spans, done),
        (error: Error) => done({ code: 1, error }),
      );
    },
    shutdown: () => (exporter ? exporter.then((e) => e.shutdown()) : Promise.resolve()),
    forceFlush: () => (exporter ? exporter.then((e) => e.forceFlush?.()) : Promise.resolve()),
  };
}

function startTracing(options: TelemetryOptions, logger: Logger): void {
  if (sdk) {
    sdk.users += 1;
    if (options.spanProcessors?.length) {
      logger.warn(
        { first: sdk.service },
        'tracing already started in this process; extra span processors ignored',
      );
    }
    return;
  }
  const endpoint = options.config?.otlp_traces_endpoint;
  const processors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (endpoint) processors.push(new BatchSpanProcessor({ exporter: lazyOtlpExporter(endpoint) }));
  // Without any exporter spans are still created, so log lines and events carry trace ids.
  if (processors.length === 0) processors.push(new NoopSpanProcessor());
  const instance = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.service,
      ...(options.version ? { [ATTR_SERVICE_VERSION]: options.version } : {}),
    }),
    spanProcessors: processors,
    sampler: new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(options.config?.trace_sample_ratio ?? 1),
    }),
  });
  // No @opentelemetry/instrumentation-kafkajs: see this package's README ("Kafka spans").
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(instance);
  sdk = { instance, contextManager, users: 1, service: options.service };
  logger.info({ otlp: endpoint ?? 'off' }, 'tracing started');
}

export function createTelemetry(options: TelemetryOptions): Telemetry {
  const logger = createLogger({
    service: options.service,
    level: options.config?.log_level ?? 'info',
    ...(options.logDestination ? { destination: options.logDestination } : {}),
    base: { ...(options.version ? { version: options.version } : {}), ...options.logBase },
  });
  startTracing(options, logger);
  const metrics = createServiceMetrics(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.service,
      ...(options.version ? { [ATTR_SERVICE_VERSION]: options.version } : {}),
    }),
  );
  let closed = false;
  return {
    service: options.service,
    logger,
    metrics,
    tracer: trace.getTracer(options.service, options.version),
    async shutdown() {
      if (closed) return;
      closed = true;
      await metrics.shutdown();
      if (sdk) {
        sdk.users -= 1;
        if (sdk.users === 0) {
          const { instance, contextManager } = sdk;
          sdk = undefined;
          await instance.shutdown();
          trace.disable();
          propagation.disable();
          context.disable();
          contextManager.disable();
        }
      }
    },
  };
}

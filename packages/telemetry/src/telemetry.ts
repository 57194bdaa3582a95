/**
 * One call gives a service its telemetry: the OpenTelemetry SDK for traces (OTLP/HTTP export
 * when configured, off by default; W3C traceparent propagation; AsyncLocalStorage context;
 * the bus creates the Kafka spans), a per-service Prometheus registry for /metrics, and the
 * pino logger.
 *
 * The SDK is composed from its parts (sdk-trace, context-async-hooks, core) rather than
 * through @opentelemetry/sdk-node: sdk-node loads every exporter it can configure from
 * OTEL_* (gRPC, protobuf, Zipkin, logs), about 35 MiB of idle memory per service that this
 * configuration never uses (bench/idle-rss.mjs).
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  ParentBasedSampler,
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

/** The process's one tracing SDK: the first service to start it sets it up. */
let sdk: { provider: TracerProvider; users: number; service: string } | undefined;

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
  if (endpoint)
    processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: endpoint }) }));
  // Without any exporter spans are still created, so log lines and events carry trace ids.
  if (processors.length === 0) processors.push(new NoopSpanProcessor());
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.service,
      ...(options.version ? { [ATTR_SERVICE_VERSION]: options.version } : {}),
    }),
    spanProcessors: processors,
    sampler: new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(options.config?.trace_sample_ratio ?? 1),
    }),
  });
  // No @opentelemetry/instrumentation-kafkajs: it patches kafkajs only when loaded through
  // require(), not from the ES modules the services are, and its spans would duplicate the
  // bus's own PRODUCER/CONSUMER spans (packages/bus/src/tracing.ts), which are the ones that
  // follow the CloudEvent's traceparent.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  sdk = { provider, users: 1, service: options.service };
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
          const { provider } = sdk;
          sdk = undefined;
          await provider.shutdown();
          trace.disable();
          propagation.disable();
          context.disable();
        }
      }
    },
  };
}

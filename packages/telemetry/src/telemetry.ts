/**
 * One call gives a service its telemetry: the OpenTelemetry Node SDK for traces (OTLP/HTTP
 * export when configured, off by default; W3C traceparent propagation; the bus creates the
 * Kafka spans), a per-service Prometheus registry for /metrics, and the pino logger.
 */
import { trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  ParentBasedSampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
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
let sdk: { instance: NodeSDK; users: number; service: string } | undefined;

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
  const instance = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.service,
      ...(options.version ? { [ATTR_SERVICE_VERSION]: options.version } : {}),
    }),
    autoDetectResources: false,
    spanProcessors: processors,
    sampler: new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(options.config?.trace_sample_ratio ?? 1),
    }),
    textMapPropagator: new W3CTraceContextPropagator(),
    // Explicitly empty: the SDK would otherwise read OTEL_* and push metrics and logs over OTLP.
    metricReaders: [],
    logRecordProcessors: [],
    // No @opentelemetry/instrumentation-kafkajs: it patches kafkajs only when loaded through
    // require(), not from the ES modules the services are, and its spans would duplicate the
    // bus's own PRODUCER/CONSUMER spans (packages/bus/src/tracing.ts), which are the ones
    // that follow the CloudEvent's traceparent.
    instrumentations: [],
  });
  instance.start();
  sdk = { instance, users: 1, service: options.service };
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
          const { instance } = sdk;
          sdk = undefined;
          await instance.shutdown();
        }
      }
    },
  };
}

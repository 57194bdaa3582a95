/**
 * One call gives a service its telemetry: OpenTelemetry tracing through `@opentelemetry/sdk-node`'s
 * NodeSDK (the standard `OTEL_*` variables work; OTLP/HTTP export when an endpoint is
 * configured; W3C traceparent propagation; the bus creates the Kafka spans), a per-service
 * Prometheus registry for /metrics, and the pino logger.
 *
 * NodeSDK is given what it would otherwise build from `OTEL_*` variables with every exporter
 * it knows: the span processors (OTLP/HTTP when configured, see tracing-settings.ts), no
 * metric readers (each service keeps its own Prometheus registry, metrics.ts) and no log
 * processors (pino writes the logs). The images' bundle leaves out the exporters NodeSDK
 * imports and this never constructs (scripts/build-service.mjs, "OpenTelemetry exporters").
 */
import { context, logs, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  envDetector,
  processDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NoopSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { createLogger, type Logger } from './logger.ts';
import { createServiceMetrics, type ServiceMetrics } from './metrics.ts';
import { type Env, type TracingConfig, tracingSettings } from './tracing-settings.ts';

export interface TelemetryOptions {
  service: string;
  version?: string;
  /** packages/config's `telemetry` section. */
  config?: TracingConfig & { log_level?: string };
  /**
   * The environment the `OTEL_*` variables are read from. NodeSDK itself reads
   * `process.env` (OTEL_SDK_DISABLED, the sampler, the resource); this is for the mapping
   * of tracing-settings.ts. @default process.env
   */
  env?: Env;
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

/** The process's one NodeSDK: the first service to start it sets it up. */
let sdk:
  | {
      instance: NodeSDK;
      contextManager: AsyncLocalStorageContextManager;
      users: number;
      service: string;
    }
  | undefined;

/**
 * The OTLP/HTTP exporter, created on the first export: its module (and the OTLP transformer
 * under it) is loaded only by a service configured to send traces, and in the images' bundle
 * it is a chunk of its own read then.
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
  const settings = tracingSettings(options.config, options.env ?? process.env);
  for (const warning of settings.warnings) logger.warn(warning);
  const extra = options.spanProcessors ?? [];
  const exporter = settings.endpoint ? lazyOtlpExporter(settings.endpoint) : undefined;
  const processors: SpanProcessor[] = [...extra];
  if (settings.console) processors.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
  if (exporter && processors.length > 0) processors.push(new BatchSpanProcessor({ exporter }));
  // Without any exporter spans are still created, so log lines and events carry trace ids.
  if (!exporter && processors.length === 0) processors.push(new NoopSpanProcessor());
  const contextManager = new AsyncLocalStorageContextManager();
  const instance = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.service,
      ...(options.version ? { [ATTR_SERVICE_VERSION]: options.version } : {}),
    }),
    // Synchronous detectors only (NodeSDK's default host detector reads the machine id
    // asynchronously, and processors hold each span until it has): OTEL_SERVICE_NAME and
    // OTEL_RESOURCE_ATTRIBUTES (env), pid and runtime, an instance id.
    // OTEL_NODE_RESOURCE_DETECTORS, when set, chooses instead.
    ...(settings.customDetectors
      ? {}
      : { resourceDetectors: [envDetector, processDetector, serviceInstanceIdDetector] }),
    contextManager,
    // The exporter alone: NodeSDK wraps it in a batch processor read from OTEL_BSP_*.
    ...(exporter && processors.length === 0 ? { traceExporter: exporter } : { spanProcessors: processors }),
    ...(settings.sampleRatio !== undefined
      ? { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }) }
      : {}),
    metricReaders: [],
    logRecordProcessors: [],
    // No @opentelemetry/instrumentation-kafkajs: see this package's README ("Kafka spans").
    instrumentations: [],
  });
  instance.start();
  sdk = { instance, contextManager, users: 1, service: options.service };
  logger.info(
    settings.disabled
      ? { tracing: 'off (OTEL_SDK_DISABLED)' }
      : { otlp: settings.endpoint ?? 'off', otlp_from: settings.endpointFrom },
    'tracing started',
  );
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
          // Flushes the batch processor: spans still queued are exported now.
          await instance.shutdown();
          // NodeSDK leaves the API's globals registered; a later start in this process
          // (tests, two services in one process) registers its own.
          trace.disable();
          propagation.disable();
          logs.disable();
          context.disable();
          contextManager.disable();
        }
      }
    },
  };
}

/**
 * How the project's `telemetry` config section and the standard `OTEL_*` variables combine
 * into the tracing the service starts. Pure: the environment is an argument.
 *
 * Precedence of the traces endpoint, first set wins (docs/configuration.md, "Telemetry"):
 * 1. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as is (packages/config also binds it to
 *    `telemetry.otlp_traces_endpoint`, so it wins over the file there too);
 * 2. `telemetry.otlp_traces_endpoint` of the config file, used as is;
 * 3. `OTEL_EXPORTER_OTLP_ENDPOINT`, with `/v1/traces` appended (the OTLP specification's rule);
 * 4. none: spans are created (log lines and events carry trace ids) and not exported.
 * The signal-specific endpoint beats the generic one, as the specification has it, whether it
 * comes from the environment or the file.
 *
 * The sampler: `OTEL_TRACES_SAMPLER` (with `OTEL_TRACES_SAMPLER_ARG`) when set, read by
 * NodeSDK; otherwise parent-based with `telemetry.trace_sample_ratio` for new traces.
 * `OTEL_SDK_DISABLED=true` turns tracing off entirely (NodeSDK registers nothing, so the API
 * stays a no-op and events keep the traceparent they came with). `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES` are read by NodeSDK's resource detectors and win over the
 * service's own name.
 */

export interface TracingConfig {
  otlp_traces_endpoint?: string | undefined;
  trace_sample_ratio?: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface TracingSettings {
  /** `OTEL_SDK_DISABLED` is true: no SDK is registered at all. */
  disabled: boolean;
  /** Where spans go over OTLP/HTTP (JSON), or undefined when they are not exported. */
  endpoint: string | undefined;
  /** What set `endpoint` (for the start-up log line). */
  endpointFrom:
    | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
    | 'telemetry.otlp_traces_endpoint'
    | 'OTEL_EXPORTER_OTLP_ENDPOINT'
    | 'none';
  /** Spans also printed to stdout (`OTEL_TRACES_EXPORTER=console`). */
  console: boolean;
  /** The ratio for new traces, or undefined when `OTEL_TRACES_SAMPLER` decides. */
  sampleRatio: number | undefined;
  /** `OTEL_NODE_RESOURCE_DETECTORS` is set: NodeSDK's resource detectors are chosen by it. */
  customDetectors: boolean;
  /** Settings asked for that the service does not ship; each a sentence for the log. */
  warnings: string[];
}

const set = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/** The exporters a service ships: OTLP over HTTP (JSON) and the console one. */
const shippedExporters = new Set(['otlp', 'console', 'none']);

/**
 * Maps the config section and the environment to the tracing to start.
 * Never throws: a value it cannot honour becomes a warning and is ignored.
 */
export function tracingSettings(config: TracingConfig | undefined, env: Env): TracingSettings {
  const warnings: string[] = [];
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';

  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const e of exporters) {
    if (!shippedExporters.has(e)) {
      warnings.push(`OTEL_TRACES_EXPORTER=${e} is not shipped (otlp, console, none are): ignored`);
    }
  }
  const none = exporters.includes('none');
  // Unset means otlp, as in the specification; an endpoint is still needed to send anything.
  const otlp = !none && (exporters.length === 0 || exporters.includes('otlp'));

  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (otlp && set(protocol) && protocol.trim() !== 'http/json') {
    warnings.push(`OTLP protocol ${protocol.trim()} is not shipped: traces are sent as http/json`);
  }

  let endpoint: string | undefined;
  let endpointFrom: TracingSettings['endpointFrom'] = 'none';
  if (set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)) {
    endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.trim();
    endpointFrom = 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT';
  } else if (set(config?.otlp_traces_endpoint)) {
    endpoint = config.otlp_traces_endpoint.trim();
    endpointFrom = 'telemetry.otlp_traces_endpoint';
  } else if (set(env.OTEL_EXPORTER_OTLP_ENDPOINT)) {
    endpoint = `${env.OTEL_EXPORTER_OTLP_ENDPOINT.trim().replace(/\/+$/, '')}/v1/traces`;
    endpointFrom = 'OTEL_EXPORTER_OTLP_ENDPOINT';
  }
  if (!otlp) {
    endpoint = undefined;
    endpointFrom = 'none';
  }

  const sampleRatio = set(env.OTEL_TRACES_SAMPLER) ? undefined : (config?.trace_sample_ratio ?? 1);
  return {
    disabled,
    endpoint: disabled ? undefined : endpoint,
    endpointFrom: disabled ? 'none' : endpointFrom,
    console: !disabled && !none && exporters.includes('console'),
    sampleRatio,
    customDetectors: set(env.OTEL_NODE_RESOURCE_DETECTORS),
    warnings: disabled ? [] : warnings,
  };
}

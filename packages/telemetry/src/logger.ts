/**
 * pino JSON logs with the active span's trace and span ids, so a log line leads to its trace
 * and its chain of events. Secrets are masked wherever they appear under a known key.
 */
import { trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerConfig {
  service: string;
  level?: LoggerOptions['level'];
  /** @default stdout */
  destination?: DestinationStream;
  /** Extra base fields (version, cluster id). */
  base?: Record<string, unknown>;
}

/** Keys masked in every log line. */
export const redactedPaths = [
  'password',
  'secret_access_key',
  'secretAccessKey',
  'api_token',
  'authorization',
].flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { service: config.service, pid: process.pid, ...config.base },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: redactedPaths, censor: '***' },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}

/** A child logger carrying an event's correlation fields (seed 003's log shape). */
export function eventLogger(
  logger: Logger,
  event: { id: string; type: string; correlationid?: string; causationid?: string },
): Logger {
  return logger.child({
    event_id: event.id,
    event_type: event.type,
    ...(event.correlationid ? { correlation_id: event.correlationid } : {}),
    ...(event.causationid ? { causation_id: event.causationid } : {}),
  });
}

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

/**
 * A URL with the value of every `token` / `access_token` query parameter replaced by
 * `[redacted]`: the WebSocket takes its bearer token in the query (browsers cannot set its
 * headers), and a request line must not carry it into the logs.
 */
export function redactUrlTokens(url: string): string {
  return url.replace(/([?&;](?:access_)?token=)[^&#;]*/gi, '$1[redacted]');
}

const hasUrlToken = /[?&;](?:access_)?token=/i;

/**
 * The request as fastify's own serializer writes it (method, url, host, remote address and
 * port), with the URL's tokens redacted. fastify takes a logger instance's `req` serializer
 * over its own.
 */
function requestSerializer(req: {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? redactUrlTokens(req.url) : req.url,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { service: config.service, pid: process.pid, ...config.base },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      // A URL logged under any key (a plugin's `path`, a `url`) loses its tokens too.
      log(object) {
        let out = object;
        for (const [k, v] of Object.entries(object)) {
          if (typeof v === 'string' && hasUrlToken.test(v)) {
            if (out === object) out = { ...object };
            out[k] = redactUrlTokens(v);
          }
        }
        return out;
      },
    },
    serializers: { req: requestSerializer },
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

/** kafkajs' numeric levels (NOTHING 0, ERROR 1, WARN 2, INFO 4, DEBUG 5) as pino methods. */
const kafkaLevels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  1: 'error',
  2: 'warn',
  4: 'info',
  5: 'debug',
};

/**
 * A kafkajs `logCreator` writing into the service's pino logger (one JSON stream, with trace
 * ids), instead of kafkajs' own console logger.
 */
export function kafkajsLogCreator(logger: Logger) {
  const log = logger.child({ component: 'kafkajs' });
  return () =>
    ({
      level,
      log: entry,
    }: {
      namespace: string;
      level: number;
      label: string;
      log: { message: string } & Record<string, unknown>;
    }) => {
      const { message, timestamp: _t, logger: _l, ...fields } = entry;
      log[kafkaLevels[level] ?? 'info'](fields, message);
    };
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

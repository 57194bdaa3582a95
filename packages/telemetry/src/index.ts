export {
  createLogger,
  eventLogger,
  kafkajsLogCreator,
  type Logger,
  type LoggerConfig,
  redactedPaths,
  redactUrlTokens,
} from './logger.ts';
export {
  breakerStateValue,
  createServiceMetrics,
  type PoolGauges,
  type ServiceMetrics,
  type WorkerState,
} from './metrics.ts';
export { createTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.ts';

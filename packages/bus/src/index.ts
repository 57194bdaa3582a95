export { type BreakerState, type BusMetrics, noopBusMetrics } from './metrics.ts';

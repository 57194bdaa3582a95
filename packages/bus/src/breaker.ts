/**
 * Circuit breakers (opossum) around the bus's dependencies: the producer, S3, Redis. An open
 * breaker fails fast with ScalewiseError CIRCUIT_OPEN (retriable); the subscriber reacts by
 * pausing the partition, not by failing the record. State changes go to the metrics port
 * and to an optional listener (the service may publish them as events).
 */
import { ScalewiseError } from '@scalewise/errors';
import CircuitBreaker from 'opossum';
import type { BreakerState, BusMetrics } from './metrics.ts';

export interface BreakerOptions {
  /** Call timeout. @default 10000 */
  timeoutMs?: number;
  /** Failure percentage that opens the breaker. @default 50 */
  errorThresholdPercentage?: number;
  /** Time open before a trial call. @default 5000 */
  resetTimeoutMs?: number;
  /** Calls in the rolling window before the percentage counts. @default 5 */
  volumeThreshold?: number;
}

export interface Breaker {
  readonly name: string;
  call<T>(fn: () => Promise<T>): Promise<T>;
  state(): BreakerState;
  shutdown(): void;
}

export function createBreaker(
  name: string,
  options: BreakerOptions = {},
  metrics?: BusMetrics,
  onState?: (name: string, state: BreakerState) => void,
): Breaker {
  const cb = new CircuitBreaker((fn: () => Promise<unknown>) => fn(), {
    name,
    timeout: options.timeoutMs ?? 10_000,
    errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
    resetTimeout: options.resetTimeoutMs ?? 5_000,
    volumeThreshold: options.volumeThreshold ?? 5,
    // Non-retriable errors are the caller's bug or bad input, not the dependency's health.
    errorFilter: (err: unknown) => err instanceof ScalewiseError && !err.retriable,
  });
  const report = (s: BreakerState) => {
    metrics?.breakerState(name, s);
    onState?.(name, s);
  };
  cb.on('open', () => report('open'));
  cb.on('halfOpen', () => report('half_open'));
  cb.on('close', () => report('closed'));
  report('closed');
  return {
    name,
    async call<T>(fn: () => Promise<T>): Promise<T> {
      try {
        return (await cb.fire(fn)) as T;
      } catch (err) {
        if (cb.opened && (err as { code?: string }).code === 'EOPENBREAKER') {
          throw new ScalewiseError('CIRCUIT_OPEN', `circuit breaker '${name}' is open`, { cause: err });
        }
        if ((err as { code?: string }).code === 'ETIMEDOUT' && !(err instanceof ScalewiseError)) {
          throw new ScalewiseError('TIMEOUT', `${name}: call timed out`, { cause: err });
        }
        throw err;
      }
    },
    state: () => (cb.opened ? 'open' : cb.halfOpen ? 'half_open' : 'closed'),
    shutdown: () => cb.shutdown(),
  };
}

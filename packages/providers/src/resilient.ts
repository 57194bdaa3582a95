/**
 * The decorator every service puts around its providers: each call (create, remove, list)
 * retried by the bus's policy (packages/bus `withRetry`: retriable errors only, never a
 * TypeError), and, when asked, through a circuit breaker per provider (`provider-<name>`,
 * created on first use, its states reported to the bus's metrics and to `onBreakerState`).
 *
 * - An open breaker is not retried: it answers the same until it half-opens (CIRCUIT_OPEN,
 *   not retriable, its message the breaker's).
 * - An error its provider already retried by the bus's policy (`details.retried`, the external
 *   provider's) is not retried again.
 * - Out of attempts: the bus's ScalewiseError RETRIES_EXHAUSTED, the last error its cause
 *   ({@link lastError} reads through it).
 * The worker watch of a `pods` provider is passed through as it is.
 */
import {
  type Breaker,
  type BreakerOptions,
  type BreakerState,
  type BusMetrics,
  createBreaker,
  type RetryPolicy,
  withRetry,
} from '@scalewise/bus';
import { ScalewiseError } from '@scalewise/errors';
import type { Provider } from './provider.ts';

/** What a provider's calls are retried by, and where its breakers report: the bus's. */
export interface CallResilience {
  /** The bus's policy (`events.retry`, packages/service `retryPolicyOf`). */
  retry: RetryPolicy;
  metrics?: BusMetrics;
  onBreakerState?: (name: string, state: BreakerState) => void;
  /** Retry waits (tests). */
  sleep?: (ms: number) => Promise<void>;
}

export interface ResilienceOptions extends CallResilience {
  /** The name the provider is used under (`k3s-docker`), in its breaker's. @default provider.name */
  name?: string;
  /** A breaker per provider with these settings (`events.breaker`). @default none */
  breaker?: BreakerOptions;
}

export interface ResilientProvider extends Provider {
  /** The provider's breaker, once a call made it. */
  breakers(): Breaker[];
  shutdown(): void;
}

/** A ScalewiseError that stops the retries: thrown inside, its cause thrown out. */
const FINAL = 'providerFinal';
const final = (err: unknown) =>
  new ScalewiseError('INTERNAL', err instanceof Error ? err.message : String(err), {
    retriable: false,
    cause: err,
    details: { [FINAL]: true },
  });

/**
 * The error behind a call that failed after the retries (the cause of RETRIES_EXHAUSTED), or
 * the error itself: what a failed action names.
 */
export function lastError(err: unknown): unknown {
  return err instanceof ScalewiseError && err.code === 'RETRIES_EXHAUSTED' && err.cause !== undefined
    ? err.cause
    : err;
}

/** `provider` with retries by `options.retry` and, when `options.breaker` is given, a breaker. */
export function resilient(provider: Provider, options: ResilienceOptions): ResilientProvider {
  let breaker: Breaker | undefined;
  const breakerOf = (o: BreakerOptions): Breaker => {
    breaker ??= createBreaker(
      `provider-${options.name ?? provider.name}`,
      o,
      options.metrics,
      options.onBreakerState,
    );
    return breaker;
  };
  const once = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return options.breaker ? await breakerOf(options.breaker).call(fn) : await fn();
    } catch (err) {
      if (err instanceof ScalewiseError && err.details.retried === true) throw final(err);
      if (err instanceof ScalewiseError && err.code === 'CIRCUIT_OPEN') {
        // An open breaker answers the same until it half-opens: retrying now only waits.
        throw new ScalewiseError('CIRCUIT_OPEN', err.message, { retriable: false, cause: err });
      }
      throw err;
    }
  };
  const reliably = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      const { value } = await withRetry(() => once(fn), options.retry, {
        ...(options.sleep ? { sleep: options.sleep } : {}),
      });
      return value;
    } catch (err) {
      if (err instanceof ScalewiseError && err.details[FINAL] === true) throw err.cause;
      throw err;
    }
  };
  return {
    name: provider.name,
    create: (pool, nodes, actionId, createOptions) =>
      reliably(() => provider.create(pool, nodes, actionId, createOptions)),
    remove: (pool, node) => reliably(() => provider.remove(pool, node)),
    list: (pool) => reliably(() => provider.list(pool)),
    ...(provider.workers ? { workers: provider.workers } : {}),
    breakers: () => (breaker ? [breaker] : []),
    shutdown: () => breaker?.shutdown(),
  };
}

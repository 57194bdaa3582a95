/**
 * The provider's view for state-sync: each pool's instances listed through the shared
 * providers (packages/providers, the registry node-manager creates and removes workers
 * with), each provider behind the shared decorator: a circuit breaker per provider
 * (`provider-<name>`) and bounded retries with backoff by the bus's policy. A listing that
 * fails is returned as {@link ProviderUnavailable}, never thrown and never an empty list, so
 * the core cannot mistake a provider outage for every instance gone.
 */
import type { Breaker, BreakerOptions, BreakerState, BusMetrics, RetryPolicy } from '@scalewise/bus';
import type { PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { type Provider, type ResilientProvider, resilient } from '@scalewise/providers';
import type { ProviderView } from '../core/index.ts';

export interface InstanceSource {
  /** The pool's instances, or why they could not be listed. Never throws. */
  list(pool: PoolConfig): Promise<ProviderView>;
  /** Each provider's breaker (created on first use). */
  breakers(): Breaker[];
  shutdown(): void;
}

export interface InstanceSourceDeps {
  /** Provider name (a pool's `provider`) -> implementation. */
  providers: Readonly<Record<string, Provider>>;
  breaker: BreakerOptions;
  retry: RetryPolicy;
  metrics?: BusMetrics;
  onBreakerState?: (name: string, state: BreakerState) => void;
  /** Retry waits (tests). */
  sleep?: (ms: number) => Promise<void>;
}

export function createInstanceSource(deps: InstanceSourceDeps): InstanceSource {
  const { providers, ...options } = deps;
  const guarded = new Map<string, ResilientProvider>(
    Object.entries(providers).map(([name, p]) => [name, resilient(p, { ...options, name })]),
  );
  return {
    async list(pool) {
      const provider = guarded.get(pool.provider);
      if (!provider) {
        return {
          unavailable: true,
          code: 'INVALID_CONFIG',
          message: `provider '${pool.provider}' of pool '${pool.name}' is not available in state-sync`,
        };
      }
      try {
        return await provider.list(pool);
      } catch (err) {
        return {
          unavailable: true,
          code: err instanceof ScalewiseError ? err.code : 'INTERNAL',
          message: err instanceof Error ? err.message : String(err),
        };
      }
    },
    breakers: () => [...guarded.values()].flatMap((p) => p.breakers()),
    shutdown() {
      for (const p of guarded.values()) p.shutdown();
    },
  };
}

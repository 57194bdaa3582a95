/**
 * The provider's view for state-sync: each pool's instances listed through node-manager's own
 * providers (`@scalewise/node-manager/providers`), every listing through a circuit breaker per
 * provider (`provider-<name>`) and bounded retries with backoff (packages/bus). A listing that
 * fails is returned as {@link ProviderUnavailable}, never thrown and never an empty list, so
 * the core cannot mistake a provider outage for every instance gone.
 */

import type { BreakerState } from '@scalewise/bus';
import {
  type Breaker,
  type BreakerOptions,
  type BusMetrics,
  createBreaker,
  type RetryPolicy,
  withRetry,
} from '@scalewise/bus';
import type { PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import type { Kube } from '@scalewise/kube';
import {
  createDockerClient,
  type DockerApi,
  type DockerEnv,
  dockerProvider,
  externalProvider,
  isDockerPool,
  kwokProvider,
  type Provider,
  parseDockerHost,
  podsProvider,
} from '@scalewise/node-manager/providers';
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
  const breakers = new Map<string, Breaker>();
  const breakerOf = (provider: string): Breaker => {
    let b = breakers.get(provider);
    if (!b) {
      b = createBreaker(`provider-${provider}`, deps.breaker, deps.metrics, deps.onBreakerState);
      breakers.set(provider, b);
    }
    return b;
  };
  return {
    async list(pool) {
      const provider = deps.providers[pool.provider];
      if (!provider) {
        return {
          unavailable: true,
          code: 'INVALID_CONFIG',
          message: `provider '${pool.provider}' of pool '${pool.name}' is not available in state-sync`,
        };
      }
      const breaker = breakerOf(pool.provider);
      try {
        const { value } = await withRetry(
          async () => {
            try {
              return await breaker.call(() => provider.list(pool));
            } catch (err) {
              // An open breaker answers the same until it half-opens: retrying now only waits.
              if (err instanceof ScalewiseError && err.code === 'CIRCUIT_OPEN') {
                throw new ScalewiseError('CIRCUIT_OPEN', err.message, { retriable: false, cause: err });
              }
              throw err;
            }
          },
          deps.retry,
          deps.sleep ? { sleep: deps.sleep } : {},
        );
        return value;
      } catch (err) {
        return {
          unavailable: true,
          code: err instanceof ScalewiseError ? err.code : 'INTERNAL',
          message: err instanceof Error ? err.message : String(err),
        };
      }
    },
    breakers: () => [...breakers.values()],
    shutdown() {
      for (const b of breakers.values()) b.shutdown();
    },
  };
}

/**
 * The providers the configured pools use, built as node-manager builds them: `kwok` (the node
 * is its own instance), `pods` (worker pods; only its `list()` is used, its watch is never
 * started here), `docker`/`k3s-docker` (containers on DOCKER_HOST; listing needs no k3s join
 * settings, so state-sync is given none) and `external` (each pool's provisioner, `GET
 * /pools/{pool}/workers`; its settings checked here as node-manager checks them).
 */
export function openProviders(o: {
  kube: Kube;
  pools: readonly PoolConfig[];
  env: DockerEnv;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  /** The Docker API client (tests). @default one for env.DOCKER_HOST */
  docker?: DockerApi;
}): Record<string, Provider> {
  const providers: Record<string, Provider> = { kwok: kwokProvider(o.kube) };
  const podsPools = o.pools.filter((p) => p.provider === 'pods');
  if (podsPools.length > 0) providers.pods = podsProvider({ kube: o.kube, pools: podsPools, log: o.log });
  if (o.pools.some(isDockerPool)) {
    const api =
      o.docker ??
      createDockerClient({
        endpoint: parseDockerHost(o.env.DOCKER_HOST),
        ...(o.env.DOCKER_API_VERSION?.trim() ? { apiVersion: o.env.DOCKER_API_VERSION.trim() } : {}),
      });
    // No pools given: their k3s join settings (server URL, token) are for creating, not listing.
    const docker = dockerProvider({ docker: api, pools: [], env: o.env });
    providers.docker = docker;
    providers['k3s-docker'] = docker;
  }
  if (o.pools.some((p) => p.provider === 'external')) {
    // One attempt per listing: the instance source retries and breaks per provider itself.
    providers.external = externalProvider({
      pools: o.pools,
      retry: { maxAttempts: 1, baseMs: 1, maxMs: 1 },
      breaker: {},
    });
  }
  return providers;
}

/**
 * The one registry of providers: the implementations the configured pools use, by provider
 * name, built the same way for node-manager (which creates and removes workers) and
 * state-sync (which only lists them), so "the provider's view" means one thing everywhere.
 * Adding a provider is a file of this package and a line here; no service changes.
 *
 * - `kwok`: always (the node is its own instance).
 * - `pods`: with a pods pool. Its worker watch is started by whoever needs it (node-manager);
 *   state-sync lists only.
 * - `docker` / `k3s-docker`: with a docker pool, containers on DOCKER_HOST. To manage, the
 *   pools' k3s join settings are checked now (a bad one fails the start), the engine's calls go
 *   through a `docker` breaker stretched to cover an image pull, and `docker` is a readiness
 *   check (`GET /_ping`). To list, none of that: listing needs no join settings.
 * - `external`: with an external pool, each pool's provisioner (docs/providers.md), its
 *   settings checked now. To manage, it retries by the bus's policy and breaks per
 *   provisioner itself; to list, one attempt (the caller's decorator retries and breaks).
 */
import {
  type BreakerOptions,
  type BreakerState,
  type BusMetrics,
  createBreaker,
  type RetryPolicy,
} from '@scalewise/bus';
import type { PoolConfig } from '@scalewise/config';
import type { Kube } from '@scalewise/kube';
import type { ReadinessCheck } from '@scalewise/service';
import { type DockerEnv, dockerProvider, isDockerPool } from './docker.ts';
import { createDockerClient, type DockerApi, parseDockerHost, withBreaker } from './docker-api.ts';
import { type ExternalProvider, externalProvider } from './external.ts';
import { kwokProvider } from './kwok.ts';
import { type PodsLog, podsProvider } from './pods.ts';
import type { Provider } from './provider.ts';

export interface OpenProvidersDeps {
  kube: Kube;
  pools: readonly PoolConfig[];
  /** `manage`: create and remove (node-manager); `list`: list only (state-sync). */
  use: 'manage' | 'list';
  /** DOCKER_HOST, DOCKER_API_VERSION and, to manage, K3S_URL, K3S_TOKEN(_FILE), ... */
  env: DockerEnv;
  log: PodsLog;
  /** The bus's policy (`events.retry`). */
  retry: RetryPolicy;
  /** The `events.breaker` settings. */
  breaker: BreakerOptions;
  metrics?: BusMetrics;
  /** Reported as the kit reports its own breakers (a log line and CircuitBreakerStateChanged). */
  onBreakerState?: (name: string, state: BreakerState) => void;
  /** The Docker API client (tests). @default one for env.DOCKER_HOST */
  docker?: DockerApi;
}

export interface OpenedProviders {
  /** Provider name (a pool's `provider`) -> implementation. */
  providers: Record<string, Provider>;
  /** The dependencies' readiness checks (docker engine, provisioners), to manage. */
  checks: ReadinessCheck[];
  /** The external provider, with its breakers, when an external pool is configured. */
  external?: ExternalProvider;
  shutdown(): void;
}

/** The Docker engine's image pull may take this long; the `docker` breaker waits for it. */
const PULL_TIMEOUT_MS = 600_000;

function openDocker(o: OpenProvidersDeps): { provider: Provider; check?: ReadinessCheck } {
  const manage = o.use === 'manage';
  const api =
    o.docker ??
    createDockerClient({
      endpoint: parseDockerHost(o.env.DOCKER_HOST),
      ...(o.env.DOCKER_API_VERSION?.trim() ? { apiVersion: o.env.DOCKER_API_VERSION.trim() } : {}),
      ...(manage ? { pullTimeoutMs: PULL_TIMEOUT_MS } : {}),
    });
  if (!manage) {
    // No pools given: their k3s join settings (server URL, token) are for creating, not listing.
    return { provider: dockerProvider({ docker: api, pools: [], env: o.env }) };
  }
  const breaker = createBreaker(
    'docker',
    // The client keeps its own deadlines per call; the breaker's only catches a hang.
    { ...o.breaker, timeoutMs: Math.max(o.breaker.timeoutMs ?? 10_000, PULL_TIMEOUT_MS + 5_000) },
    o.metrics,
  );
  return {
    provider: dockerProvider({
      docker: withBreaker(api, breaker),
      pools: o.pools,
      env: o.env,
      kube: o.kube,
      log: o.log,
    }),
    check: { name: 'docker', check: () => api.ping() },
  };
}

/**
 * The providers of the configured pools.
 * @throws ScalewiseError INVALID_CONFIG naming DOCKER_HOST or a pool's key (docker and
 *   external pools' settings, checked now).
 */
export function openProviders(o: OpenProvidersDeps): OpenedProviders {
  const providers: Record<string, Provider> = { kwok: kwokProvider(o.kube) };
  const checks: ReadinessCheck[] = [];
  const podsPools = o.pools.filter((p) => p.provider === 'pods');
  if (podsPools.length > 0) providers.pods = podsProvider({ kube: o.kube, pools: podsPools, log: o.log });
  if (o.pools.some(isDockerPool)) {
    const docker = openDocker(o);
    providers.docker = docker.provider;
    providers['k3s-docker'] = docker.provider;
    if (docker.check) checks.push(docker.check);
  }
  let external: ExternalProvider | undefined;
  if (o.pools.some((p) => p.provider === 'external')) {
    external =
      o.use === 'manage'
        ? externalProvider({
            pools: o.pools,
            retry: o.retry,
            breaker: o.breaker,
            ...(o.metrics ? { metrics: o.metrics } : {}),
            ...(o.onBreakerState ? { onBreakerState: o.onBreakerState } : {}),
          })
        : // One attempt per listing: the caller's decorator retries and breaks per provider.
          externalProvider({ pools: o.pools, retry: { maxAttempts: 1, baseMs: 1, maxMs: 1 }, breaker: {} });
    providers.external = external;
    if (o.use === 'manage') checks.push(...external.checks);
  }
  return { providers, checks, ...(external ? { external } : {}), shutdown: () => external?.shutdown() };
}

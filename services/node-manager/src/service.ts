/** node-manager as a kit service. */
import { connectKube, type Kube } from '@scalewise/kube';
import {
  breakerOptionsOf,
  retryPolicyOf,
  type ServiceContext,
  type ServiceDefinition,
} from '@scalewise/service';
import { createNodeManager, type decisionTypes, type NodeManager, serviceName } from './manager.ts';
import { type DockerApi, isDockerPool, openDockerProvider } from './providers/docker.ts';
import { type ExternalProvider, externalProvider } from './providers/external.ts';
import { kwokProvider } from './providers/kwok.ts';
import { podsProvider } from './providers/pods.ts';

export interface NodeManagerService extends ServiceDefinition<(typeof decisionTypes)[number]> {
  manager(): NodeManager | undefined;
  /** The external provider, with its breakers (present with an external pool once started). */
  external(): ExternalProvider | undefined;
}

export function defineNodeManager(
  options: Partial<ServiceDefinition<(typeof decisionTypes)[number]>> & {
    kube?: Kube;
    tickSeconds?: number;
    /** DOCKER_HOST, K3S_URL, K3S_TOKEN(_FILE), K3S_AGENT_IMAGE, DOCKER_NETWORK (main.ts: process.env). */
    env?: Record<string, string | undefined>;
    /** The Docker API client of the docker provider (tests). @default one for env.DOCKER_HOST */
    docker?: DockerApi;
  } = {},
): NodeManagerService {
  const { kube: given, tickSeconds, env = {}, docker: dockerApi, ...def } = options;
  let m: NodeManager | undefined;
  let docker: ReturnType<typeof openDockerProvider> | undefined;
  let external: ExternalProvider | undefined;
  const of = (ctx: ServiceContext): NodeManager => {
    if (!m) {
      const kube = given ?? connectKube(ctx.config.kubernetes);
      // Only with a docker pool: its settings are checked here, so a bad one fails the start.
      if (ctx.config.autoscaler.pools.some(isDockerPool)) {
        docker = openDockerProvider({ ctx, kube, env, ...(dockerApi ? { api: dockerApi } : {}) });
      }
      // Only with an external pool: its provisioner settings and files are checked here.
      if (ctx.config.autoscaler.pools.some((p) => p.provider === 'external')) {
        external = externalProvider({
          pools: ctx.config.autoscaler.pools,
          retry: retryPolicyOf(ctx.config),
          breaker: breakerOptionsOf(ctx.config),
          metrics: ctx.telemetry.metrics.bus,
          // Reported as the kit reports its own breakers (a log line and CircuitBreakerStateChanged).
          onBreakerState: ctx.onBreakerState,
        });
      }
      m = createNodeManager(ctx, {
        kube,
        providers: {
          kwok: kwokProvider(kube),
          // Only with a pods pool: its watch of worker pods costs nothing otherwise.
          ...(ctx.config.autoscaler.pools.some((p) => p.provider === 'pods')
            ? {
                pods: podsProvider({
                  kube,
                  pools: ctx.config.autoscaler.pools.filter((p) => p.provider === 'pods'),
                  log: ctx.telemetry.logger,
                }),
              }
            : {}),
          ...docker?.providers,
          ...(external ? { external } : {}),
        },
        ...(tickSeconds ? { tickSeconds } : {}),
      });
    }
    return m;
  };
  return {
    name: serviceName,
    version: '0.1.0',
    handlers: (ctx) => of(ctx).handlers,
    // The Docker engine is a dependency of a node-manager with a docker pool; a provisioner
    // degrades it (other pools go on).
    checks: (ctx) => (of(ctx) ? [...(docker ? [docker.check] : []), ...(external?.checks ?? [])] : []),
    onStart: async (ctx) => of(ctx).start(),
    onStop: async (ctx) => {
      await of(ctx).stop();
      external?.shutdown();
    },
    ...def,
    manager: () => m,
    external: () => external,
  };
}

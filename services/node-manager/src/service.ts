/** node-manager as a kit service. */
import { connectKube, type Kube } from '@scalewise/kube';
import type { ServiceContext, ServiceDefinition } from '@scalewise/service';
import { createNodeManager, type decisionTypes, type NodeManager, serviceName } from './manager.ts';
import { type DockerApi, isDockerPool, openDockerProvider } from './providers/docker.ts';
import { kwokProvider } from './providers/kwok.ts';
import { podsProvider } from './providers/pods.ts';

export interface NodeManagerService extends ServiceDefinition<(typeof decisionTypes)[number]> {
  manager(): NodeManager | undefined;
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
  const of = (ctx: ServiceContext): NodeManager => {
    if (!m) {
      const kube = given ?? connectKube(ctx.config.kubernetes);
      // Only with a docker pool: its settings are checked here, so a bad one fails the start.
      if (ctx.config.autoscaler.pools.some(isDockerPool)) {
        docker = openDockerProvider({ ctx, kube, env, ...(dockerApi ? { api: dockerApi } : {}) });
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
    // The Docker engine is a dependency of a node-manager with a docker pool.
    checks: (ctx) => (of(ctx) && docker ? [docker.check] : []),
    onStart: async (ctx) => of(ctx).start(),
    onStop: async (ctx) => of(ctx).stop(),
    ...def,
    manager: () => m,
  };
}

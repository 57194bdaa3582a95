/** node-manager as a kit service. */
import { connectKube, type Kube } from '@scalewise/kube';
import {
  type DockerApi,
  type ExternalProvider,
  type OpenedProviders,
  openProviders,
} from '@scalewise/providers';
import {
  breakerOptionsOf,
  retryPolicyOf,
  type ServiceContext,
  type ServiceDefinition,
} from '@scalewise/service';
import { createNodeManager, type decisionTypes, type NodeManager, serviceName } from './app.ts';

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
  let opened: OpenedProviders | undefined;
  const of = (ctx: ServiceContext): NodeManager => {
    if (!m) {
      const kube = given ?? connectKube(ctx.config.kubernetes);
      // Docker and external pools' settings are checked here, so a bad one fails the start.
      opened = openProviders({
        kube,
        pools: ctx.config.autoscaler.pools,
        use: 'manage',
        env,
        log: ctx.telemetry.logger,
        retry: retryPolicyOf(ctx.config),
        breaker: breakerOptionsOf(ctx.config),
        metrics: ctx.telemetry.metrics.bus,
        onBreakerState: ctx.onBreakerState,
        ...(dockerApi ? { docker: dockerApi } : {}),
      });
      m = createNodeManager(ctx, {
        kube,
        providers: opened.providers,
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
    checks: (ctx) => (of(ctx) ? (opened?.checks ?? []) : []),
    onStart: async (ctx) => of(ctx).start(),
    onStop: async (ctx) => {
      await of(ctx).stop();
      opened?.shutdown();
    },
    ...def,
    manager: () => m,
    external: () => opened?.external,
  };
}

/** node-manager as a kit service. */
import { connectKube, type Kube } from '@scalewise/kube';
import {
  type DockerApi,
  type ExternalProvider,
  type OpenedProviders,
  openProviders,
} from '@scalewise/providers';
import {
  appService,
  breakerOptionsOf,
  retryPolicyOf,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceOverrides,
} from '@scalewise/service';
import { createNodeManager, type decisionTypes, type NodeManager, serviceName } from './app.ts';

type DecisionType = (typeof decisionTypes)[number];

export interface NodeManagerService extends ServiceDefinition<DecisionType> {
  manager(): NodeManager | undefined;
  /** The external provider, with its breakers (present with an external pool once started). */
  external(): ExternalProvider | undefined;
}

export function defineNodeManager(
  options: ServiceOverrides<DecisionType> & {
    kube?: Kube;
    tickSeconds?: number;
    /** DOCKER_HOST, K3S_URL, K3S_TOKEN(_FILE), K3S_AGENT_IMAGE, DOCKER_NETWORK (main.ts: process.env). */
    env?: Record<string, string | undefined>;
    /** The Docker API client of the docker provider (tests). @default one for env.DOCKER_HOST */
    docker?: DockerApi;
  } = {},
): NodeManagerService {
  const { kube: given, tickSeconds, env = {}, docker: dockerApi, ...overrides } = options;
  let opened: OpenedProviders | undefined;
  const build = (ctx: ServiceContext): NodeManager => {
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
    return createNodeManager(ctx, {
      kube,
      providers: opened.providers,
      ...(tickSeconds ? { tickSeconds } : {}),
    });
  };
  const service = appService<DecisionType, NodeManager>({
    name: serviceName,
    build,
    hooks: (manager) => ({
      handlers: (ctx) => manager(ctx).handlers,
      // The Docker engine is a dependency of a node-manager with a docker pool; a provisioner
      // degrades it (other pools go on).
      checks: (ctx) => (manager(ctx) ? (opened?.checks ?? []) : []),
      onStart: async (ctx) => manager(ctx).start(),
      onStop: async (ctx) => {
        await manager(ctx).stop();
        opened?.shutdown();
      },
    }),
    overrides,
  });
  return { ...service.definition, manager: service.built, external: () => opened?.external };
}

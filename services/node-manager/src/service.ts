/** node-manager as a kit service. */
import { connectKube, type Kube } from '@scalewise/kube';
import type { ServiceContext, ServiceDefinition } from '@scalewise/service';
import { createNodeManager, type decisionTypes, type NodeManager, serviceName } from './manager.ts';
import { kwokProvider } from './providers/kwok.ts';
import { podsProvider } from './providers/pods.ts';

export interface NodeManagerService extends ServiceDefinition<(typeof decisionTypes)[number]> {
  manager(): NodeManager | undefined;
}

export function defineNodeManager(
  options: Partial<ServiceDefinition<(typeof decisionTypes)[number]>> & {
    kube?: Kube;
    tickSeconds?: number;
  } = {},
): NodeManagerService {
  const { kube: given, tickSeconds, ...def } = options;
  let m: NodeManager | undefined;
  const of = (ctx: ServiceContext): NodeManager => {
    if (!m) {
      const kube = given ?? connectKube(ctx.config.kubernetes);
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
    onStart: async (ctx) => of(ctx).start(),
    onStop: async (ctx) => of(ctx).stop(),
    ...def,
    manager: () => m,
  };
}

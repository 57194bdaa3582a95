/** state-sync as a kit service. It consumes no events: it lists, reconciles and publishes. */
import { connectKube, type Kube } from '@scalewise/kube';
import type { DockerEnv, Provider } from '@scalewise/providers';
import type { ServiceContext, ServiceDefinition } from '@scalewise/service';
import { createStateSync, type StateSync, serviceName } from './app.ts';

export interface StateSyncService extends ServiceDefinition {
  sync(): StateSync | undefined;
}

export function defineStateSync(
  options: Partial<ServiceDefinition> & {
    kube?: Kube;
    /** DOCKER_HOST / DOCKER_API_VERSION for docker pools (main.ts: process.env). */
    env?: DockerEnv;
    /** Provider name -> implementation (tests). @default the registry's, for the configured pools */
    providers?: Readonly<Record<string, Provider>>;
  } = {},
): StateSyncService {
  const { kube: given, env, providers, ...def } = options;
  let s: StateSync | undefined;
  const of = (ctx: ServiceContext): StateSync => {
    s ??= createStateSync(ctx, {
      kube: given ?? connectKube(ctx.config.kubernetes),
      ...(env ? { env } : {}),
      ...(providers ? { providers } : {}),
    });
    return s;
  };
  return {
    name: serviceName,
    version: '0.1.0',
    onStart: async (ctx) => of(ctx).start(),
    onStop: async (ctx) => of(ctx).stop(),
    ...def,
    sync: () => s,
  };
}

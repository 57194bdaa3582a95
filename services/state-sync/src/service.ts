/** state-sync as a kit service. It consumes no events: it lists, reconciles and publishes. */
import type { EventType } from '@scalewise/events';
import { connectKube, type Kube } from '@scalewise/kube';
import type { DockerEnv, Provider } from '@scalewise/providers';
import { appService, type ServiceDefinition, type ServiceOverrides, startAndStop } from '@scalewise/service';
import { createStateSync, type StateSync, serviceName } from './app.ts';

export interface StateSyncService extends ServiceDefinition {
  sync(): StateSync | undefined;
}

export function defineStateSync(
  options: ServiceOverrides & {
    kube?: Kube;
    /** DOCKER_HOST / DOCKER_API_VERSION for docker pools (main.ts: process.env). */
    env?: DockerEnv;
    /** Provider name -> implementation (tests). @default the registry's, for the configured pools */
    providers?: Readonly<Record<string, Provider>>;
  } = {},
): StateSyncService {
  const { kube: given, env, providers, ...overrides } = options;
  const service = appService<EventType, StateSync>({
    name: serviceName,
    build: (ctx) =>
      createStateSync(ctx, {
        kube: given ?? connectKube(ctx.config.kubernetes),
        ...(env ? { env } : {}),
        ...(providers ? { providers } : {}),
      }),
    hooks: startAndStop,
    overrides,
  });
  return { ...service.definition, sync: service.built };
}

/** metrics-listener as a kit service. */
import { connectKube, type Kube } from '@scalewise/kube';
import { appService, type ServiceDefinition, type ServiceOverrides, startAndStop } from '@scalewise/service';
import { createMetricsListener, type MetricsListener, serviceName } from './app.ts';

export interface MetricsListenerService extends ServiceDefinition {
  listener(): MetricsListener | undefined;
}

export function defineMetricsListener(
  options: ServiceOverrides & { kube?: Kube; now?: () => number } = {},
): MetricsListenerService {
  const { kube: given, now, ...overrides } = options;
  const service = appService({
    name: serviceName,
    build: (ctx) =>
      createMetricsListener(ctx, {
        kube: given ?? connectKube(ctx.config.kubernetes),
        ...(now ? { now } : {}),
      }),
    hooks: (listener) => ({
      checks: (ctx) => listener(ctx).checks(),
      // Sensing and publishing need Kafka and the Kubernetes API, not Redis.
      redisDegrades: 'the Redis-stream trigger bridge waits',
      ...startAndStop(listener),
    }),
    overrides,
  });
  return { ...service.definition, listener: service.built };
}

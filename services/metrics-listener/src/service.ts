/** metrics-listener as a kit service. */
import { connectKube, type Kube } from '@scalewise/kube';
import type { ServiceContext, ServiceDefinition } from '@scalewise/service';
import { createMetricsListener, type MetricsListener, serviceName } from './app.ts';

export interface MetricsListenerService extends ServiceDefinition {
  listener(): MetricsListener | undefined;
}

export function defineMetricsListener(
  options: Partial<ServiceDefinition> & { kube?: Kube; now?: () => number } = {},
): MetricsListenerService {
  const { kube: given, now, ...def } = options;
  let l: MetricsListener | undefined;
  const of = (ctx: ServiceContext): MetricsListener => {
    l ??= createMetricsListener(ctx, {
      kube: given ?? connectKube(ctx.config.kubernetes),
      ...(now ? { now } : {}),
    });
    return l;
  };
  return {
    name: serviceName,
    version: '0.1.0',
    checks: (ctx) => of(ctx).checks(),
    // Sensing and publishing need Kafka and the Kubernetes API, not Redis.
    redisDegrades: 'the Redis-stream trigger bridge waits',
    onStart: async (ctx) => of(ctx).start(),
    onStop: async (ctx) => of(ctx).stop(),
    ...def,
    listener: () => l,
  };
}

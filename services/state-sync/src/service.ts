/** state-sync as a kit service. */
import { connectKube, type Kube } from '@scalewise/kube';
import type { ServiceContext, ServiceDefinition } from '@scalewise/service';
import { createStateSync, type handledTypes, type StateSync, serviceName } from './sync.ts';

export interface StateSyncService extends ServiceDefinition<(typeof handledTypes)[number]> {
  sync(): StateSync | undefined;
}

export function defineStateSync(
  options: Partial<ServiceDefinition<(typeof handledTypes)[number]>> & { kube?: Kube } = {},
): StateSyncService {
  const { kube: given, ...def } = options;
  let s: StateSync | undefined;
  const of = (ctx: ServiceContext): StateSync => {
    s ??= createStateSync(ctx, {
      kube: given ?? connectKube(ctx.config.kubernetes),
    });
    return s;
  };
  return {
    name: serviceName,
    version: '0.1.0',
    handlers: (ctx) => of(ctx).handlers,
    onStart: async (ctx) => of(ctx).start(),
    onStop: async (ctx) => of(ctx).stop(),
    ...def,
    sync: () => s,
  };
}

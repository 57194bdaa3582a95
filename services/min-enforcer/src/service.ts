/**
 * min-enforcer as a kit service: its handlers, its periodic check, its routes (read routes: any
 * configured bearer token, the kit's auth, docs/security.md).
 */
import type { ServiceContext, ServiceDefinition } from '@scalewise/service';
import {
  createMinEnforcer,
  type HandledType,
  type MinEnforcer,
  type MinEnforcerOptions,
  serviceName,
} from './app.ts';
import { floorRoutes } from './http/floor.ts';

export interface MinEnforcerService extends ServiceDefinition<HandledType> {
  enforcer(): MinEnforcer | undefined;
}

export function defineMinEnforcer(
  options: MinEnforcerOptions & Partial<ServiceDefinition<HandledType>> = {},
): MinEnforcerService {
  const { now, ...def } = options;
  let enforcer: MinEnforcer | undefined;
  const of = (ctx: ServiceContext): MinEnforcer => {
    enforcer ??= createMinEnforcer(ctx, now ? { now } : {});
    return enforcer;
  };
  return {
    name: serviceName,
    version: '0.1.0',
    handlers: (ctx) => of(ctx).handlers,
    onStart: async (ctx) => of(ctx).start(),
    onStop: async (ctx) => of(ctx).stop(),
    routes: (app, ctx) => floorRoutes(app, () => of(ctx), now ?? Date.now),
    ...def,
    enforcer: () => enforcer,
  };
}

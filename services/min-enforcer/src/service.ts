/**
 * min-enforcer as a kit service: its handlers, its periodic check, its routes (read routes: any
 * configured bearer token, the kit's auth, docs/security.md).
 */
import { appService, type ServiceDefinition, type ServiceOverrides, startAndStop } from '@scalewise/service';
import { createMinEnforcer, type MinEnforcer, type MinEnforcerOptions, serviceName } from './app.ts';
import type { HandledType } from './handlers/floor-input.ts';
import { floorRoutes } from './http/floor.ts';

export interface MinEnforcerService extends ServiceDefinition<HandledType> {
  enforcer(): MinEnforcer | undefined;
}

export function defineMinEnforcer(
  options: MinEnforcerOptions & ServiceOverrides<HandledType> = {},
): MinEnforcerService {
  // One clock for the checks and the floor route.
  const { now = Date.now, ...overrides } = options;
  const service = appService<HandledType, MinEnforcer>({
    name: serviceName,
    build: (ctx) => createMinEnforcer(ctx, { now }),
    hooks: (enforcer) => ({
      handlers: (ctx) => enforcer(ctx).handlers,
      ...startAndStop(enforcer),
      routes: (app, ctx) => floorRoutes(app, () => enforcer(ctx), now),
    }),
    overrides,
  });
  return { ...service.definition, enforcer: service.built };
}

/** min-enforcer as a kit service: its handlers, its periodic check, its routes. */
import { ScalewiseError } from '@scalewise/errors';
import type { ServiceContext, ServiceDefinition } from '@scalewise/service';
import {
  createMinEnforcer,
  type HandledType,
  type MinEnforcer,
  type MinEnforcerOptions,
  serviceName,
} from './enforcer.ts';

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
    routes: (app, ctx) => {
      app.get<{ Params: { pool: string } }>('/v1/pools/:pool/floor', async (req) => {
        const e = of(ctx);
        const { pool } = req.params;
        if (!e.policies.has(pool)) {
          throw new ScalewiseError('NOT_FOUND', `no pool named '${pool}' in the configuration`, {
            details: { pool },
          });
        }
        return { pool, state: await e.poolState(pool) };
      });
    },
    ...def,
    enforcer: () => enforcer,
  };
}

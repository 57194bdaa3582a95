/**
 * min-enforcer as a kit service: its handlers, its periodic check, its routes (read routes: any
 * configured bearer token, the kit's auth, docs/security.md).
 */
import { ScalewiseError } from '@scalewise/errors';
import { desiredOf, inFlightOf, limitsOf, lossesSince, workersOf } from '@scalewise/pool';
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
        const stored = await e.poolState(pool);
        const policy = e.policies.get(pool);
        if (!stored || !policy) return { pool, state: null };
        const t = Date.now();
        const { floor, ledger } = stored;
        return {
          pool,
          workers: workersOf(ledger),
          desired: desiredOf(ledger, t),
          ...limitsOf(ledger, policy.min, policy.max),
          violation: floor.violation,
          retry_at: floor.retryAt,
          in_flight: inFlightOf(ledger, t),
          losses: lossesSince(ledger, t - policy.emergencyWindowSeconds * 1000),
        };
      });
    },
    ...def,
    enforcer: () => enforcer,
  };
}

/** The decision engine as a kit service: its handlers, routes and consumer group. */
import { appService, type ServiceDefinition, type ServiceOverrides } from '@scalewise/service';
import { createDecisionEngine, type DecisionEngine, type DecisionEngineOptions, serviceName } from './app.ts';
import type { HandledType } from './handlers/pool-input.ts';
import { poolRoutes } from './http/pools.ts';

export interface DecisionEngineService extends ServiceDefinition<HandledType> {
  /** The engine, once the service has built it. */
  engine(): DecisionEngine | undefined;
}

export function defineDecisionEngine(
  options: DecisionEngineOptions & ServiceOverrides<HandledType> = {},
): DecisionEngineService {
  const { now, ...overrides } = options;
  const service = appService<HandledType, DecisionEngine>({
    name: serviceName,
    build: (ctx) => createDecisionEngine(ctx, now ? { now } : {}),
    hooks: (engine) => ({
      handlers: (ctx) => engine(ctx).handlers,
      routes: (app, ctx) => poolRoutes(app, engine(ctx)),
    }),
    overrides,
  });
  return { ...service.definition, engine: service.built };
}

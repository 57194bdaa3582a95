/** The decision engine as a kit service: its handlers, routes and consumer group. */
import type { ServiceContext, ServiceDefinition } from '@scalewise/service';
import {
  createDecisionEngine,
  type DecisionEngine,
  type DecisionEngineOptions,
  type HandledType,
  serviceName,
} from './app.ts';
import { poolRoutes } from './http/pools.ts';

export interface DecisionEngineService extends ServiceDefinition<HandledType> {
  /** The engine, once the service has built it. */
  engine(): DecisionEngine | undefined;
}

export function defineDecisionEngine(
  options: DecisionEngineOptions & Partial<ServiceDefinition<HandledType>> = {},
): DecisionEngineService {
  const { now, ...def } = options;
  let engine: DecisionEngine | undefined;
  const of = (ctx: ServiceContext): DecisionEngine => {
    engine ??= createDecisionEngine(ctx, now ? { now } : {});
    return engine;
  };
  return {
    name: serviceName,
    version: '0.1.0',
    handlers: (ctx) => of(ctx).handlers,
    routes: (app, ctx) => poolRoutes(app, of(ctx)),
    ...def,
    engine: () => engine,
  };
}

/** alert-manager as a kit service. */
import type { EventType } from '@scalewise/events';
import type { ServiceContext, ServiceDefinition } from '@scalewise/service';
import { type AlertManager, type AlertManagerOptions, createAlertManager, serviceName } from './alerts.ts';
import { consoleRoutes } from './console.ts';
import { alertRoutes } from './routes.ts';

export interface AlertManagerService extends ServiceDefinition<EventType> {
  alertManager(): AlertManager | undefined;
}

export function defineAlertManager(
  options: AlertManagerOptions & Partial<ServiceDefinition<EventType>> = {},
): AlertManagerService {
  const { now, fromBeginning, stream, ...def } = options;
  let am: AlertManager | undefined;
  const of = (ctx: ServiceContext): AlertManager => {
    am ??= createAlertManager(ctx, {
      ...(now ? { now } : {}),
      ...(fromBeginning !== undefined ? { fromBeginning } : {}),
      ...(stream ? { stream } : {}),
    });
    return am;
  };
  return {
    name: serviceName,
    version: '0.1.0',
    handlers: (ctx) => of(ctx).handlers,
    routes: async (app, ctx) => {
      await alertRoutes(app, of(ctx));
      consoleRoutes(app, {
        config: ctx.config,
        // The image ships the build beside dist/ (Dockerfile); from sources it is found by itself.
        ...(process.env.SCALEWISE_CONSOLE_DIR ? { dir: process.env.SCALEWISE_CONSOLE_DIR } : {}),
      });
    },
    onStart: async (ctx) => of(ctx).start(),
    onStop: async (ctx) => of(ctx).stop(),
    ...(fromBeginning !== undefined ? { fromBeginning } : {}),
    ...def,
    alertManager: () => am,
  };
}

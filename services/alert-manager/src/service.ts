/** alert-manager as a kit service: the history's consumer, its routes and the web console. */
import { fileURLToPath } from 'node:url';
import type { EventType } from '@scalewise/events';
import { appService, type ServiceDefinition, type ServiceOverrides, startAndStop } from '@scalewise/service';
import { type AlertManager, type AlertManagerOptions, createAlertManager, serviceName } from './app.ts';
import { alertRoutes } from './http/alerts.ts';
import { consoleRoutes } from './http/console.ts';
import { explainRoutes } from './http/explain.ts';
import { historyRoutes } from './http/history.ts';
import { streamRoutes } from './http/stream.ts';

/**
 * Where the console's build is in the repository: this file is services/alert-manager/src,
 * and the bundle (dist/main.js) is as deep.
 */
export const defaultConsoleDir = fileURLToPath(
  new URL('../../../packages/console/dist/web/', import.meta.url),
);

export interface AlertManagerService extends ServiceDefinition<EventType> {
  alertManager(): AlertManager | undefined;
}

export interface AlertManagerServiceOptions extends AlertManagerOptions {
  /** The console's build to serve (main.ts: SCALEWISE_CONSOLE_DIR). @default defaultConsoleDir */
  consoleDir?: string;
}

export function defineAlertManager(
  options: AlertManagerServiceOptions & ServiceOverrides<EventType> = {},
): AlertManagerService {
  const { now, fromBeginning, stream, consoleDir = defaultConsoleDir, ...overrides } = options;
  const service = appService<EventType, AlertManager>({
    name: serviceName,
    build: (ctx) =>
      createAlertManager(ctx, {
        ...(now ? { now } : {}),
        ...(fromBeginning !== undefined ? { fromBeginning } : {}),
        ...(stream ? { stream } : {}),
      }),
    hooks: (alertManager) => ({
      handlers: (ctx) => alertManager(ctx).handlers,
      routes: async (app, ctx) => {
        const am = alertManager(ctx);
        // The stream's plugin registers the WebSocket support first.
        await streamRoutes(app, am.hub);
        historyRoutes(app, am.history);
        explainRoutes(app, am.history);
        alertRoutes(app, am);
        consoleRoutes(app, { config: ctx.config, dir: consoleDir });
      },
      ...startAndStop(alertManager),
      ...(fromBeginning !== undefined ? { fromBeginning } : {}),
    }),
    overrides,
  });
  return { ...service.definition, alertManager: service.built };
}

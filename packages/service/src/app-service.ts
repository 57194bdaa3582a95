/**
 * The definition of a service around its app (the service's app.ts: the wiring of one
 * instance). Every service builds its app once per process, by the first of its hooks the kit
 * runs (the kit passes every hook the same context), and lets its tests read it back.
 */
import type { EventType } from '@scalewise/events';
import type { ServiceContext, ServiceDefinition } from './service.ts';

/** What a service's options may set of its definition (tests: the config, the group, telemetry). */
export type ServiceOverrides<T extends EventType = EventType> = Partial<ServiceDefinition<T>>;

/** A service's app: built by the first call, the same one after. */
export type AppOf<A> = (ctx: ServiceContext) => A;

export interface AppServiceSpec<T extends EventType, A> {
  name: string;
  build(ctx: ServiceContext): A;
  /** The service's hooks (handlers, routes, checks, onStart, onStop), given its app. */
  hooks(app: AppOf<A>): ServiceOverrides<T>;
  /** A test's changes, over the hooks. */
  overrides: ServiceOverrides<T>;
}

export interface AppService<T extends EventType, A> {
  definition: ServiceDefinition<T>;
  /** The app once a hook has built it, else undefined. */
  built(): A | undefined;
}

/** Every service ships in the one release. */
const version = '0.1.0';

export function appService<T extends EventType, A>(spec: AppServiceSpec<T, A>): AppService<T, A> {
  let app: A | undefined;
  const appOf = (ctx: ServiceContext): A => {
    app ??= spec.build(ctx);
    return app;
  };
  return {
    definition: { name: spec.name, version, ...spec.hooks(appOf), ...spec.overrides },
    built: () => app,
  };
}

/** onStart and onStop that start and stop the app (its loops, watches and own consumers). */
export function startAndStop(
  app: AppOf<{ start(): unknown; stop(): Promise<void> }>,
): Required<Pick<ServiceDefinition, 'onStart' | 'onStop'>> {
  return {
    onStart: async (ctx) => {
      await app(ctx).start();
    },
    onStop: async (ctx) => app(ctx).stop(),
  };
}

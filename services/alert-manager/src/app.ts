/**
 * alert-manager's wiring. Three consumer groups over every topic, so that a slow webhook never
 * delays the history or the live stream, and so that it scales out (any number of replicas):
 * - `<prefix>alert-manager`, shared by the replicas: every event into the history, once
 *   (handlers/history.ts);
 * - `<prefix>alert-manager-stream-<replica>`, one per replica (adapters/live-feed.ts): every
 *   event out to this replica's WebSocket clients whose filter it matches;
 * - `<prefix>alert-manager-notify`, shared: notifications routed and delivered to the sinks,
 *   once (handlers/notify.ts).
 * The kit service (service.ts) builds it once per process.
 */
import { type HandlerRegistry, handlersFor } from '@scalewise/bus';
import { consumerGroupId, topicNames } from '@scalewise/config';
import { type AnyScalewiseEvent, type EventType, eventTypes } from '@scalewise/events';
import type { ServiceContext } from '@scalewise/service';
import { createRedisHistory, type History } from './adapters/history.ts';
import { createLiveFeed, type LiveFeed } from './adapters/live-feed.ts';
import { createRedisSilences, type SilenceStore } from './adapters/silences.ts';
import { createSink, type Sink } from './adapters/sinks.ts';
import { createStreamHub, type StreamHub } from './adapters/stream.ts';
import { initialRoutingState, type RoutingState } from './core/index.ts';
import { historyHandlers } from './handlers/history.ts';
import { createNotifyHandler } from './handlers/notify.ts';
import { routingConfigOf } from './policies.ts';

export const serviceName = 'alert-manager';

export interface AlertManager {
  history: History;
  hub: StreamHub;
  /** This replica's consumer of the live stream. */
  liveFeed: LiveFeed;
  /** The cluster's silences, shared by every replica. */
  silences: SilenceStore;
  routing: RoutingState;
  sinks: ReadonlyMap<string, Sink>;
  handlers: HandlerRegistry<EventType>;
  /** Starts the live stream's consumer, then the notification consumer (their own groups). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface AlertManagerOptions {
  /** @default Date.now */
  now?: () => number;
  /** Where a new notification consumer group starts (tests: the beginning). @default latest */
  fromBeginning?: boolean;
  /** Per-client buffer of the live stream, and the unsent bytes at which a client counts as slow. */
  stream?: { capacity?: number; highWaterBytes?: number };
}

export function createAlertManager(ctx: ServiceContext, options: AlertManagerOptions = {}): AlertManager {
  const { config, bus, telemetry } = ctx;
  const now = options.now ?? Date.now;
  const namespace = `scalewise:${config.cluster_id}:${serviceName}`;
  const history = createRedisHistory(bus.redis, {
    prefix: `scalewise:${config.cluster_id}:history`,
    maxEvents: config.alerts.history.max_events,
    maxAgeSeconds: config.alerts.history.max_age_seconds,
  });
  const hub = createStreamHub({ ...options.stream, meter: telemetry.metrics.meter });
  const sinks = new Map(
    config.alerts.sinks.map((s) => [
      s.name,
      createSink(s, { breaker: config.events.breaker, metrics: telemetry.metrics.bus }),
    ]),
  );
  const routing = initialRoutingState();
  const liveFeed = createLiveFeed({
    kafka: bus.kafka,
    groupPrefix: consumerGroupId(config, `${serviceName}-stream-`),
    topics: Object.values(topicNames(config)),
    publish: (event) => hub.publish(event),
    log: telemetry.logger,
    ...(config.events.group_instance_id ? { replica: config.events.group_instance_id } : {}),
    sessionTimeoutMs: config.events.session_timeout_ms,
    heartbeatIntervalMs: config.events.heartbeat_interval_ms,
  });
  const silences = createRedisSilences(bus.redis, { key: `${namespace}:silences`, now });
  const notify = createNotifyHandler({
    redis: bus.redis,
    breaker: bus.breakers.redis,
    silences,
    routing,
    routingConfig: routingConfigOf(config),
    sinks,
    namespace,
    now,
    log: telemetry.logger,
    meter: telemetry.metrics.meter,
  });
  return {
    history,
    hub,
    liveFeed,
    silences,
    routing,
    sinks,
    handlers: historyHandlers({ history, redis: bus.breakers.redis }),
    async start() {
      await liveFeed.start();
      if (sinks.size === 0) return;
      await subscribeNotifier(ctx, notify, options.fromBeginning).start();
    },
    async stop() {
      hub.close();
      await liveFeed.stop();
    },
  };
}

/** The notification consumer: its own group, so a slow sink holds back nothing else. */
function subscribeNotifier(
  { config, bus }: ServiceContext,
  notify: (event: AnyScalewiseEvent) => Promise<void>,
  fromBeginning: boolean | undefined,
) {
  return bus.subscribe({
    groupId: consumerGroupId(config, `${serviceName}-notify`),
    handlers: handlersFor(eventTypes, notify),
    // The main consumer dead-letters undecodable records (one dead letter per record);
    // a sink that stays down dead-letters its notifications (replayable) instead of
    // holding back every other notification of the partition.
    ownsTopic: () => false,
    handlerDependencyFailures: 'dead-letter',
    ...(fromBeginning !== undefined ? { fromBeginning } : {}),
  });
}

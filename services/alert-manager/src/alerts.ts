/**
 * alert-manager's shell. Three consumer groups over every topic, so that a slow webhook never
 * delays the history or the live stream, and so that it scales out (any number of replicas):
 * - `<prefix>alert-manager`, shared by the replicas: every event into the history (Redis
 *   streams), once;
 * - `<prefix>alert-manager-stream-<replica>`, one per replica (adapters/live-feed.ts): every
 *   event out to this replica's WebSocket clients whose filter it matches;
 * - `<prefix>alert-manager-notify`, shared: events of severity warning and above routed
 *   (grouped, deduplicated, silenced, rate-limited, resolved: the pure core) and delivered to
 *   the sinks, once. Silences live in Redis (adapters/silences.ts), read before each event that
 *   may notify, so a silence created through any replica holds on all of them.
 *   A delivery that fails is retried by the bus with backoff; after the last retry the event's
 *   record is dead-lettered with the sink's error (and DeadLetterRecorded published), so a
 *   notification is never dropped silently. Each (sink, alert, status, event) is delivered once
 *   (a Redis marker), also across retries and replicas.
 */
import { type HandlerRegistry, handlersFor, type Subscriber } from '@scalewise/bus';
import { consumerGroupId, topicNames } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { type AnyScalewiseEvent, type EventType, eventTypes } from '@scalewise/events';
import type { ServiceContext } from '@scalewise/service';
import { createRedisHistory, type History } from './adapters/history.ts';
import { createLiveFeed, type LiveFeed } from './adapters/live-feed.ts';
import { createRedisSilences, type SilenceStore } from './adapters/silences.ts';
import { createSink, type Sink } from './adapters/sinks.ts';
import { createStreamHub, type StreamHub } from './adapters/stream.ts';
import {
  initialRoutingState,
  mayNotify,
  type Notification,
  type RoutingConfig,
  type RoutingState,
  route,
} from './core/index.ts';

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
  const log = telemetry.logger;
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
  const routingConfig: RoutingConfig = {
    sinks: config.alerts.sinks.map((s) => ({
      name: s.name,
      kind: s.kind,
      minSeverity: s.min_severity,
      maxPerMinute: s.max_per_minute,
    })),
    groupWindowSeconds: config.alerts.group_window_seconds,
  };
  const routing = initialRoutingState();
  const notified = telemetry.metrics.meter.createCounter('scalewise_notifications_total', {
    description: 'Notifications delivered (or failed) per sink and status',
  });

  const record = async (event: AnyScalewiseEvent) => {
    await bus.breakers.redis.call(() => history.append(event));
  };
  const liveFeed = createLiveFeed({
    kafka: bus.kafka,
    groupPrefix: consumerGroupId(config, `${serviceName}-stream-`),
    topics: Object.values(topicNames(config)),
    publish: (event) => hub.publish(event),
    log,
    ...(config.events.group_instance_id ? { replica: config.events.group_instance_id } : {}),
    sessionTimeoutMs: config.events.session_timeout_ms,
    heartbeatIntervalMs: config.events.heartbeat_interval_ms,
  });
  const silences = createRedisSilences(bus.redis, { key: `${namespace}:silences`, now });
  const handlers: HandlerRegistry<EventType> = handlersFor(eventTypes, record);

  // The notifications an event produced, kept across the bus's retries of it (routing
  // deduplicates by event id, so routing it again would produce none). Bounded.
  const pending = new Map<string, Notification[]>();
  const deliveryKey = (n: Notification) =>
    `${namespace}:delivered:${n.sink}:${n.alertKey}:${n.status}:${n.event.source}:${n.event.id}`;

  async function notify(event: AnyScalewiseEvent): Promise<void> {
    let todo = pending.get(event.id);
    if (!todo) {
      // Only an event that may notify needs the silences (one Redis read).
      if (mayNotify(event)) {
        const inForce = await bus.breakers.redis.call(() => silences.list());
        routing.silences = new Map(inForce.map((s) => [s.id, s]));
      }
      todo = route(routing, routingConfig, event, now()).notifications;
      if (todo.length === 0) return;
      pending.set(event.id, todo);
      if (pending.size > 1000) pending.delete(pending.keys().next().value as string);
    }
    const failures: ScalewiseError[] = [];
    for (const n of todo) {
      const key = deliveryKey(n);
      if ((await bus.breakers.redis.call(() => bus.redis.exists(key))) === 1) continue;
      const sink = sinks.get(n.sink);
      if (!sink) continue;
      try {
        await sink.send(n);
        await bus.breakers.redis.call(() => bus.redis.set(key, '1', 'EX', 7 * 86_400));
        notified.add(1, { sink: n.sink, status: n.status, outcome: 'delivered' });
        log.info(
          { sink: n.sink, alert: n.alertKey, status: n.status, event_id: event.id },
          'notification delivered',
        );
      } catch (err) {
        notified.add(1, { sink: n.sink, status: n.status, outcome: 'failed' });
        failures.push(
          err instanceof ScalewiseError
            ? err
            : new ScalewiseError('DEPENDENCY_UNAVAILABLE', `sink ${n.sink}: ${(err as Error).message}`, {
                cause: err,
              }),
        );
      }
    }
    if (failures.length > 0) {
      const retriable = failures.some((f) => f.retriable);
      throw new ScalewiseError(
        retriable ? 'DEPENDENCY_UNAVAILABLE' : 'BAD_REQUEST',
        `notification of ${event.type} ${event.id} not delivered: ${failures.map((f) => f.message).join('; ')}`,
        { retriable, details: { event_id: event.id, sinks: failures.map((f) => f.details.sink) } },
      );
    }
    pending.delete(event.id);
  }

  let notifier: Subscriber | undefined;
  return {
    history,
    hub,
    liveFeed,
    silences,
    routing,
    sinks,
    handlers,
    async start() {
      await liveFeed.start();
      if (sinks.size === 0) return;
      notifier = bus.subscribe({
        groupId: consumerGroupId(config, `${serviceName}-notify`),
        handlers: handlersFor(eventTypes, notify),
        // The main consumer dead-letters undecodable records (one dead letter per record);
        // a sink that stays down dead-letters its notifications (replayable) instead of
        // holding back every other notification of the partition.
        ownsTopic: () => false,
        handlerDependencyFailures: 'dead-letter',
        ...(options.fromBeginning !== undefined ? { fromBeginning: options.fromBeginning } : {}),
      });
      await notifier.start();
    },
    async stop() {
      hub.close();
      await liveFeed.stop();
    },
  };
}

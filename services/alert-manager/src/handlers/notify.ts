/**
 * The notifications: events of severity warning and above routed (grouped, deduplicated,
 * silenced, rate-limited, resolved: the pure core) and delivered to the sinks, once, in the
 * group `<prefix>alert-manager-notify` shared by the replicas. Silences live in Redis
 * (adapters/silences.ts), read before each event that may notify, so a silence created
 * through any replica holds on all of them.
 * A delivery that fails is retried by the bus with backoff; after the last retry the event's
 * record is dead-lettered with the sink's error (and DeadLetterRecorded published), so a
 * notification is never dropped silently. Each (sink, alert, status, event) is delivered once
 * (a Redis marker), also across retries and replicas.
 */
import type { Meter } from '@opentelemetry/api';
import type { Breaker, BusLogger } from '@scalewise/bus';
import { ScalewiseError } from '@scalewise/errors';
import type { AnyScalewiseEvent } from '@scalewise/events';
import type { Redis } from 'ioredis';
import type { SilenceStore } from '../adapters/silences.ts';
import type { Sink } from '../adapters/sinks.ts';
import { mayNotify, type Notification, type RoutingConfig, type RoutingState, route } from '../core/index.ts';

export interface NotifyDeps {
  redis: Redis;
  /** The bus's Redis breaker: every Redis call goes through it. */
  breaker: Breaker;
  silences: SilenceStore;
  routing: RoutingState;
  routingConfig: RoutingConfig;
  sinks: ReadonlyMap<string, Sink>;
  /** `scalewise:<cluster id>:alert-manager`: the delivery markers live under it. */
  namespace: string;
  now: () => number;
  log: BusLogger;
  meter: Meter;
}

/** How long a delivery marker is kept: longer than any retry of the event. */
const deliveredTtlSeconds = 7 * 86_400;
/** How many events' notifications are kept for their retries. */
const pendingEvents = 1000;

/**
 * The handler of every event type in the notification group.
 * @throws ScalewiseError when a sink failed: DEPENDENCY_UNAVAILABLE (retriable) when any
 *   failure is, else BAD_REQUEST; it names the event and the sinks
 */
export function createNotifyHandler(deps: NotifyDeps): (event: AnyScalewiseEvent) => Promise<void> {
  const { breaker, redis } = deps;
  const notified = deps.meter.createCounter('scalewise_notifications_total', {
    description: 'Notifications delivered (or failed) per sink and status',
  });
  // The notifications an event produced, kept across the bus's retries of it (routing
  // deduplicates by event id, so routing it again would produce none). Bounded.
  const pending = new Map<string, Notification[]>();
  const deliveryKey = (n: Notification) =>
    `${deps.namespace}:delivered:${n.sink}:${n.alertKey}:${n.status}:${n.event.source}:${n.event.id}`;

  /** The event's notifications: those kept from an earlier try, else routed now. */
  async function notificationsOf(event: AnyScalewiseEvent): Promise<Notification[]> {
    const kept = pending.get(event.id);
    if (kept) return kept;
    // Only an event that may notify needs the silences (one Redis read).
    if (mayNotify(event)) {
      const inForce = await breaker.call(() => deps.silences.list());
      deps.routing.silences = new Map(inForce.map((s) => [s.id, s]));
    }
    const routed = route(deps.routing, deps.routingConfig, event, deps.now()).notifications;
    if (routed.length > 0) {
      pending.set(event.id, routed);
      if (pending.size > pendingEvents) pending.delete(pending.keys().next().value as string);
    }
    return routed;
  }

  /** Sends one notification unless it was delivered already; returns the sink's failure. */
  async function deliver(n: Notification, event: AnyScalewiseEvent): Promise<ScalewiseError | undefined> {
    const key = deliveryKey(n);
    if ((await breaker.call(() => redis.exists(key))) === 1) return undefined;
    const sink = deps.sinks.get(n.sink);
    if (!sink) return undefined;
    try {
      await sink.send(n);
      await breaker.call(() => redis.set(key, '1', 'EX', deliveredTtlSeconds));
      notified.add(1, { sink: n.sink, status: n.status, outcome: 'delivered' });
      deps.log.info(
        { sink: n.sink, alert: n.alertKey, status: n.status, event_id: event.id },
        'notification delivered',
      );
      return undefined;
    } catch (err) {
      notified.add(1, { sink: n.sink, status: n.status, outcome: 'failed' });
      return sinkFailure(n.sink, err);
    }
  }

  return async function notify(event) {
    const todo = await notificationsOf(event);
    if (todo.length === 0) return;
    const failures: ScalewiseError[] = [];
    for (const n of todo) {
      const failure = await deliver(n, event);
      if (failure) failures.push(failure);
    }
    if (failures.length > 0) throw notDelivered(event, failures);
    pending.delete(event.id);
  };
}

/** A sink's error as it is (a ScalewiseError), else as a retriable DEPENDENCY_UNAVAILABLE naming the sink. */
function sinkFailure(sink: string, err: unknown): ScalewiseError {
  if (err instanceof ScalewiseError) return err;
  return new ScalewiseError('DEPENDENCY_UNAVAILABLE', `sink ${sink}: ${(err as Error).message}`, {
    cause: err,
  });
}

/** The error the bus retries (or dead-letters) an event with: retriable when any failure is. */
function notDelivered(event: AnyScalewiseEvent, failures: ScalewiseError[]): ScalewiseError {
  const retriable = failures.some((f) => f.retriable);
  return new ScalewiseError(
    retriable ? 'DEPENDENCY_UNAVAILABLE' : 'BAD_REQUEST',
    `notification of ${event.type} ${event.id} not delivered: ${failures.map((f) => f.message).join('; ')}`,
    { retriable, details: { event_id: event.id, sinks: failures.map((f) => f.details.sink) } },
  );
}

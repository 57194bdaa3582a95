/**
 * Notification routing, pure: which events become notifications, grouped, deduplicated,
 * silenced, rate-limited per sink, and resolved. `route(state, event, now)` returns the new
 * state and the notifications to send; the I/O shell delivers them (with retries and a
 * breaker per sink) and dead-letters what cannot be delivered.
 *
 * Grouping: events of one (pool, type) within `groupWindowSeconds` form one alert; the
 * first is sent at once, later ones only raise the alert's count, which the next
 * notification (a resolve, or a repeat after the window) reports. Deduplication: an event
 * id seen before is ignored (Kafka redelivers).
 */
import {
  type AnyScalewiseEvent,
  type EventType,
  type Severity,
  type Silence,
  shortName,
} from '@scalewise/events';

export interface SinkConfig {
  name: string;
  kind: 'webhook' | 'slack';
  /** Lowest severity this sink receives. @default 'warning' */
  minSeverity?: Severity;
  /** Most notifications per minute to this sink; extra ones are counted, not sent. @default 30 */
  maxPerMinute?: number;
}

export interface RoutingConfig {
  sinks: SinkConfig[];
  /** @default 300 */
  groupWindowSeconds?: number;
  /** How many event ids to remember for deduplication. @default 10000 */
  dedupCapacity?: number;
}

// Silences are the REST API's, whose shape the event catalogue writes once.
export type { Silence } from '@scalewise/events';

export interface Notification {
  sink: string;
  status: 'firing' | 'resolved';
  /** Stable id of the alert: `<pool>/<type>`. */
  alertKey: string;
  pool: string;
  type: EventType;
  severity: Severity;
  /** Events folded into this alert since it was last sent. */
  count: number;
  firstAt: number;
  lastAt: number;
  /** The event that caused this notification. */
  event: AnyScalewiseEvent;
}

interface AlertState {
  key: string;
  pool: string;
  type: EventType;
  severity: Severity;
  firstAt: number;
  lastAt: number;
  lastSentAt: number;
  /** Events since the last notification. */
  pending: number;
}

export interface RoutingState {
  alerts: Map<string, AlertState>;
  silences: Map<string, Silence>;
  seenIds: Set<string>;
  seenOrder: string[];
  /** Send times per sink within the last minute. */
  sent: Map<string, number[]>;
  /** Notifications withheld by the rate limit, per sink. */
  rateLimited: Map<string, number>;
  silenced: number;
}

export function initialRoutingState(): RoutingState {
  return {
    alerts: new Map(),
    silences: new Map(),
    seenIds: new Set(),
    seenOrder: [],
    sent: new Map(),
    rateLimited: new Map(),
    silenced: 0,
  };
}

const severityRank: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** Events that end an alert: the resolving type -> the types it resolves. */
export const resolves: Partial<Record<EventType, EventType[]>> = {
  'io.scalewise.MinimumNodesRestored': [
    'io.scalewise.MinimumNodesViolation',
    'io.scalewise.EmergencyScaleUp',
  ],
  'io.scalewise.ScalingActionCompleted': ['io.scalewise.ScalingActionFailed'],
  'io.scalewise.NodeReady': ['io.scalewise.NodeHealthDegraded'],
  'io.scalewise.ClusterStateSynced': ['io.scalewise.StateDriftDetected'],
};

/** Whether a silence in force at `now` covers an alert. */
export function silenceMatches(
  s: Silence,
  pool: string,
  type: string,
  severity: Severity,
  now: number,
): boolean {
  if (now >= s.endsAt) return false;
  if (s.pools?.length && !s.pools.includes(pool)) return false;
  if (s.types?.length && !s.types.includes(type) && !s.types.includes(shortName(type))) return false;
  if (s.severities?.length && !s.severities.includes(severity)) return false;
  return true;
}

function poolOf(event: AnyScalewiseEvent): string {
  return event.partitionkey;
}

function remember(state: RoutingState, id: string, capacity: number): boolean {
  if (state.seenIds.has(id)) return false;
  state.seenIds.add(id);
  state.seenOrder.push(id);
  while (state.seenOrder.length > capacity) {
    const old = state.seenOrder.shift();
    if (old !== undefined) state.seenIds.delete(old);
  }
  return true;
}

function allowSend(state: RoutingState, sink: SinkConfig, now: number): boolean {
  const window = (state.sent.get(sink.name) ?? []).filter((t) => now - t < 60_000);
  if (window.length >= (sink.maxPerMinute ?? 30)) {
    state.sent.set(sink.name, window);
    state.rateLimited.set(sink.name, (state.rateLimited.get(sink.name) ?? 0) + 1);
    return false;
  }
  window.push(now);
  state.sent.set(sink.name, window);
  return true;
}

function fanOut(
  state: RoutingState,
  config: RoutingConfig,
  alert: AlertState,
  status: Notification['status'],
  event: AnyScalewiseEvent,
  now: number,
): Notification[] {
  const out: Notification[] = [];
  for (const sink of config.sinks) {
    if (severityRank[alert.severity] < severityRank[sink.minSeverity ?? 'warning']) continue;
    if (!allowSend(state, sink, now)) continue;
    out.push({
      sink: sink.name,
      status,
      alertKey: alert.key,
      pool: alert.pool,
      type: alert.type,
      severity: alert.severity,
      count: Math.max(1, alert.pending),
      firstAt: alert.firstAt,
      lastAt: alert.lastAt,
      event,
    });
  }
  return out;
}

/**
 * Routes one event. Mutates and returns `state` (the shell owns it; tests pass fresh ones).
 * Never throws for any event.
 */
export function route(
  state: RoutingState,
  config: RoutingConfig,
  event: AnyScalewiseEvent,
  now: number,
): { state: RoutingState; notifications: Notification[] } {
  if (!remember(state, `${event.source}/${event.id}`, config.dedupCapacity ?? 10_000)) {
    return { state, notifications: [] };
  }
  for (const [id, s] of state.silences) if (now >= s.endsAt) state.silences.delete(id);
  const pool = poolOf(event);
  const notifications: Notification[] = [];

  const resolvedTypes = resolves[event.type] ?? [];
  for (const type of resolvedTypes) {
    const key = `${pool}/${type}`;
    const alert = state.alerts.get(key);
    if (!alert) continue;
    state.alerts.delete(key);
    const silenced = [...state.silences.values()].some((s) =>
      silenceMatches(s, pool, type, alert.severity, now),
    );
    if (!silenced) notifications.push(...fanOut(state, config, alert, 'resolved', event, now));
  }

  if (severityRank[event.severity] >= severityRank.warning) {
    const key = `${pool}/${event.type}`;
    const windowMs = (config.groupWindowSeconds ?? 300) * 1000;
    let alert = state.alerts.get(key);
    const isNew = !alert;
    if (!alert) {
      alert = {
        key,
        pool,
        type: event.type,
        severity: event.severity,
        firstAt: now,
        lastAt: now,
        lastSentAt: 0,
        pending: 0,
      };
      state.alerts.set(key, alert);
    }
    alert.lastAt = now;
    alert.pending += 1;
    if (severityRank[event.severity] > severityRank[alert.severity]) alert.severity = event.severity;
    const silenced = [...state.silences.values()].some((s) =>
      silenceMatches(s, pool, event.type, event.severity, now),
    );
    if (silenced) {
      state.silenced += 1;
    } else if (isNew || now - alert.lastSentAt >= windowMs) {
      notifications.push(...fanOut(state, config, alert, 'firing', event, now));
      alert.lastSentAt = now;
      alert.pending = 0;
    }
  }
  return { state, notifications };
}

/**
 * Checks a new silence.
 * @throws RangeError when it has already ended or matches everything without a comment.
 */
export function checkSilence(silence: Silence, now: number): void {
  if (silence.endsAt <= now) throw new RangeError(`silence ${silence.id} ends in the past`);
  const matchesAll = !silence.pools?.length && !silence.types?.length && !silence.severities?.length;
  if (matchesAll && !silence.comment.trim()) {
    throw new RangeError('a silence that matches every alert needs a comment saying why');
  }
}

/** Adds a silence. @throws RangeError as {@link checkSilence}. */
export function addSilence(state: RoutingState, silence: Silence, now: number): RoutingState {
  checkSilence(silence, now);
  state.silences.set(silence.id, silence);
  return state;
}

/**
 * Whether routing `event` can notify (or be silenced): warning and above, and the events that
 * resolve an alert. Routing any other event only remembers its id.
 */
export function mayNotify(event: AnyScalewiseEvent): boolean {
  return severityRank[event.severity] >= severityRank.warning || resolves[event.type] !== undefined;
}

/** Open (firing) alerts, most severe first. */
export function openAlerts(state: RoutingState): AlertState[] {
  return [...state.alerts.values()].sort(
    (a, b) => severityRank[b.severity] - severityRank[a.severity] || a.firstAt - b.firstAt,
  );
}

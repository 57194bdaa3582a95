/**
 * The timeline's filters: one pool, one type and one severity at most (empty = all). The
 * same filter goes to the server (the WebSocket's filter message, the history query) and is
 * applied to what the page already holds, so changing it never waits for the network.
 */
import type { AnyScalewiseEvent, Severity } from './types.ts';
import { severities } from './types.ts';

export interface TimelineFilter {
  pool: string;
  type: string;
  severity: string;
}

export const noFilter: TimelineFilter = { pool: '', type: '', severity: '' };

/** Whether an event passes the filter. A short type name (`NodeReady`) matches its full one. */
export function passes(f: TimelineFilter, e: AnyScalewiseEvent): boolean {
  if (f.pool && e.partitionkey !== f.pool) return false;
  if (f.type && e.type !== f.type && e.type !== `io.scalewise.${f.type}`) return false;
  if (f.severity && e.severity !== f.severity) return false;
  return true;
}

/** The WebSocket filter message (alert-manager's StreamFilter): only the fields that are set. */
export function streamFilter(f: TimelineFilter): {
  pools?: string[];
  eventTypes?: string[];
  severities?: Severity[];
} {
  return {
    ...(f.pool ? { pools: [f.pool] } : {}),
    ...(f.type ? { eventTypes: [f.type] } : {}),
    ...(f.severity && (severities as string[]).includes(f.severity)
      ? { severities: [f.severity as Severity] }
      : {}),
  };
}

/** The /v1/events query string for the filter, the time window and a limit. */
export function historyQuery(f: TimelineFilter, from: number, limit: number): string {
  const q = new URLSearchParams({ from: String(from), limit: String(limit) });
  if (f.pool) q.set('pool', f.pool);
  if (f.type) q.set('type', f.type);
  if (f.severity) q.set('severity', f.severity);
  return q.toString();
}

/** The filter in the page's address (`#pool=a&type=...`), so a view can be shared. */
export function filterToHash(f: TimelineFilter): string {
  const q = new URLSearchParams();
  for (const k of ['pool', 'type', 'severity'] as const) if (f[k]) q.set(k, f[k]);
  return q.toString();
}

/**
 * Takes a `token` out of the page's address (`#token=...&pool=workers`, the link scripts/up
 * prints: a fragment never reaches a server or its logs). Returns the token, if any, and the
 * rest of the fragment to put back into the address bar.
 */
export function tokenFromHash(hash: string): { token: string | undefined; rest: string } {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  const token = q.get('token') ?? undefined;
  q.delete('token');
  return { token: token?.trim() || undefined, rest: q.toString() };
}

export function filterFromHash(hash: string): TimelineFilter {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  return { pool: q.get('pool') ?? '', type: q.get('type') ?? '', severity: q.get('severity') ?? '' };
}

/**
 * Adds `incoming` to a newest-first list kept at most `max` long: duplicates (the history
 * and the live stream overlap) are kept once, the order is by time then id.
 */
export function mergeEvents(
  list: readonly AnyScalewiseEvent[],
  incoming: readonly AnyScalewiseEvent[],
  max: number,
): AnyScalewiseEvent[] {
  const byId = new Map<string, AnyScalewiseEvent>();
  for (const e of list) byId.set(e.id, e);
  for (const e of incoming) byId.set(e.id, e);
  return [...byId.values()]
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || b.id.localeCompare(a.id))
    .slice(0, max);
}

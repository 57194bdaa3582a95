/**
 * "Why did it do that?": the causal chain of an event, from the events of its correlation
 * id (the history store returns them). Pure.
 */
import type { AnyScalewiseEvent } from '@scalewise/events';

export interface ChainLink {
  event: AnyScalewiseEvent;
  /** Depth from the root of the chain (the signal or trigger that started it). */
  depth: number;
}

export interface Explanation {
  correlationid: string;
  /** The path from the root cause to the asked-for event, then what the event led to. */
  chain: ChainLink[];
  /** Decisions not taken, with their reasons, in force in this chain. */
  blocked: AnyScalewiseEvent[];
  /** Events of the correlation that are not on the path (side branches), by time. */
  related: AnyScalewiseEvent[];
}

const nonActions = new Set(['io.scalewise.ScaleDownBlocked', 'io.scalewise.TriggerRejected']);

function byTime(a: AnyScalewiseEvent, b: AnyScalewiseEvent): number {
  return Date.parse(a.time) - Date.parse(b.time) || a.id.localeCompare(b.id);
}

/**
 * Explains `targetId` from `events` (all events of its correlation id, any order, possibly
 * with duplicates). The chain is the causation path from the root to the target followed
 * by the target's descendants (depth-first, by time).
 * @returns undefined when the target is not among the events.
 */
export function explain(targetId: string, events: AnyScalewiseEvent[]): Explanation | undefined {
  const byId = new Map<string, AnyScalewiseEvent>();
  for (const e of events) if (!byId.has(e.id)) byId.set(e.id, e);
  const target = byId.get(targetId);
  if (!target) return undefined;

  const children = new Map<string, AnyScalewiseEvent[]>();
  for (const e of byId.values()) {
    if (e.causationid && byId.has(e.causationid) && e.causationid !== e.id) {
      const list = children.get(e.causationid) ?? [];
      list.push(e);
      children.set(e.causationid, list);
    }
  }
  for (const list of children.values()) list.sort(byTime);

  // Walk up from the target; a cycle (a corrupt causation id) stops the walk.
  const ancestors: AnyScalewiseEvent[] = [];
  const seen = new Set<string>([target.id]);
  let cursor = target;
  while (cursor.causationid && byId.has(cursor.causationid) && !seen.has(cursor.causationid)) {
    const parent = byId.get(cursor.causationid) as AnyScalewiseEvent;
    seen.add(parent.id);
    ancestors.unshift(parent);
    cursor = parent;
  }
  const chain: ChainLink[] = ancestors.map((event, depth) => ({ event, depth }));
  const walk = (e: AnyScalewiseEvent, depth: number) => {
    chain.push({ event: e, depth });
    for (const c of children.get(e.id) ?? []) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      walk(c, depth + 1);
    }
  };
  walk(target, ancestors.length);

  const onChain = new Set(chain.map((l) => l.event.id));
  const rest = [...byId.values()].filter((e) => !onChain.has(e.id)).sort(byTime);
  return {
    correlationid: target.correlationid,
    chain,
    blocked: [...byId.values()].filter((e) => nonActions.has(e.type)).sort(byTime),
    related: rest,
  };
}

/**
 * For "why not?" questions at a pool and time: the latest ScaleDownBlocked and
 * TriggerRejected of each reason before `at` (epoch ms) within `lookbackMs`.
 */
export function reasonsInForce(
  events: AnyScalewiseEvent[],
  pool: string,
  at: number,
  lookbackMs = 600_000,
): AnyScalewiseEvent[] {
  const latest = new Map<string, AnyScalewiseEvent>();
  for (const e of [...events].sort(byTime)) {
    const t = Date.parse(e.time);
    if (e.partitionkey !== pool || t > at || t < at - lookbackMs || !nonActions.has(e.type)) continue;
    const reason = (e.data as { reason?: string }).reason ?? '';
    latest.set(`${e.type}/${reason}`, e);
  }
  return [...latest.values()].sort(byTime);
}

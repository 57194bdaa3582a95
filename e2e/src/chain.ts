/**
 * Chains of cause and effect among recorded events, by `causationid` links, not by arrival:
 * the services publish on several topics and the recorder reads them in parallel, so two
 * events of one chain may arrive in either order. Pure.
 */
import { shortName } from '@scalewise/events';

/** The envelope fields a chain is made of. */
export interface ChainEvent {
  id: string;
  type: string;
  time: string;
  correlationid?: string | undefined;
  causationid?: string | undefined;
  data?: unknown;
}

/** `io.scalewise.NodeReady` -> `NodeReady`. */
export const short = (type: string): string => shortName(type);

/** The ancestors of an event, nearest first, as far as the recorded events reach. */
export function ancestors<E extends ChainEvent>(events: readonly E[], event: E): E[] {
  const byId = new Map<string, E>();
  for (const e of events) if (!byId.has(e.id)) byId.set(e.id, e);
  const out: E[] = [];
  const seen = new Set<string>([event.id]);
  let cur: E | undefined = event;
  while (cur?.causationid !== undefined && !seen.has(cur.causationid)) {
    seen.add(cur.causationid);
    cur = byId.get(cur.causationid);
    if (cur) out.push(cur);
  }
  return out;
}

/**
 * Finds events of the given types (short names) such that each is a descendant of the one
 * before it through causation links: the chain `types[0] -> types[1] -> ...`. Among several
 * candidates of a type the earliest by event time is taken. `start` restricts the first event.
 *
 * @returns the chain, or a description of the first missing link (for an assertion message).
 */
export function causalChain<E extends ChainEvent>(
  events: readonly E[],
  types: readonly string[],
  start: (e: E) => boolean = () => true,
): { ok: true; chain: E[] } | { ok: false; missing: string } {
  const byTime = [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  // Depth-first over candidates, so that an early wrong pick (a first event whose chain was
  // cut short) does not hide a complete chain from a later one.
  let deepest = { depth: 0, missing: `no ${types[0]}` };
  const extend = (chain: E[]): E[] | undefined => {
    if (chain.length === types.length) return chain;
    const want = types[chain.length] as string;
    const parent = chain[chain.length - 1] as E;
    const candidates = byTime.filter(
      (e) => short(e.type) === want && ancestors(events, e).some((a) => a.id === parent.id),
    );
    if (candidates.length === 0 && chain.length >= deepest.depth) {
      deepest = {
        depth: chain.length,
        missing: `no ${want} descending from ${short(parent.type)} ${parent.id} (after ${chain
          .map((e) => short(e.type))
          .join(' -> ')})`,
      };
    }
    for (const c of candidates) {
      const found = extend([...chain, c]);
      if (found) return found;
    }
    return undefined;
  };
  for (const first of byTime.filter((e) => short(e.type) === types[0] && start(e))) {
    const found = extend([first]);
    if (found) return { ok: true, chain: found };
  }
  return { ok: false, missing: deepest.missing };
}

/** A readable line per event: `time type id <- causation` (for failure messages). */
export function describe(events: readonly ChainEvent[]): string {
  return events
    .map((e) => `${e.time} ${short(e.type)} ${e.id}${e.causationid ? ` <- ${e.causationid}` : ''}`)
    .join('\n');
}

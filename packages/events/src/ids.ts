/**
 * Deterministic event ids. A service that publishes an event because of an input (an event, a
 * sampling round, a check) derives the id from that input, so a retried publish or a
 * redelivered input yields the same id and consumers deduplicate it.
 */
import { type EventType, shortName } from './catalogue.ts';

/** What an id is derived from; each part is written only when given. */
export interface EventIdParts {
  /** The id of the input the event answers (an event id, an action id, a check's name). */
  from?: string | undefined;
  /** The pool, when `from` alone does not say it (one input, several pools). */
  pool?: string | undefined;
  /** The node the event is about; an empty name counts as none. */
  node?: string | undefined;
  /** The round the event was sensed in (a sample time), for ids not derived from an input. */
  at?: number | string | undefined;
}

/**
 * The id of an event of `type`: `<from>/<pool>/<short name>/<node>/<at>`, absent parts left out.
 * E.g. `{ from: 'e1' }` -> `e1/ScaleUpDecision`; `{ pool: 'workers', node: 'n1', at: 5 }` ->
 * `workers/NodeHealthDegraded/n1/5`.
 */
export function eventIdOf(type: EventType, parts: EventIdParts): string {
  const out: string[] = [];
  if (parts.from !== undefined) out.push(parts.from);
  if (parts.pool !== undefined) out.push(parts.pool);
  out.push(shortName(type));
  if (parts.node !== undefined && parts.node !== '') out.push(parts.node);
  if (parts.at !== undefined) out.push(String(parts.at));
  return out.join('/');
}

/**
 * The live stream's pure parts: the client filter (seed 001's shape, with pools for
 * namespaces) and a bounded per-client buffer that drops the oldest events and tells the
 * client how many it missed, so a slow client never blocks the service or other clients.
 */
import { type AnyScalewiseEvent, eventTypes, type Severity, shortName, typeOf } from '@scalewise/events';

export interface StreamFilter {
  /** Full (`io.scalewise.NodeReady`) or short (`NodeReady`) type names; empty = all. */
  eventTypes?: string[];
  pools?: string[];
  severities?: Severity[];
}

const severities: readonly Severity[] = ['info', 'warning', 'critical'];

/**
 * Checks a filter a client sent.
 * @returns the problems, each naming the field; empty when the filter is valid.
 */
export function filterProblems(input: unknown): string[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return ['filter must be a JSON object like {"eventTypes":[],"pools":[],"severities":[]}'];
  }
  const f = input as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(f)) {
    if (!['eventTypes', 'pools', 'severities'].includes(key)) problems.push(`${key}: unknown field`);
  }
  const list = (key: string): string[] | undefined => {
    const v = f[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      problems.push(`${key}: expected an array of strings`);
      return undefined;
    }
    return v as string[];
  };
  for (const t of list('eventTypes') ?? []) {
    const full = typeOf(t);
    if (!(eventTypes as string[]).includes(full)) problems.push(`eventTypes: unknown event type '${t}'`);
  }
  list('pools');
  for (const s of list('severities') ?? []) {
    if (!severities.includes(s as Severity))
      problems.push(`severities: '${s}' is not one of ${severities.join(', ')}`);
  }
  return problems;
}

/** Whether an event passes a (valid) filter. */
export function matches(filter: StreamFilter, event: AnyScalewiseEvent): boolean {
  if (filter.eventTypes?.length) {
    const short = shortName(event.type);
    if (!filter.eventTypes.includes(event.type) && !filter.eventTypes.includes(short)) return false;
  }
  if (filter.pools?.length && !filter.pools.includes(event.partitionkey)) return false;
  if (filter.severities?.length && !filter.severities.includes(event.severity)) return false;
  return true;
}

/** What a client is sent: an event, or a notice that events were dropped for it. */
export type StreamMessage<E> = { kind: 'event'; event: E } | { kind: 'skipped'; count: number };

/**
 * A bounded FIFO per client. `push` never blocks: when full, the oldest event is dropped
 * and counted; `drain` yields a `skipped` notice before the events that follow a gap.
 */
export class BoundedBuffer<E> {
  readonly capacity: number;
  #items: E[] = [];
  #skipped = 0;
  #skippedTotal = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be >= 1, got ${capacity}`);
    this.capacity = capacity;
  }

  push(item: E): void {
    if (this.#items.length >= this.capacity) {
      this.#items.shift();
      this.#skipped += 1;
      this.#skippedTotal += 1;
    }
    this.#items.push(item);
  }

  /** Takes up to `max` messages (a skip notice counts as one). */
  drain(max = Number.POSITIVE_INFINITY): StreamMessage<E>[] {
    const out: StreamMessage<E>[] = [];
    if (this.#skipped > 0 && max > 0) {
      out.push({ kind: 'skipped', count: this.#skipped });
      this.#skipped = 0;
    }
    while (out.length < max && this.#items.length > 0) {
      const event = this.#items.shift() as E;
      out.push({ kind: 'event', event });
    }
    return out;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Events dropped for this client since it connected. */
  get skippedTotal(): number {
    return this.#skippedTotal;
  }
}

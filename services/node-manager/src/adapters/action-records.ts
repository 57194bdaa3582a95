/**
 * The action records in Redis (compare-and-set, keyed by the decision id, packages/state):
 * the core's action and the events that chain its outputs, each caused by the one before it.
 */
import type { Bus } from '@scalewise/bus';
import { type AnyScalewiseEvent, causedBy, eventIdOf, type ScalewiseEvent } from '@scalewise/events';
import { createStateStore, type StateStore } from '@scalewise/state';
import type { Action, ActionIntent } from '../core/index.ts';

/** What is kept per action: the core's state and the events that chain its outputs. */
export interface ActionRecord {
  action: Action;
  decision: AnyScalewiseEvent;
  started: AnyScalewiseEvent | null;
  /**
   * Every event per node, in order: the last is the parent of the node's next event. Two
   * observations of one node are applied concurrently, so a process killed after writing both
   * may have published the second only; a restart says the whole chain again.
   */
  said?: Record<string, AnyScalewiseEvent[]>;
  /** The last event per node, in records written before `said`: read, never written. */
  tips?: Record<string, AnyScalewiseEvent>;
  /** The action's last event. */
  last: AnyScalewiseEvent | null;
}

export type ActionStore = StateStore<ActionRecord, AnyScalewiseEvent>;

/** The records of `namespace` (`scalewise:<cluster_id>:node-manager`), behind the Redis breaker. */
export function createActionStore(bus: Pick<Bus, 'redis' | 'breakers'>, namespace: string): ActionStore {
  return createStateStore<ActionRecord, AnyScalewiseEvent>({
    redis: bus.redis,
    namespace,
    call: (fn) => bus.breakers.redis.call(fn),
  });
}

/** The last event said about `node` in an action, if any. */
export const tipOf = (rec: ActionRecord, node: string): AnyScalewiseEvent | undefined =>
  rec.said?.[node]?.at(-1) ?? rec.tips?.[node];

/** A copy of a stored record the step may change (its chains copied, not shared). */
export const editable = (stored: ActionRecord): ActionRecord => ({ ...stored, said: { ...stored.said } });

/**
 * The core's intents as events, each caused by the one before it in the action: a node's
 * event by the node's last (or the start, or the decision), the action's end by its last
 * event. Ids are derived from the action and node, so an event said again is the same event.
 * Records each in `rec` (started, said, last).
 */
export function toEvents(rec: ActionRecord, intents: ActionIntent[], source: string): AnyScalewiseEvent[] {
  const out: AnyScalewiseEvent[] = [];
  for (const i of intents) {
    const node = (i.data as { node_name?: string }).node_name;
    const terminal =
      i.type === 'io.scalewise.ScalingActionCompleted' || i.type === 'io.scalewise.ScalingActionFailed';
    const parent = terminal
      ? (rec.last ?? rec.decision)
      : node
        ? (tipOf(rec, node) ?? rec.started ?? rec.decision)
        : rec.decision;
    const e = causedBy(parent as ScalewiseEvent, i.type, i.data, {
      source,
      id: eventIdOf(i.type, { from: rec.action.id, node }),
    }) as AnyScalewiseEvent;
    if (i.type === 'io.scalewise.ScaleUpStarted' || i.type === 'io.scalewise.ScaleDownStarted')
      rec.started = e;
    if (node) rec.said = { ...rec.said, [node]: [...(rec.said?.[node] ?? []), e] };
    rec.last = e;
    out.push(e);
  }
  return out;
}

/** Every event of a record once, in order: the start, each node's chain, the last. */
export function everythingSaid(rec: ActionRecord): AnyScalewiseEvent[] {
  const said = new Map<string, AnyScalewiseEvent>();
  for (const e of [
    rec.started,
    ...Object.values(rec.said ?? {}).flat(),
    ...Object.values(rec.tips ?? {}),
    rec.last,
  ])
    if (e) said.set(e.id, e);
  return [...said.values()];
}

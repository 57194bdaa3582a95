/**
 * Every event of every topic into the history (Redis streams, adapters/history.ts), once: the
 * group `<prefix>alert-manager` is shared by the replicas. Each write goes through the bus's
 * Redis breaker.
 */
import { type Breaker, type HandlerRegistry, handlersFor } from '@scalewise/bus';
import { type AnyScalewiseEvent, type EventType, eventTypes } from '@scalewise/events';
import type { History } from '../adapters/history.ts';

export interface HistoryHandlerDeps {
  history: History;
  /** The bus's Redis breaker. */
  redis: Breaker;
}

/** One handler for every type: the history keeps them all. */
export function historyHandlers(deps: HistoryHandlerDeps): HandlerRegistry<EventType> {
  const record = async (event: AnyScalewiseEvent) => {
    await deps.redis.call(() => deps.history.append(event));
  };
  return handlersFor(eventTypes, record);
}

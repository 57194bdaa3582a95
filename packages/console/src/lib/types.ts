/**
 * The shapes the console reads. Event shapes and alert-manager's answers come from
 * @scalewise/events (types only: nothing of it is bundled into the page; the lists of types
 * with their cadence and of the decision types are written into the page at build time,
 * vite.config.ts).
 */
import type {
  AnyScalewiseEvent,
  ChainExplanation,
  EventType,
  OpenAlert,
  PoolLimits,
  Severity,
  Silence,
} from '@scalewise/events';

export type { AnyScalewiseEvent, EventType, OpenAlert, PoolLimits, Severity, Silence };

/** What GET /v1/explain/:id answers (packages/events' ChainExplanation). */
export type ExplainResponse = ChainExplanation;

export const severities: readonly Severity[] = ['info', 'warning', 'critical'];

/** `io.scalewise.ScaleUpDecision` -> `ScaleUpDecision`. */
export const shortType = (type: string): string => type.replace(/^io\.scalewise\./, '');

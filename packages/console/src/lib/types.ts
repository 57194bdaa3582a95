/**
 * The shapes the console reads. Event shapes come from the catalogue in @scalewise/events
 * (types only: nothing of it is bundled into the page; the list of types with their cadence
 * is written into the page at build time, vite.config.ts).
 */
import type { AnyScalewiseEvent, EventType, Severity } from '@scalewise/events';

export type { AnyScalewiseEvent, EventType, Severity };

/** What GET /v1/explain/:id answers. */
export interface ExplainResponse {
  correlationid: string;
  chain: { event: AnyScalewiseEvent; depth: number }[];
  blocked: AnyScalewiseEvent[];
  related: AnyScalewiseEvent[];
}

/** One open alert of GET /v1/alerts. */
export interface OpenAlert {
  key: string;
  pool: string;
  type: string;
  severity: Severity;
  firstAt: number;
  lastAt: number;
  pending: number;
}

/** One silence of GET /v1/silences. */
export interface Silence {
  id: string;
  pools?: string[];
  types?: string[];
  severities?: Severity[];
  endsAt: number;
  createdBy: string;
  comment: string;
}

/** A pool's configured limits (GET /console/api/pools). */
export interface PoolLimits {
  pool: string;
  min: number;
  max: number;
}

export const severities: readonly Severity[] = ['info', 'warning', 'critical'];

/** `io.scalewise.ScaleUpDecision` -> `ScaleUpDecision`. */
export const shortType = (type: string): string => type.replace(/^io\.scalewise\./, '');

/**
 * What the bus reports about itself. `packages/telemetry` implements it with
 * OpenTelemetry instruments named after seed 003 (`scalewise_events_published_total`,
 * ...); the bus only calls it, so it never depends on a metrics SDK.
 */
export interface BusMetrics {
  /** An event acknowledged by Kafka after `seconds`. */
  published(topic: string, type: string, seconds: number): void;
  /** A publish that failed for good (after the producer's own retries). */
  publishFailed(topic: string, type: string, code: string): void;
  /**
   * A consumed record whose processing ended with `outcome` after `seconds`: `skipped` is an
   * undecodable record on a topic another service dead-letters; `blocked` a record that waits
   * for a dependency (its partition paused, nothing committed; it is read again).
   */
  consumed(
    topic: string,
    type: string,
    seconds: number,
    outcome: 'handled' | 'duplicate' | 'dead_lettered' | 'ignored' | 'skipped' | 'blocked',
  ): void;
  /** Consumer lag of one partition for one group, in records. */
  consumerLag(group: string, topic: string, partition: number, lag: number): void;
  /** A record written to the dead-letter store. */
  deadLettered(topic: string, code: string): void;
  /** Number of dead letters currently stored (after a listing). */
  deadLettersCurrent(count: number): void;
  /** A circuit breaker changed state. */
  breakerState(breaker: string, state: BreakerState): void;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/** Reports nothing; the default where no telemetry is wired. */
export const noopBusMetrics: BusMetrics = {
  published() {},
  publishFailed() {},
  consumed() {},
  consumerLag() {},
  deadLettered() {},
  deadLettersCurrent() {},
  breakerState() {},
};

/**
 * Breaker state is a metric (the bus records it) and an event (DESIGN.md section 6), which
 * alert-manager turns into a notification when one opens. Published without waiting; when the
 * broken dependency is Kafka itself the event cannot go out, and the metric and log remain.
 */
import type { BreakerState, Publisher } from '@scalewise/bus';
import { createEvent } from '@scalewise/events';
import type { Logger } from '@scalewise/telemetry';

export interface BreakerReporter {
  /** Reports a breaker's new state: a log line and a CircuitBreakerStateChanged event. */
  onBreakerState(breaker: string, state: BreakerState): void;
  /** The publisher the events go out on (the bus, made after the reporter it is given). */
  publishWith(publisher: Pick<Publisher, 'publish'>): void;
}

/** The breaker reporter of service `service` in cluster `clusterid`. */
export function breakerReporter(service: string, clusterid: string, log: Logger): BreakerReporter {
  const states = new Map<string, BreakerState>();
  let publisher: Pick<Publisher, 'publish'> | undefined;
  return {
    publishWith(p) {
      publisher = p;
    },
    onBreakerState(breaker, state) {
      const previous = states.get(breaker) ?? 'closed';
      states.set(breaker, state);
      if (previous === state) return;
      log.warn({ breaker, state, previous }, 'circuit breaker changed state');
      const event = createEvent(
        'io.scalewise.CircuitBreakerStateChanged',
        { service, breaker, state, previous, changed_at: new Date().toISOString() },
        {
          source: `/scalewise/${clusterid}/${service}`,
          clusterid,
          partitionkey: service,
          severity: state === 'open' ? 'critical' : state === 'half_open' ? 'warning' : 'info',
        },
      );
      publisher?.publish(event).catch((err) => {
        log.warn({ err, breaker, state }, 'could not publish the breaker change');
      });
    },
  };
}

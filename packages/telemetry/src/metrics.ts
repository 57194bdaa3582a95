/**
 * The metrics every service exposes on /metrics: seed 003's event metrics under `scalewise_`,
 * dependency and breaker health, and the pool gauges. One MeterProvider per service instance
 * (not the global one), so two services in one process keep separate registries.
 */
import type { Attributes, Counter, Gauge, Histogram, Meter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { BreakerState, BusMetrics } from '@scalewise/bus';

/** Seconds, from 1 ms to 30 s: publish and handler latencies. */
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** `scalewise_circuit_breaker_state`: 0 closed, 0.5 half-open, 1 open (alert rules test `== 1`). */
export const breakerStateValue: Record<BreakerState, number> = { closed: 0, half_open: 0.5, open: 1 };

/** The state label of `scalewise_pool_workers`. */
export type WorkerState = 'ready' | 'not_ready' | 'provisioning' | 'draining';

export interface PoolGauges {
  /** Workers of a pool per state, as state-sync last saw them. */
  workers(pool: string, counts: Partial<Record<WorkerState, number>>): void;
  /** The size the decision engine last decided for a pool. */
  desired(pool: string, workers: number): void;
  /** The pool's limits (alert rules compare workers with the minimum). */
  limits(pool: string, min: number, max: number): void;
}

export interface ServiceMetrics {
  meter: Meter;
  bus: BusMetrics;
  pools: PoolGauges;
  /** 1 while a readiness check of the dependency passes, 0 while it fails. */
  dependencyUp(dependency: string, up: boolean): void;
  /** The Prometheus text exposition of every instrument. */
  render(): Promise<string>;
  shutdown(): Promise<void>;
}

export function createServiceMetrics(resource: Resource): ServiceMetrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ resource, readers: [exporter] });
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  const meter = provider.getMeter('scalewise');

  const counter = (name: string, description: string): Counter => meter.createCounter(name, { description });
  const gauge = (name: string, description: string): Gauge => meter.createGauge(name, { description });
  const histogram = (name: string, description: string): Histogram =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: latencyBuckets },
    });

  const published = counter('scalewise_events_published_total', 'Events acknowledged by Kafka');
  const publishDuration = histogram('scalewise_event_publish_duration_seconds', 'Publish to acknowledgement');
  const publishErrors = counter('scalewise_event_publish_errors_total', 'Publishes that failed for good');
  const consumed = counter('scalewise_events_consumed_total', 'Consumed records by outcome');
  const consumeDuration = histogram(
    'scalewise_event_consume_duration_seconds',
    'Record received to committed',
  );
  const lag = gauge('scalewise_consumer_lag', 'Records behind the end of the partition');
  const dlqTotal = counter('scalewise_dlq_messages_total', 'Records written to the dead-letter store');
  const dlqCurrent = gauge('scalewise_dlq_current_size', 'Dead letters stored now (at the last listing)');
  const breaker = gauge(
    'scalewise_circuit_breaker_state',
    'Circuit breaker: 0 closed, 0.5 half-open, 1 open',
  );
  const depUp = gauge('scalewise_dependency_up', 'Whether the last readiness check of a dependency passed');
  const poolWorkers = gauge('scalewise_pool_workers', 'Workers of a pool by state');
  const poolDesired = gauge('scalewise_pool_desired_workers', 'The size last decided for a pool');
  const poolMin = gauge('scalewise_pool_min_workers', 'The minimum of a pool');
  const poolMax = gauge('scalewise_pool_max_workers', 'The maximum of a pool');

  const bus: BusMetrics = {
    published(topic, type, seconds) {
      const a: Attributes = { event_type: type, topic };
      published.add(1, a);
      publishDuration.record(seconds, a);
    },
    publishFailed(topic, type, code) {
      publishErrors.add(1, { event_type: type, topic, code });
    },
    consumed(topic, type, seconds, outcome) {
      consumed.add(1, { event_type: type, topic, outcome });
      consumeDuration.record(seconds, { event_type: type, topic, outcome });
    },
    consumerLag(group, topic, partition, value) {
      lag.record(value, { group, topic, partition: String(partition) });
    },
    deadLettered(topic, code) {
      dlqTotal.add(1, { topic, code });
    },
    deadLettersCurrent(count) {
      dlqCurrent.record(count);
    },
    breakerState(name, state) {
      breaker.record(breakerStateValue[state], { breaker: name });
    },
  };

  const states: WorkerState[] = ['ready', 'not_ready', 'provisioning', 'draining'];
  const pools: PoolGauges = {
    workers(pool, counts) {
      for (const state of states) poolWorkers.record(counts[state] ?? 0, { pool, state });
    },
    desired(pool, workers) {
      poolDesired.record(workers, { pool });
    },
    limits(pool, min, max) {
      poolMin.record(min, { pool });
      poolMax.record(max, { pool });
    },
  };

  return {
    meter,
    bus,
    pools,
    dependencyUp(dependency, up) {
      depUp.record(up ? 1 : 0, { dependency });
    },
    async render() {
      const { resourceMetrics, errors } = await exporter.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'collecting metrics failed');
      return serializer.serialize(resourceMetrics);
    },
    shutdown: () => provider.shutdown(),
  };
}

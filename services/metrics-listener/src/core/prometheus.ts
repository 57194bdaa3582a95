/**
 * The Prometheus source of a pool, pure (KEDA's `prometheus` trigger, for workers instead of
 * replicas): the answer of `GET /api/v1/query` read to one number, and that number held
 * against the pool's threshold.
 *
 * Reading the answer (`readQueryResult`), as KEDA's scaler reads it:
 * - a `scalar`, or a `vector` of exactly one series: its value;
 * - an empty vector: 0 when `ignore_null_values` (the default; "nothing measured" is "no load"),
 *   else an error: a query that matches nothing is more often a typo than an idle system;
 * - NaN or ±Inf (e.g. a rate divided by a zero rate): the same as empty;
 * - several series: an error telling to aggregate (`sum(...)`, `max(...)`): adding or picking
 *   one silently would scale on a number nobody chose;
 * - `matrix` or `string`, or `status: error`: an error with Prometheus's own message.
 *
 * The rule (`metricDemand`), KEDA's AverageValue target by default: the pool needs
 * `ceil(value / threshold)` workers (each worker takes `threshold` of the metric); with
 * `metric_type: Value` the HPA's ratio `ceil(workers * value / threshold)`. At or below
 * `activation_threshold` the metric is inactive and asks for nothing (KEDA's activation).
 * Pressure is when the need exceeds the workers the pool has; the decision engine sizes the
 * scale-up to `desired_workers`. The metric never scales down on its own: scale-down stays with
 * underutilisation, which the metric holds back while it still needs the workers there are.
 */
import type { EventData } from '@scalewise/events';

export interface PrometheusSpec {
  /** Names the metric in events and explanations. */
  name: string;
  query: string;
  threshold: number;
  activationThreshold: number;
  metricType: 'AverageValue' | 'Value';
  ignoreNullValues: boolean;
}

/** The value of the query, or why there is none. */
export type QueryReading = { ok: true; value: number; series: number } | { ok: false; error: string };

/**
 * What the metric asks of a pool of `workers` workers: the catalogue's `metric` of a
 * ResourcePressureAlert (`active` is value > activation_threshold; `desired_workers` 0 when inactive).
 */
export type MetricDemand = NonNullable<EventData<'io.scalewise.ResourcePressureAlert'>['metric']>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Prometheus writes sample values as strings ("12.5", "NaN", "+Inf"). */
function sampleValue(pair: unknown): number | undefined {
  if (!Array.isArray(pair) || pair.length !== 2) return undefined;
  const raw = pair[1];
  if (typeof raw === 'number') return raw;
  if (typeof raw !== 'string') return undefined;
  if (raw === 'NaN') return Number.NaN;
  if (raw === '+Inf' || raw === 'Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  const n = Number(raw);
  // Only the spelled-out "NaN" is NaN; any other unreadable text is no value at all.
  return raw.trim() === '' || Number.isNaN(n) ? undefined : n;
}

/**
 * The one number an instant query's JSON answer gives, or why it gives none.
 * Never throws.
 */
export function readQueryResult(
  body: unknown,
  spec: Pick<PrometheusSpec, 'query' | 'ignoreNullValues'>,
): QueryReading {
  const empty = (what: string): QueryReading =>
    spec.ignoreNullValues
      ? { ok: true, value: 0, series: 0 }
      : { ok: false, error: `query '${spec.query}' ${what} (ignore_null_values is false)` };
  if (!isObject(body)) return { ok: false, error: 'the answer is not a Prometheus API JSON object' };
  if (body.status !== 'success') {
    const kind = typeof body.errorType === 'string' ? `${body.errorType}: ` : '';
    const msg = typeof body.error === 'string' ? body.error : 'no error message';
    return { ok: false, error: `query '${spec.query}' failed: ${kind}${msg}` };
  }
  const data = isObject(body.data) ? body.data : undefined;
  if (!data) return { ok: false, error: 'the answer has no data' };
  let value: number | undefined;
  let series = 1;
  if (data.resultType === 'scalar') {
    value = sampleValue(data.result);
  } else if (data.resultType === 'vector') {
    const result = Array.isArray(data.result) ? data.result : undefined;
    if (!result) return { ok: false, error: 'the vector answer has no result array' };
    series = result.length;
    if (result.length === 0) return empty('returned no series');
    if (result.length > 1) {
      return {
        ok: false,
        error: `query '${spec.query}' returned ${result.length} series; it must return one (aggregate it, e.g. sum(...) or max(...))`,
      };
    }
    value = sampleValue(isObject(result[0]) ? result[0].value : undefined);
  } else {
    return {
      ok: false,
      error: `query '${spec.query}' returned a ${String(data.resultType)}; it must return a scalar or an instant vector of one series`,
    };
  }
  if (value === undefined)
    return { ok: false, error: `query '${spec.query}' returned a sample without a readable value` };
  if (!Number.isFinite(value)) return empty(`returned ${value}`);
  return { ok: true, value, series };
}

/** What the metric asks of a pool with `workers` workers (see the module comment). */
export function metricDemand(value: number, workers: number, spec: PrometheusSpec): MetricDemand {
  const active = value > spec.activationThreshold;
  let desired = 0;
  if (active) {
    const raw =
      spec.metricType === 'Value'
        ? Math.ceil((Math.max(workers, 1) * value) / spec.threshold)
        : Math.ceil(value / spec.threshold);
    // Active means at least one worker, as KEDA activates 0 -> 1.
    desired = Math.max(1, raw);
  }
  return {
    name: spec.name,
    query: spec.query,
    value,
    threshold: spec.threshold,
    activation_threshold: spec.activationThreshold,
    metric_type: spec.metricType,
    active,
    desired_workers: desired,
  };
}

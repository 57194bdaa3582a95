/**
 * A pool's Prometheus source, the I/O half: `GET <server_address>/api/v1/query?query=...&time=...`
 * (the HTTP API Prometheus, Thanos, Mimir and VictoriaMetrics serve), with a timeout and a
 * circuit breaker; the answer is read by the pure core (core/prometheus.ts). A query never
 * throws into the sampling round: every failure comes back as a reading with its reason, which
 * PoolMetricsObserved carries and the round logs.
 */
import { readFile } from 'node:fs/promises';
import { type Breaker, type BreakerOptions, type BusMetrics, createBreaker } from '@scalewise/bus';
import type { PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { type PrometheusSpec, type QueryReading, readQueryResult } from '../core/index.ts';

type SourceConfig = NonNullable<PoolConfig['metrics']['prometheus']>;

export interface PrometheusSource {
  readonly spec: PrometheusSpec;
  /** Runs the query at `at` (epoch ms). Never throws. */
  read(at: number): Promise<QueryReading>;
  shutdown(): void;
}

/** The pure core's view of a pool's config. */
export function prometheusSpec(c: SourceConfig): PrometheusSpec {
  return {
    name: c.name,
    query: c.query,
    threshold: c.threshold,
    activationThreshold: c.activation_threshold,
    metricType: c.metric_type,
    ignoreNullValues: c.ignore_null_values,
  };
}

/** The query URL; `time` in seconds as the API takes it. */
export function queryUrl(serverAddress: string, query: string, at: number): string {
  const url = new URL(serverAddress.endsWith('/') ? serverAddress : `${serverAddress}/`);
  const api = new URL('api/v1/query', url);
  api.searchParams.set('query', query);
  api.searchParams.set('time', (at / 1000).toFixed(3));
  return api.toString();
}

export interface PrometheusSourceDeps {
  breaker?: BreakerOptions;
  /** Where the breaker's state goes (scalewise_circuit_breaker_state{breaker="prometheus:<pool>"}). */
  metrics?: BusMetrics;
  onBreakerState?: (name: string, state: 'closed' | 'open' | 'half_open') => void;
  fetch?: typeof fetch;
}

/** The error a request that got no answer throws: TIMEOUT past the timeout, else unavailable. */
function noAnswer(c: SourceConfig, err: unknown): ScalewiseError {
  const name = (err as Error).name;
  return new ScalewiseError(
    name === 'TimeoutError' ? 'TIMEOUT' : 'DEPENDENCY_UNAVAILABLE',
    name === 'TimeoutError'
      ? `prometheus ${c.server_address}: no answer within ${c.timeout_seconds}s`
      : `prometheus ${c.server_address}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`,
    { cause: err },
  );
}

/** The body of an answer, for the core to read; throws when the answer is an outage or not JSON. */
function bodyOf(c: SourceConfig, status: number, ok: boolean, text: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  // 400 and 422 carry the API's error body (a bad query): an answer, not an outage.
  if (status === 400 || status === 422) return body ?? { status: 'error', error: `HTTP ${status}` };
  if (!ok) {
    throw new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `prometheus ${c.server_address}: HTTP ${status}${status === 401 || status === 403 ? ' (check bearer_token_file and headers)' : ''}`,
      { retriable: status >= 500 || status === 429 },
    );
  }
  if (body === undefined) {
    throw new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `prometheus ${c.server_address}: the answer is not JSON`,
      {
        retriable: false,
      },
    );
  }
  return body;
}

class HttpPrometheusSource implements PrometheusSource {
  readonly spec: PrometheusSpec;
  private readonly c: SourceConfig;
  private readonly doFetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly breaker: Breaker;

  constructor(pool: string, c: SourceConfig, deps: PrometheusSourceDeps) {
    this.spec = prometheusSpec(c);
    this.c = c;
    this.doFetch = deps.fetch ?? fetch;
    this.timeoutMs = Math.round(c.timeout_seconds * 1000);
    this.breaker = createBreaker(
      `prometheus:${pool}`,
      // The breaker's own timeout backs up the request's.
      { ...deps.breaker, timeoutMs: this.timeoutMs + 1000 },
      deps.metrics,
      deps.onBreakerState,
    );
  }

  async read(at: number): Promise<QueryReading> {
    try {
      return readQueryResult(await this.breaker.call(() => this.query(at)), this.spec);
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  shutdown(): void {
    this.breaker.shutdown();
  }

  private async query(at: number): Promise<unknown> {
    const c = this.c;
    const headers: Record<string, string> = { accept: 'application/json', ...c.headers };
    if (c.bearer_token_file) {
      headers.authorization = `Bearer ${(await readFile(c.bearer_token_file, 'utf8')).trim()}`;
    }
    // Not called as this.doFetch(): a fetch may refuse a `this` other than the global one.
    const doFetch = this.doFetch;
    let res: Response;
    try {
      res = await doFetch(queryUrl(c.server_address, c.query, at), {
        headers,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw noAnswer(c, err);
    }
    return bodyOf(c, res.status, res.ok, await res.text());
  }
}

export function createPrometheusSource(
  pool: string,
  c: SourceConfig,
  deps: PrometheusSourceDeps = {},
): PrometheusSource {
  return new HttpPrometheusSource(pool, c, deps);
}

/** The Prometheus sources of every pool that has one, read together once per round. */
export interface PoolQueries {
  /** Each pool's reading at `at` (pools without a source are absent). Never throws. */
  readAll(at: number): Promise<Map<string, QueryReading>>;
  shutdown(): void;
}

/**
 * One source per pool with `metrics.prometheus`; a failing query is logged when it starts or
 * changes and when it answers again, not every round.
 */
export function createPoolQueries(
  pools: readonly Pick<PoolConfig, 'name' | 'metrics'>[],
  deps: {
    breaker?: BreakerOptions;
    metrics?: BusMetrics;
    log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  },
): PoolQueries {
  const sources = new Map<string, PrometheusSource>();
  for (const p of pools) {
    const c = p.metrics.prometheus;
    if (c) sources.set(p.name, createPrometheusSource(p.name, c, { ...deps }));
  }
  const errors = new Map<string, string>();
  return {
    async readAll(at) {
      const readings = await Promise.all(
        [...sources].map(async ([pool, src]) => [pool, await src.read(at)] as const),
      );
      for (const [pool, r] of readings) {
        const previous = errors.get(pool);
        if (r.ok && previous !== undefined) deps.log.info({ pool }, 'prometheus query answers again');
        if (!r.ok && r.error !== previous) {
          deps.log.warn(
            { pool, error: r.error },
            'prometheus query gave no value; the metric asks for nothing until it does',
          );
        }
        if (r.ok) errors.delete(pool);
        else errors.set(pool, r.error);
      }
      return new Map(readings);
    },
    shutdown() {
      for (const s of sources.values()) s.shutdown();
    },
  };
}

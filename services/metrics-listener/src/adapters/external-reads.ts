/**
 * What a round reads outside the watch caches, all at once: node usage from metrics.k8s.io when
 * the API server serves it (metrics-api.ts, one list for every pool), and the query of each
 * pool with `metrics.prometheus` (prometheus.ts, behind a breaker).
 */
import type { Config } from '@scalewise/config';
import type { Kube } from '@scalewise/kube';
import { breakerOptionsOf, type ServiceContext } from '@scalewise/service';
import { createMetricsApi } from './metrics-api.ts';
import type { External } from './pool-sample.ts';
import { createPoolQueries } from './prometheus.ts';

export function createExternalReads(deps: {
  kube: Kube;
  config: Config;
  telemetry: Pick<ServiceContext['telemetry'], 'logger' | 'metrics'>;
}) {
  const { config, telemetry } = deps;
  const log = telemetry.logger;
  const sensing = config.autoscaler.sensing;
  const metricsApi = createMetricsApi({
    kube: deps.kube,
    log,
    mode: sensing.utilization_source,
    recheckSeconds: sensing.metrics_api_recheck_seconds,
  });
  const queries = createPoolQueries(config.autoscaler.pools, {
    breaker: breakerOptionsOf(config),
    metrics: telemetry.metrics.bus,
    log,
  });
  return {
    metricsApi,
    async read(at: number): Promise<External> {
      const [usage, readings] = await Promise.all([metricsApi.nodeUsage(at), queries.readAll(at)]);
      return { usage, readings };
    },
    shutdown: () => queries.shutdown(),
  };
}

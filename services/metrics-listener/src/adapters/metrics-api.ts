/**
 * metrics.k8s.io, the I/O half: whether the API server serves `metrics.k8s.io/v1beta1` (an
 * aggregated API: metrics-server, or anything registered as its APIService), and when it does,
 * every node's usage with one list of `nodes.metrics.k8s.io` per sampling round (not one per
 * pool or per node). The quantities are read by the pure core (core/usage.ts).
 *
 * Discovery (`GET /apis/metrics.k8s.io/v1beta1`, listing `nodes`) runs at the first round and
 * again every `recheckSeconds` while the API is absent or after it failed; in between, rounds
 * use requests / allocatable without asking. A list that fails or does not answer within
 * `timeoutMs` makes that round fall back as well: a slow or broken metrics server can delay a
 * sample by at most the timeout, never stop it. Each PoolMetricsObserved says which source it
 * used (`source: metrics-server | requests`).
 */
import { type Kube, statusOf } from '@scalewise/kube';
import { type NodeUsage, parseNodeMetricsList } from '../core/index.ts';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';

export type MetricsApiState = 'unknown' | 'served' | 'absent' | 'failing' | 'disabled';

export interface MetricsApi {
  /** Each node's usage this round, or undefined when the API is absent, failing or not due a recheck. */
  nodeUsage(now: number): Promise<Map<string, NodeUsage> | undefined>;
  state(): MetricsApiState;
}

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export function createMetricsApi(deps: {
  kube: Kube;
  log: Logger;
  /** `requests` never asks (sensing.utilization_source). @default 'auto' */
  mode?: 'auto' | 'requests';
  /** @default 60 */
  recheckSeconds?: number;
  /** @default 5000 */
  timeoutMs?: number;
}): MetricsApi {
  const api = deps.kube.custom;
  const recheckMs = (deps.recheckSeconds ?? 60) * 1000;
  const timeoutMs = deps.timeoutMs ?? 5000;
  let state: MetricsApiState = deps.mode === 'requests' ? 'disabled' : 'unknown';
  let nextCheck = 0;

  const setState = (s: MetricsApiState, info: object) => {
    if (s === state) return;
    const previous = state;
    state = s;
    const msg =
      s === 'served'
        ? 'metrics.k8s.io is served: utilisation from node usage'
        : 'metrics.k8s.io unavailable: utilisation from requests / allocatable';
    (s === 'failing' ? deps.log.warn : deps.log.info).call(deps.log, { ...info, state: s, previous }, msg);
  };

  async function discover(now: number): Promise<void> {
    nextCheck = now + recheckMs;
    try {
      // A request past the timeout is given up (its connection closed), not left running.
      const list = await api.getAPIResources(
        { group: METRICS_GROUP, version: METRICS_VERSION },
        { timeoutMs },
      );
      const served = (list.resources ?? []).some((r) => r.name === 'nodes');
      setState(served ? 'served' : 'absent', served ? {} : { reason: 'the group lists no nodes resource' });
    } catch (err) {
      // 404: no such group (no metrics server registered); anything else: registered but failing.
      const status = statusOf(err);
      if (status === 404) setState('absent', { reason: 'not registered (404)' });
      else setState('failing', { err, status, reason: 'discovery failed' });
    }
  }

  return {
    state: () => state,
    async nodeUsage(now) {
      if (state === 'disabled') return undefined;
      if (state !== 'served') {
        if (now < nextCheck) return undefined;
        await discover(now);
        // discover() changed it (TypeScript narrowed `state` before the await).
        if ((state as MetricsApiState) !== 'served') return undefined;
      }
      try {
        const body = await api.listClusterCustomObject(
          { group: METRICS_GROUP, version: METRICS_VERSION, plural: 'nodes' },
          { timeoutMs },
        );
        const { usage, skipped } = parseNodeMetricsList(body);
        if (skipped.length > 0) {
          deps.log.warn(
            { skipped: skipped.slice(0, 10), count: skipped.length },
            'NodeMetrics items skipped',
          );
        }
        return usage;
      } catch (err) {
        nextCheck = now + recheckMs;
        setState(statusOf(err) === 404 ? 'absent' : 'failing', {
          err,
          status: statusOf(err),
          reason: 'list failed',
        });
        return undefined;
      }
    },
  };
}

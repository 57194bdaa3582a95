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

export interface MetricsApiDeps {
  kube: Kube;
  log: Logger;
  /** `requests` never asks (sensing.utilization_source). @default 'auto' */
  mode?: 'auto' | 'requests';
  /** @default 60 */
  recheckSeconds?: number;
  /** @default 5000 */
  timeoutMs?: number;
}

class DiscoveredMetricsApi implements MetricsApi {
  private readonly api: Kube['custom'];
  private readonly log: Logger;
  private readonly recheckMs: number;
  private readonly timeoutMs: number;
  private current: MetricsApiState;
  /** When discovery runs next (epoch ms) while the API is not served. */
  private nextCheck = 0;

  constructor(deps: MetricsApiDeps) {
    this.api = deps.kube.custom;
    this.log = deps.log;
    this.recheckMs = (deps.recheckSeconds ?? 60) * 1000;
    this.timeoutMs = deps.timeoutMs ?? 5000;
    this.current = deps.mode === 'requests' ? 'disabled' : 'unknown';
  }

  state(): MetricsApiState {
    return this.current;
  }

  async nodeUsage(now: number): Promise<Map<string, NodeUsage> | undefined> {
    if (this.current === 'disabled') return undefined;
    if (this.current !== 'served') {
      if (now < this.nextCheck) return undefined;
      await this.discover(now);
      // discover() changed it (TypeScript narrowed `current` before the await).
      if ((this.current as MetricsApiState) !== 'served') return undefined;
    }
    return this.list(now);
  }

  /** Every node's usage, in one list; undefined (and a recheck later) when it fails. */
  private async list(now: number): Promise<Map<string, NodeUsage> | undefined> {
    try {
      const body = await this.api.listClusterCustomObject(
        { group: METRICS_GROUP, version: METRICS_VERSION, plural: 'nodes' },
        { timeoutMs: this.timeoutMs },
      );
      const { usage, skipped } = parseNodeMetricsList(body);
      if (skipped.length > 0) {
        this.log.warn({ skipped: skipped.slice(0, 10), count: skipped.length }, 'NodeMetrics items skipped');
      }
      return usage;
    } catch (err) {
      this.nextCheck = now + this.recheckMs;
      this.setState(statusOf(err) === 404 ? 'absent' : 'failing', {
        err,
        status: statusOf(err),
        reason: 'list failed',
      });
      return undefined;
    }
  }

  private async discover(now: number): Promise<void> {
    this.nextCheck = now + this.recheckMs;
    try {
      // A request past the timeout is given up (its connection closed), not left running.
      const list = await this.api.getAPIResources(
        { group: METRICS_GROUP, version: METRICS_VERSION },
        { timeoutMs: this.timeoutMs },
      );
      const served = (list.resources ?? []).some((r) => r.name === 'nodes');
      this.setState(
        served ? 'served' : 'absent',
        served ? {} : { reason: 'the group lists no nodes resource' },
      );
    } catch (err) {
      // 404: no such group (no metrics server registered); anything else: registered but failing.
      const status = statusOf(err);
      if (status === 404) this.setState('absent', { reason: 'not registered (404)' });
      else this.setState('failing', { err, status, reason: 'discovery failed' });
    }
  }

  /** Moves to `s`, logging the change (a warning when it fails). */
  private setState(s: MetricsApiState, info: object): void {
    if (s === this.current) return;
    const previous = this.current;
    this.current = s;
    const msg =
      s === 'served'
        ? 'metrics.k8s.io is served: utilisation from node usage'
        : 'metrics.k8s.io unavailable: utilisation from requests / allocatable';
    (s === 'failing' ? this.log.warn : this.log.info).call(this.log, { ...info, state: s, previous }, msg);
  }
}

export function createMetricsApi(deps: MetricsApiDeps): MetricsApi {
  return new DiscoveredMetricsApi(deps);
}

/**
 * Sensing, pure: one sample of a pool (its nodes with allocatable, requested and, when a
 * metrics server answers, used resources; its pods waiting for a node) in, the events of seed
 * 000's definitions out. The shell builds samples from the Kubernetes watch cache every
 * sample interval and publishes what comes back.
 *
 * - PoolMetricsObserved every sample: workers, ready workers, CPU and memory in percent of
 *   allocatable (used when every ready node has usage, else requested), pods pending.
 * - ResourcePressureAlert every sample while CPU > cpu_high OR memory > memory_high, or the
 *   pool's Prometheus metric asks for more workers than it has (prometheus.ts), with how long
 *   it has held; `resource: metric` when only the metric does, `metric` with its numbers.
 * - UnderutilizationWarning every sample while workers > min, the pool's metric (if any) does not need the workers there are, and at least one Ready node has
 *   had requested CPU < cpu_low AND memory < memory_low for `underutilizedPeriods` consecutive
 *   samples: those nodes are the scale-down candidates (`candidates`, least requested first,
 *   the newest first among equals), which the shell runs through the scheduling simulation's
 *   removal pass (simulate.ts). The duration is that of the candidate low for the shortest
 *   time (the decision engine waits for its own `underutilized_for_seconds`).
 * - PendingPodsDetected every sample while pods wait: count, the longest wait, the
 *   Deployments behind them, their summed requests and the largest pod.
 * - NodeHealthDegraded for a node NotReady or under Memory/Disk/PID pressure: when it starts
 *   and again every `healthRepeatSeconds` while it lasts (the decision engine forgets an
 *   unreported problem after its TTL).
 */
import type { EventData, EventIntent } from '@scalewise/events';
import { type MetricDemand, metricDemand, type PrometheusSpec, type QueryReading } from './prometheus.ts';

export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface NodeSample {
  name: string;
  ready: boolean;
  /** Conditions other than Ready that are True (MemoryPressure, DiskPressure, PIDPressure, ...). */
  pressure: readonly NodeCondition[];
  readyCondition?: NodeCondition;
  cpuAllocatableMillicores: number;
  memoryAllocatableBytes: number;
  cpuRequestedMillicores: number;
  memoryRequestedBytes: number;
  /** From metrics.k8s.io, when it answered for this node. */
  cpuUsageMillicores?: number;
  memoryUsageBytes?: number;
  /** Epoch ms the node was created: the newest goes first among equally used candidates. */
  createdAt?: number;
}

export interface PendingPod {
  namespace: string;
  name: string;
  cpuMillicores: number;
  memoryBytes: number;
  /** Epoch ms since the pod has been unschedulable (or created). */
  pendingSince: number;
  /** The Deployment (through its ReplicaSet) or other owner, as kind/name. */
  owner?: string;
  reason: string;
}

export interface PoolSample {
  pool: string;
  at: number;
  nodes: NodeSample[];
  pending: PendingPod[];
  /** The pool's Prometheus query this round, when the policy has one. */
  metric?: QueryReading;
  /** The scheduling simulation's answer for the pool's waiting pods (simulate.ts). */
  simulation?: EventData<'io.scalewise.PendingPodsDetected'>['simulation'];
}

export interface SensePolicy {
  pool: string;
  min: number;
  max: number;
  cpuHighPercent: number;
  memoryHighPercent: number;
  cpuLowPercent: number;
  memoryLowPercent: number;
  /** Consecutive low samples before the first UnderutilizationWarning. @default 3 */
  underutilizedPeriods: number;
  /** @default 60 */
  healthRepeatSeconds: number;
  /** The pool's Prometheus source, if it has one. */
  prometheus?: PrometheusSpec;
  /**
   * `pod`: a pods pool. The sample's "nodes" are its worker Pods (ready: Running); their CPU and
   * memory are not measured, so only the Prometheus metric (a queue, say) raises pressure and
   * nothing reports underutilisation or node health. Absent: nodes.
   */
  workerKind?: 'pod';
}

export interface SensePoolState {
  pressureSince: number | null;
  /** Node -> since when and for how many consecutive samples its requests have been under the low thresholds. */
  lowNodes: Record<string, { since: number; periods: number }>;
  /** Node -> the problem last reported and when. */
  degraded: Record<string, { status: string; reportedAt: number }>;
}

export const initialSenseState = (): SensePoolState => ({
  pressureSince: null,
  lowNodes: {},
  degraded: {},
});

/** A node that may go: under the low thresholds for the periods. */
export interface RemovalCandidate {
  node: string;
  cpuPercent: number;
  memoryPercent: number;
}

export type SenseIntent = EventIntent<SensedType>;

export type SensedType =
  | 'io.scalewise.PoolMetricsObserved'
  | 'io.scalewise.ResourcePressureAlert'
  | 'io.scalewise.UnderutilizationWarning'
  | 'io.scalewise.PendingPodsDetected'
  | 'io.scalewise.NodeHealthDegraded';

const round1 = (x: number) => Math.round(x * 10) / 10;
/** `part` in percent of `whole`, one decimal, within 0..100. */
export const pct = (part: number, whole: number) =>
  whole > 0 ? Math.min(100, Math.max(0, round1((part / whole) * 100))) : 0;
/** Milliseconds as seconds, one decimal, never negative. */
export const secs = (ms: number) => Math.max(0, Math.round(ms / 100) / 10);

/** CPU and memory of the pool in percent of what its ready nodes offer, and where they came from. */
export function utilization(nodes: readonly NodeSample[]): {
  cpu: number;
  memory: number;
  source: 'metrics-server' | 'requests';
} {
  const ready = nodes.filter((n) => n.ready);
  const measured =
    ready.length > 0 &&
    ready.every((n) => n.cpuUsageMillicores !== undefined && n.memoryUsageBytes !== undefined);
  let cpu = 0;
  let mem = 0;
  let cpuAll = 0;
  let memAll = 0;
  for (const n of ready) {
    cpuAll += n.cpuAllocatableMillicores;
    memAll += n.memoryAllocatableBytes;
    cpu += measured ? (n.cpuUsageMillicores ?? 0) : n.cpuRequestedMillicores;
    mem += measured ? (n.memoryUsageBytes ?? 0) : n.memoryRequestedBytes;
  }
  return {
    cpu: pct(cpu, cpuAll),
    memory: pct(mem, memAll),
    source: measured ? 'metrics-server' : 'requests',
  };
}

export function sense(
  state: SensePoolState,
  sample: PoolSample,
  policy: SensePolicy,
): { state: SensePoolState; events: SenseIntent[]; candidates: RemovalCandidate[] } {
  const now = sample.at;
  const events: SenseIntent[] = [];
  const next: SensePoolState = { ...state, degraded: { ...state.degraded }, lowNodes: {} };
  const workers = sample.nodes.length;
  const readyWorkers = sample.nodes.filter((n) => n.ready).length;
  const pods = policy.workerKind === 'pod';
  const u = pods ? { cpu: 0, memory: 0, source: 'requests' as const } : utilization(sample.nodes);
  const pool = policy.pool;
  const spec = policy.prometheus;
  const reading = spec ? (sample.metric ?? { ok: false, error: 'the query was not run' }) : undefined;
  const demand: MetricDemand | undefined =
    spec && reading?.ok ? metricDemand(reading.value, workers, spec) : undefined;
  events.push({
    type: 'io.scalewise.PoolMetricsObserved',
    data: {
      pool,
      workers,
      ready_workers: readyWorkers,
      cpu_avg: u.cpu,
      memory_avg: u.memory,
      pending_pods: sample.pending.length,
      source: u.source,
      observed_at: new Date(now).toISOString(),
      ...(pods ? { worker_kind: 'pod' as const } : {}),
      ...(spec && reading
        ? {
            metric: demand ?? {
              ...metricDemand(0, workers, spec),
              value: null,
              active: false,
              desired_workers: 0,
              ...(reading.ok ? {} : { error: reading.error }),
            },
          }
        : {}),
    },
  });

  // Pressure: only with ready nodes to measure (an empty pool has pending pods instead).
  const cpuHigh = !pods && readyWorkers > 0 && u.cpu > policy.cpuHighPercent;
  const memHigh = !pods && readyWorkers > 0 && u.memory > policy.memoryHighPercent;
  // The metric needs no ready node: like KEDA it can take an empty pool from 0 to 1.
  const metricHigh = demand?.active === true && demand.desired_workers > workers;
  if (cpuHigh || memHigh || metricHigh) {
    next.pressureSince = state.pressureSince ?? now;
    events.push({
      type: 'io.scalewise.ResourcePressureAlert',
      data: {
        pool,
        cpu_avg: u.cpu,
        memory_avg: u.memory,
        workers,
        max_workers: policy.max,
        resource: cpuHigh && memHigh ? 'both' : cpuHigh ? 'cpu' : memHigh ? 'memory' : 'metric',
        cpu_threshold: policy.cpuHighPercent,
        memory_threshold: policy.memoryHighPercent,
        duration: secs(now - next.pressureSince),
        ...(metricHigh ? { metric: demand } : {}),
      },
    });
  } else {
    next.pressureSince = null;
  }

  // Underutilisation, node by node (the Cluster Autoscaler's rule): a Ready node whose requests
  // stay under both low thresholds for the periods is a candidate; the simulation decides
  // whether it can go.
  const candidates: (RemovalCandidate & { createdAt: number; since: number; periods: number })[] = [];
  if (!pods) {
    for (const n of sample.nodes) {
      const cpu = pct(n.cpuRequestedMillicores, n.cpuAllocatableMillicores);
      const memory = pct(n.memoryRequestedBytes, n.memoryAllocatableBytes);
      if (!n.ready || !(cpu < policy.cpuLowPercent && memory < policy.memoryLowPercent)) continue;
      const prev = state.lowNodes[n.name];
      const entry = { since: prev?.since ?? now, periods: (prev?.periods ?? 0) + 1 };
      next.lowNodes[n.name] = entry;
      if (entry.periods >= policy.underutilizedPeriods)
        candidates.push({
          node: n.name,
          cpuPercent: cpu,
          memoryPercent: memory,
          createdAt: n.createdAt ?? 0,
          ...entry,
        });
    }
  }
  candidates.sort(
    (a, b) =>
      Math.max(a.cpuPercent, a.memoryPercent) - Math.max(b.cpuPercent, b.memoryPercent) ||
      b.createdAt - a.createdAt ||
      a.node.localeCompare(b.node),
  );
  const low =
    !pods &&
    readyWorkers > 0 &&
    workers > policy.min &&
    // Pods waiting for the pool do not stop the warning: the decision engine answers it with
    // ScaleDownBlocked pending_pods, which says why the idle nodes stay.
    candidates.length > 0 &&
    // The metric still needs every worker there is: no scale-down on CPU and memory alone.
    !(demand?.active && demand.desired_workers >= workers);
  if (low) {
    const since = Math.max(...candidates.map((c) => c.since));
    const periods = Math.min(...candidates.map((c) => c.periods));
    events.push({
      type: 'io.scalewise.UnderutilizationWarning',
      data: {
        pool,
        workers,
        min_workers: policy.min,
        cpu_avg: u.cpu,
        memory_avg: u.memory,
        duration: secs(now - since),
        periods,
        cpu_threshold: policy.cpuLowPercent,
        memory_threshold: policy.memoryLowPercent,
      },
    });
  }

  const pending = pendingPodsEvent(pool, sample.pending, now, sample.simulation);
  if (pending) events.push(pending);

  // Node health: report when a problem starts or changes, and again every healthRepeatSeconds.
  const seen = new Set<string>();
  // A worker pod starting or done is not a node in trouble.
  for (const n of pods ? [] : sample.nodes) {
    const problem: NodeCondition | undefined = !n.ready
      ? { ...(n.readyCondition ?? { type: 'Ready', status: 'Unknown' }), type: 'Ready' }
      : n.pressure[0];
    if (!problem) continue;
    const status = n.ready ? problem.type : 'NotReady';
    seen.add(n.name);
    const last = state.degraded[n.name];
    if (last && last.status === status && now - last.reportedAt < policy.healthRepeatSeconds * 1000) continue;
    next.degraded[n.name] = { status, reportedAt: now };
    events.push({
      type: 'io.scalewise.NodeHealthDegraded',
      data: {
        pool,
        node_name: n.name,
        status,
        condition: problem.type,
        ...(problem.reason ? { reason: problem.reason } : {}),
        ...(problem.message ? { message: problem.message } : {}),
        last_check: new Date(now).toISOString(),
      },
    });
  }
  for (const name of Object.keys(next.degraded)) if (!seen.has(name)) delete next.degraded[name];
  return {
    state: next,
    events,
    candidates: low
      ? candidates.map((c) => ({ node: c.node, cpuPercent: c.cpuPercent, memoryPercent: c.memoryPercent }))
      : [],
  };
}

/**
 * PendingPodsDetected for a pool's waiting pods, or null when none wait: what a sampling
 * round reports, and what the shell reports as soon as the watch shows a pod turned
 * unschedulable (between rounds), so that a scale-up need not wait for the next round.
 */
export function pendingPodsEvent(
  pool: string,
  pending: readonly PendingPod[],
  now: number,
  simulation?: EventData<'io.scalewise.PendingPodsDetected'>['simulation'],
): Extract<SenseIntent, { type: 'io.scalewise.PendingPodsDetected' }> | null {
  if (pending.length === 0) return null;
  const owners = new Set<string>();
  let cpu = 0;
  let mem = 0;
  let largest = { cpu_millicores: 0, memory_bytes: 0 };
  let oldest = now;
  for (const p of pending) {
    if (p.owner?.startsWith('Deployment/'))
      owners.add(`${p.namespace}/${p.owner.slice('Deployment/'.length)}`);
    cpu += p.cpuMillicores;
    mem += p.memoryBytes;
    oldest = Math.min(oldest, p.pendingSince);
    if (
      p.cpuMillicores > largest.cpu_millicores ||
      (p.cpuMillicores === largest.cpu_millicores && p.memoryBytes > largest.memory_bytes)
    ) {
      largest = { cpu_millicores: p.cpuMillicores, memory_bytes: p.memoryBytes };
    }
  }
  const longest = [...pending].sort(
    (a, b) => a.pendingSince - b.pendingSince || a.name.localeCompare(b.name),
  );
  return {
    type: 'io.scalewise.PendingPodsDetected',
    data: {
      pool,
      pending_count: pending.length,
      waiting_time: secs(now - oldest),
      affected_deployments: [...owners].sort(),
      requested_cpu_millicores: Math.round(cpu),
      requested_memory_bytes: Math.round(mem),
      largest_pod: largest,
      pods: longest.slice(0, 50).map((p) => ({
        namespace: p.namespace,
        name: p.name,
        reason: p.reason,
        waiting_time: secs(now - p.pendingSince),
      })),
      ...(simulation ? { simulation } : {}),
    },
  };
}

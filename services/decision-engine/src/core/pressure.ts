/**
 * Resource pressure: the pool grows for headroom (the simulation's, or the utilisation
 * targets'), or to what its external metric asks for.
 */
import type { EventData } from '@scalewise/events';
import { cmp, fmt, secs } from './explain.ts';
import { scaleUp } from './scale-up.ts';
import { cooldownLeft, recommend, type Step, utilizationRecommendation } from './step.ts';

type Pressure = EventData<'io.scalewise.ResourcePressureAlert'>;

export function onPressure(s: Step, d: Pressure): void {
  const p = s.pool;
  p.lastUtilization = { cpu: d.cpu_avg, memory: d.memory_avg, at: s.now };
  p.underutilized = null;
  p.lastBlockedReason = null;
  const m = d.metric?.active ? d.metric : undefined;
  if (d.resource === 'metric' && m) {
    onMetricPressure(s, d, m);
    return;
  }
  const byUtilization = utilizationRecommendation(p, d.workers, d.cpu_avg, d.memory_avg);
  const h = d.headroom;
  // Headroom sized by the simulation (room for a node's worth of the typical pod) replaces the
  // utilisation targets when the event has it; at least one node either way (seed 000).
  const target = Math.max(
    d.workers + 1,
    h ? d.workers + h.new_nodes : byUtilization,
    m?.desired_workers ?? 0,
  );
  recommend(s, target);
  // Pressure repeats while it lasts; after an action the metrics need the cooldown to settle.
  if (p.paused || cooldownLeft(s) > 0) return;
  // While pods wait for the pool, they size its growth (PendingPodsDetected): headroom is for
  // a pool with nothing pending, or a burst would be bought twice.
  // Pending pods reported before the last action are left to the next report.
  if ((p.pending?.count ?? 0) > 0 && (p.pending?.at ?? 0) >= (p.lastActionAt ?? 0)) return;
  const t = p.policy.thresholds;
  scaleUp(
    s,
    {
      target,
      rule: 'resource_pressure',
      because: `CPU ${fmt(d.cpu_avg)}% (threshold ${d.cpu_threshold}%) and memory ${fmt(d.memory_avg)}% (threshold ${d.memory_threshold}%) over ${secs(d.duration)}; ${h ? `headroom for pods to come (no pod is pending): room for ${h.wanted} more pods like the typical one (${h.typical_pod.cpu_millicores}m CPU, ${fmt(h.typical_pod.memory_bytes / 2 ** 20)} MiB), ${h.fit_now} of which fit the nodes there; ${h.new_nodes} new nodes give room for the rest (at least one)` : `${target} workers bring them to the targets of ${t.cpuTargetPercent}% and ${t.memoryTargetPercent}%: headroom for pods to come (no pod is pending)`}; scale-down keeps these nodes while a removal would bring the pressure back`,
      inputs: {
        cpu_avg: d.cpu_avg,
        memory_avg: d.memory_avg,
        resource: d.resource,
        duration: d.duration,
        cpu_target_percent: t.cpuTargetPercent,
        memory_target_percent: t.memoryTargetPercent,
        utilization_recommendation: byUtilization,
        headroom_wanted_pods: h?.wanted,
        headroom_fit_now: h?.fit_now,
        headroom_new_nodes: h?.new_nodes,
        typical_pod_cpu_millicores: h?.typical_pod.cpu_millicores,
        typical_pod_memory_bytes: h?.typical_pod.memory_bytes,
      },
      comparisons: [
        cmp('cpu_avg', d.cpu_avg, '>', d.cpu_threshold),
        cmp('memory_avg', d.memory_avg, '>', d.memory_threshold),
      ],
    },
    'resource_pressure',
    true,
  );
}

/**
 * Pressure from the pool's external metric alone (KEDA's prometheus trigger): the pool grows
 * to the workers the metric asks for, ceil(value / threshold) for an AverageValue target,
 * through the same cooldown, stabilisation, rate policies and max as any pressure.
 */
function onMetricPressure(s: Step, d: Pressure, m: NonNullable<Pressure['metric']>): void {
  const p = s.pool;
  const target = Math.max(d.workers + 1, m.desired_workers);
  recommend(s, target);
  if (p.paused || cooldownLeft(s) > 0) return;
  const perWorker = m.metric_type === 'AverageValue';
  scaleUp(
    s,
    {
      target,
      rule: 'metric_pressure',
      because: perWorker
        ? `${m.name} is ${fmt(m.value)} against ${fmt(m.threshold)} per worker for ${secs(d.duration)}: ceil(${fmt(m.value)} / ${fmt(m.threshold)}) = ${m.desired_workers} workers, ${d.workers} now`
        : `${m.name} is ${fmt(m.value)} against a target of ${fmt(m.threshold)} for ${secs(d.duration)}: ceil(${d.workers} × ${fmt(m.value)} / ${fmt(m.threshold)}) = ${m.desired_workers} workers`,
      inputs: {
        metric: m.name,
        query: m.query,
        value: m.value,
        threshold: m.threshold,
        activation_threshold: m.activation_threshold,
        metric_type: m.metric_type,
        desired_workers: m.desired_workers,
        cpu_avg: d.cpu_avg,
        memory_avg: d.memory_avg,
        duration: d.duration,
      },
      comparisons: [
        cmp(m.name, m.value, '>', m.activation_threshold),
        cmp('desired_workers', m.desired_workers, '>', d.workers),
      ],
    },
    'resource_pressure',
    true,
  );
}

/** A pool's metrics sample: its pending pods, NotReady nodes, the recommendation, and what follows. */
import type { EventData } from '@scalewise/events';
import { enforceMax } from './scale-down.ts';
import { isLow, maybeOptimalActive, recommend, type Step, utilizationRecommendation } from './step.ts';
import { evaluateUnderutilization } from './underutilization.ts';

export function onMetrics(s: Step, d: EventData<'io.scalewise.PoolMetricsObserved'>): void {
  const p = s.pool;
  p.pending =
    d.pending_pods === 0 ? null : { count: d.pending_pods, target: p.pending?.target ?? null, at: s.now };
  // All nodes Ready: NotReady reports are over (other conditions wait for their TTL).
  if (d.ready_workers >= d.workers) p.unhealthy = p.unhealthy.filter((u) => !/^notready$/i.test(u.status));
  p.lastUtilization = { cpu: d.cpu_avg, memory: d.memory_avg, at: s.now };
  let rec = utilizationRecommendation(p, d.workers, d.cpu_avg, d.memory_avg);
  if (p.pending?.target != null) rec = Math.max(rec, p.pending.target);
  // An external metric counts as the HPA counts several metrics: the largest recommendation wins.
  const metricNeeds = d.metric?.active ? d.metric.desired_workers : 0;
  rec = Math.max(rec, metricNeeds);
  recommend(s, rec);
  // Node by node (the simulation): a pool whose average is not low may still have a node to
  // spare; the warnings, not the averages, say when that ends.
  const simulated = p.underutilized?.simulation !== undefined;
  const low = (simulated || isLow(p, d.cpu_avg, d.memory_avg)) && metricNeeds < d.workers;
  if (!low) {
    p.underutilized = null;
    p.optimalAnnounced = false;
    p.lastBlockedReason = null;
  }
  if (enforceMax(s, false).kind !== 'none') return;
  maybeOptimalActive(s);
  if (low && !simulated) evaluateUnderutilization(s, false);
}

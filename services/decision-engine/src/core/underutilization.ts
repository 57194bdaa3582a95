/**
 * Underutilisation: once it has held for the configured time, the pool shrinks to what the
 * utilisation targets need, or node by node as the scheduling simulation found them removable.
 */
import type { EventData } from '@scalewise/events';
import { cmp, fmt, secs } from './explain.ts';
import { automaticRules, block, scaleDown } from './scale-down.ts';
import type { PoolState } from './state.ts';
import { maybeOptimalActive, recommend, type Step, utilizationRecommendation } from './step.ts';

export function onUnderutilization(s: Step, d: EventData<'io.scalewise.UnderutilizationWarning'>): void {
  const p = s.pool;
  p.lastUtilization = { cpu: d.cpu_avg, memory: d.memory_avg, at: s.now };
  const since = s.now - d.duration * 1000;
  // With the simulation, metrics-listener keeps the time its candidate nodes have been low.
  p.underutilized = d.simulation
    ? { since, simulation: d.simulation }
    : { since: Math.min(p.underutilized?.since ?? since, since) };
  recommend(
    s,
    d.simulation
      ? Math.max(p.min, d.workers - d.simulation.removable_nodes.length)
      : utilizationRecommendation(p, d.workers, d.cpu_avg, d.memory_avg),
  );
  maybeOptimalActive(s);
  evaluateUnderutilization(s, true);
}

/** Scale down for underutilisation once it has held for the configured time. */
export function evaluateUnderutilization(s: Step, explicit: boolean): void {
  const p = s.pool;
  const u = p.lastUtilization;
  if (!p.underutilized || !u || p.workers === null) return;
  const held = (s.now - p.underutilized.since) / 1000;
  const required = p.policy.underutilizedForSeconds;
  if (held < required) return;
  const sim = p.underutilized.simulation;
  if (sim) {
    simulatedScaleDown(s, sim, held, explicit);
    return;
  }
  const t = p.policy.thresholds;
  const want = utilizationRecommendation(p, p.workers, u.cpu, u.memory);
  scaleDown(
    s,
    {
      target: want,
      rule: 'underutilization',
      because: `CPU ${fmt(u.cpu)}% < ${t.cpuLowPercent}% and memory ${fmt(u.memory)}% < ${t.memoryLowPercent}% for ${secs(held)}; ${want} workers would run at the targets of ${t.cpuTargetPercent}% and ${t.memoryTargetPercent}%`,
      inputs: {
        cpu_avg: u.cpu,
        memory_avg: u.memory,
        underutilized_seconds: held,
        cpu_target_percent: t.cpuTargetPercent,
        memory_target_percent: t.memoryTargetPercent,
        utilization_recommendation: want,
      },
      comparisons: [
        cmp('cpu_avg', u.cpu, '<', t.cpuLowPercent),
        cmp('memory_avg', u.memory, '<', t.memoryLowPercent),
        cmp('underutilized_seconds', held, '>=', required),
      ],
    },
    'underutilization',
    automaticRules,
    explicit,
  );
}

/**
 * Scale down node by node, as the simulation found them removable: every pod of each fits on
 * the nodes that stay, under the scheduler's predicates and the PDBs. No removable node: the
 * nodes that must stay are named, each with the pod and the constraint that keeps it.
 */
function simulatedScaleDown(
  s: Step,
  sim: NonNullable<NonNullable<PoolState['underutilized']>['simulation']>,
  held: number,
  explicit: boolean,
): void {
  const p = s.pool;
  const t = p.policy.thresholds;
  const workers = p.workers ?? 0;
  const removable = sim.removable_nodes;
  const names = removable.map((r) => r.node);
  const target = Math.max(0, workers - removable.length);
  const low = `${sim.candidate_nodes} of ${workers} nodes under ${t.cpuLowPercent}% CPU and ${t.memoryLowPercent}% memory requested for ${secs(held)}`;
  const inputs = {
    candidate_nodes: sim.candidate_nodes,
    removable_nodes: names.join(', '),
    removable_count: removable.length,
    blocked_count: sim.blocked_nodes.length,
    underutilized_seconds: held,
  };
  const comparisons = [
    cmp('candidate_nodes', sim.candidate_nodes, '>', 0),
    cmp('underutilized_seconds', held, '>=', p.policy.underutilizedForSeconds),
  ];
  if (removable.length === 0) {
    const first = sim.blocked_nodes[0];
    const why = first ? `${first.node} must stay: ${first.message}` : 'no node can go';
    block(
      s,
      'pods_cannot_move',
      explicit,
      { target: workers, rule: 'underutilization', because: low, inputs, comparisons },
      `no node can go: ${why}${sim.blocked_nodes.length > 1 ? ` (and ${sim.blocked_nodes.length - 1} more)` : ''}`,
      { blocked_nodes: sim.blocked_nodes },
      [cmp('removable_nodes', 0, '>', 0)],
    );
    return;
  }
  const detail = removable
    .slice(0, 5)
    .map(
      (r) =>
        `${r.node} (${fmt(r.cpu_percent)}% CPU, ${fmt(r.memory_percent)}% memory, ${r.pods} pods to move)`,
    )
    .join(', ');
  scaleDown(
    s,
    {
      target,
      rule: 'underutilization',
      because: `${low}; the simulation places every pod of ${removable.length} of them on the nodes that stay: ${detail}${removable.length > 5 ? ', ...' : ''}`,
      inputs,
      comparisons,
      nodes: names,
    },
    'underutilization',
    automaticRules,
    explicit,
  );
}

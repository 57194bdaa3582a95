/**
 * Pending pods: the pool grows to fit them, by their requests against the pool's node size, or
 * as the scheduling simulation placed them (metrics-listener).
 */
import type { EventData } from '@scalewise/events';
import { cmp, fmt, secs } from './explain.ts';
import { scaleUp } from './scale-up.ts';
import { desiredOf } from './state.ts';
import { recommend, type Step } from './step.ts';

/** Bytes in GiB, for explanations. */
export const gib = (b: number) => `${fmt(b / 2 ** 30)} GiB`;

type Pending = EventData<'io.scalewise.PendingPodsDetected'>;

export function onPending(s: Step, d: Pending): void {
  if (d.simulation) {
    onSimulatedPending(s, d, d.simulation);
    return;
  }
  const p = s.pool;
  const node = p.policy.nodeSize;
  let cpu = d.requested_cpu_millicores;
  let memory = d.requested_memory_bytes;
  let pods = d.pending_count;
  const largest = d.largest_pod;
  // A pod larger than a node fits on no new node either: leave it out rather than grow for it.
  const unfit =
    largest !== undefined &&
    (largest.cpu_millicores > node.cpuMillicores || largest.memory_bytes > node.memoryBytes);
  if (unfit) {
    cpu = Math.max(0, cpu - largest.cpu_millicores);
    memory = Math.max(0, memory - largest.memory_bytes);
    pods -= 1;
  }
  const byCpu = Math.ceil(cpu / node.cpuMillicores);
  const byMemory = Math.ceil(memory / node.memoryBytes);
  const needed = pods > 0 ? Math.max(1, byCpu, byMemory) : 0;
  if (p.workers === null) {
    p.pending = { count: d.pending_count, target: null, at: s.now };
    return;
  }
  const target = p.workers + needed;
  p.pending = { count: d.pending_count, target, at: s.now };
  if (needed === 0) return;
  recommend(s, target);
  if (p.paused) return;
  scaleUp(
    s,
    {
      target,
      rule: 'pending_pods',
      because:
        `${d.pending_count} pods pending for ${secs(d.waiting_time)} request ${cpu}m CPU and ${gib(memory)}` +
        (unfit ? ' (the largest fits no node and is left out)' : '') +
        `; ${needed} workers of ${node.cpuMillicores}m and ${gib(node.memoryBytes)} fit them`,
      inputs: {
        pending_count: d.pending_count,
        waiting_time: d.waiting_time,
        requested_cpu_millicores: d.requested_cpu_millicores,
        requested_memory_bytes: d.requested_memory_bytes,
        largest_pod_cpu_millicores: largest?.cpu_millicores,
        largest_pod_memory_bytes: largest?.memory_bytes,
        largest_pod_fits: largest === undefined ? undefined : !unfit,
        node_cpu_millicores: node.cpuMillicores,
        node_memory_bytes: node.memoryBytes,
        workers_for_cpu: byCpu,
        workers_for_memory: byMemory,
        workers_needed: needed,
        affected_deployments: d.affected_deployments.slice(0, 10).join(', '),
      },
      comparisons: [cmp('pending_count', d.pending_count, '>', 0), cmp('workers_needed', needed, '>=', 1)],
    },
    'pending_pods',
    true,
  );
}

/**
 * Pending pods as the scheduling simulation placed them (metrics-listener): the pool needs the
 * new template nodes the simulation packed them onto, less the nodes its actions in flight will
 * still add that the simulation could not see yet (decided, not created): nothing is bought
 * twice. Pods that fit the nodes there (Ready or in flight) ask for nothing at all.
 */
function onSimulatedPending(s: Step, d: Pending, sim: NonNullable<Pending['simulation']>): void {
  const p = s.pool;
  // What the actions in flight will still add that the simulation could not see: their nodes
  // not yet among the pool's (action_nodes counts those it saw, by action). Without the
  // counts, every node of an action in flight is taken as unseen (never buying twice).
  const seen = sim.action_nodes ?? {};
  const unseen = p.inFlight
    .filter((a) => a.direction === 'up')
    .reduce((n, a) => n + Math.max(0, a.count - (seen[a.id] ?? 0)), 0);
  const cur = desiredOf(p);
  // And the nodes that joined since the simulation ran (a floor repair that completed before
  // this report was read): the pods it placed on new nodes may fit them already.
  const joined = Math.max(0, (cur ?? sim.pool_nodes) - sim.pool_nodes - unseen);
  const needed = Math.max(0, sim.new_nodes - unseen - joined);
  const target = (cur ?? sim.pool_nodes) + needed;
  p.pending = { count: d.pending_count, target: needed > 0 ? target : null, at: s.now };
  if (p.workers === null || needed === 0) return;
  recommend(s, target);
  if (p.paused) return;
  const t = sim.template;
  // The zones of the new nodes, when the pool has zones and every new node is listed.
  const listed = sim.new_node_pods ?? [];
  const zones =
    listed.length === sim.new_nodes && listed.every((n) => n.zone !== undefined)
      ? listed.map((n) => n.zone as string)
      : undefined;
  const fitting =
    sim.fit_existing > 0
      ? `${sim.fit_existing} fit the pool's ${sim.pool_nodes} nodes${sim.in_flight_nodes > 0 ? ` (${sim.in_flight_nodes} still starting)` : ''}, `
      : '';
  scaleUp(
    s,
    {
      target,
      rule: 'pending_pods',
      because:
        `${d.pending_count} pods pending for ${secs(d.waiting_time)}: ${fitting}` +
        `${sim.pods_on_new_nodes} fit no node there and are packed onto ${sim.new_nodes} new nodes of ${t.cpu_millicores}m CPU and ${gib(t.memory_bytes)}` +
        (unseen > 0 ? `, ${unseen} of them decided and not created yet` : '') +
        (joined > 0 ? `, ${joined} of them joined since the simulation ran` : '') +
        ` (${sim.expander === 'priority' ? 'highest priority' : 'least waste'}: ${fmt(sim.waste.cpu_percent)}% CPU and ${fmt(sim.waste.memory_percent)}% memory left unrequested)`,
      inputs: {
        pending_count: d.pending_count,
        waiting_time: d.waiting_time,
        pool_nodes: sim.pool_nodes,
        in_flight_nodes: sim.in_flight_nodes,
        nodes_in_flight_not_created: unseen,
        nodes_joined_since: joined,
        fit_existing: sim.fit_existing,
        pods_on_new_nodes: sim.pods_on_new_nodes,
        new_nodes: sim.new_nodes,
        expander: sim.expander,
        node_cpu_millicores: t.cpu_millicores,
        node_memory_bytes: t.memory_bytes,
        node_pods: t.pods,
        waste_cpu_percent: sim.waste.cpu_percent,
        waste_memory_percent: sim.waste.memory_percent,
        new_node_zones: zones?.join(', '),
        affected_deployments: d.affected_deployments.slice(0, 10).join(', '),
      },
      comparisons: [
        cmp('pods_on_new_nodes', sim.pods_on_new_nodes, '>', 0),
        cmp('new_nodes', sim.new_nodes, '>=', 1),
      ],
      ...(zones ? { zones } : {}),
    },
    'pending_pods',
    true,
  );
}

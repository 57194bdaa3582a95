/**
 * The decider: `decide(state, input, now) -> { state, events }`. Pure: no I/O, no clock (now
 * is epoch ms, given), no await; the input state is never mutated. It never throws: an input
 * it cannot use leaves the state as it was and emits nothing, a bad trigger becomes
 * TriggerRejected.
 */
import { catalogue, type EventData } from '@scalewise/events';
import { emptyLedger } from '@scalewise/pool';
import { cmp, fmt, secs } from './explain.ts';
import { checkHold, endHold, pursueHold } from './hold.ts';
import { desiredOf, type EngineState, type PoolState, settled, viewOf } from './state.ts';
import {
  block,
  cooldownLeft,
  enforceMax,
  housekeep,
  isLow,
  maybeOptimalActive,
  recommend,
  type Step,
  scaleDown,
  scaleUp,
  utilizationRecommendation,
} from './step.ts';
import { onTrigger } from './triggers.ts';
import {
  type ConsumedEventType,
  consumedEventTypes,
  type EngineEvent,
  type EngineInput,
  type Intent,
  type TriggerEvent,
  triggerTypes,
} from './types.ts';

export interface Decision<I = EngineInput> {
  state: EngineState;
  events: Intent<I>[];
}

/** What the decider is told about where it runs. */
export interface DecideContext {
  /**
   * The cluster this engine decides for (config `cluster_id`): a trigger naming another one is
   * rejected `wrong_cluster`. Unset: a trigger's cluster is not checked.
   */
  clusterId?: string;
}

const consumed: ReadonlySet<string> = new Set(consumedEventTypes);
const triggers: ReadonlySet<string> = new Set(triggerTypes);

/**
 * Decides what one input means for its pool.
 * @param now epoch milliseconds; a non-finite value makes the input a no-op.
 * @param context where the engine runs (the cluster a trigger must be for).
 * @returns the next state (the input state untouched) and the events to publish, in order.
 */
export function decide<I extends EngineInput>(
  state: EngineState,
  input: I,
  now: number,
  context: DecideContext = {},
): Decision<I> {
  const unchanged: Decision<I> = { state, events: [] };
  if (
    typeof input !== 'object' ||
    input === null ||
    typeof input.type !== 'string' ||
    !Number.isFinite(now)
  ) {
    return unchanged;
  }
  if (triggers.has(input.type)) {
    return onTrigger(state, input as TriggerEvent, now, context.clusterId) as Decision<I>;
  }
  if (!consumed.has(input.type)) return unchanged;
  const type = input.type as ConsumedEventType;
  const parsed = catalogue[type].schema.safeParse(input.data);
  if (!parsed.success) return unchanged;
  const data = parsed.data as { pool: string };
  const pool = Object.hasOwn(state.pools, data.pool) ? state.pools[data.pool] : undefined;
  if (!pool) return unchanged;
  const ledger = state.ledgers[data.pool] ?? emptyLedger(data.pool);
  const s: Step = { pool: viewOf(pool, ledger, now), now, input, events: [] };
  housekeep(s);
  checkHold(s);
  onEvent(s, { ...input, data } as EngineEvent);
  pursueHold(s);
  return {
    state: {
      pools: { ...state.pools, [data.pool]: s.pool },
      ledgers: { ...state.ledgers, [data.pool]: settled(ledger, s.pool, s.events, now, input.source) },
    },
    events: s.events as Intent<I>[],
  };
}

function onEvent(s: Step, e: EngineEvent): void {
  switch (e.type) {
    case 'io.scalewise.PoolMetricsObserved':
      onMetrics(s, e.data);
      return;
    case 'io.scalewise.PendingPodsDetected':
      onPending(s, e.data);
      return;
    case 'io.scalewise.ResourcePressureAlert':
      onPressure(s, e.data);
      return;
    case 'io.scalewise.UnderutilizationWarning':
      onUnderutilization(s, e.data);
      return;
    case 'io.scalewise.NodeHealthDegraded':
      onDegraded(s, e.data);
      return;
    case 'io.scalewise.NodeReady':
      onNodeReady(s, e.data);
      return;
    case 'io.scalewise.NodeRemoved':
      onNodeRemoved(s, e.data);
      return;
    case 'io.scalewise.NodeUnexpectedlyLost':
      onNodeLost(s, e.data);
      return;
    case 'io.scalewise.ScaleUpStarted':
      onStarted(s, 'up', e.data.action_id, e.data.count);
      return;
    case 'io.scalewise.ScaleDownStarted':
      onStarted(s, 'down', e.data.action_id, e.data.count);
      return;
    case 'io.scalewise.ScalingActionCompleted':
      onCompleted(s, e.data);
      return;
    case 'io.scalewise.ScalingActionFailed':
      onFailed(s, e.data);
      return;
    case 'io.scalewise.ClusterStateSynced':
      onSynced(s, e.data);
      return;
    case 'io.scalewise.AutoScaleUpToMinimum':
      onFloorAction(s, e.id, e.data.scale_up_count);
      return;
    case 'io.scalewise.EmergencyScaleUp':
      onFloorAction(s, e.id, e.data.emergency_scale);
      return;
    default:
      exhaustive(e);
  }
}

/** Bytes in GiB, for explanations. */
const gib = (b: number) => `${fmt(b / 2 ** 30)} GiB`;

/** Compile-time proof that the switch handles every consumed type; nothing at run time. */
function exhaustive(_: never): void {}

function onMetrics(s: Step, d: EventData<'io.scalewise.PoolMetricsObserved'>): void {
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

function onPending(s: Step, d: EventData<'io.scalewise.PendingPodsDetected'>): void {
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
function onSimulatedPending(
  s: Step,
  d: EventData<'io.scalewise.PendingPodsDetected'>,
  sim: NonNullable<EventData<'io.scalewise.PendingPodsDetected'>['simulation']>,
): void {
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

function onPressure(s: Step, d: EventData<'io.scalewise.ResourcePressureAlert'>): void {
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
function onMetricPressure(
  s: Step,
  d: EventData<'io.scalewise.ResourcePressureAlert'>,
  m: NonNullable<EventData<'io.scalewise.ResourcePressureAlert'>['metric']>,
): void {
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

function onUnderutilization(s: Step, d: EventData<'io.scalewise.UnderutilizationWarning'>): void {
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
function evaluateUnderutilization(s: Step, explicit: boolean): void {
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
    { paused: true, floor: true, disabled: true, timing: true, rate: true, force: explicit, hold: true },
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
    { paused: true, floor: true, disabled: true, timing: true, rate: true, force: explicit, hold: true },
  );
}

function onDegraded(s: Step, d: EventData<'io.scalewise.NodeHealthDegraded'>): void {
  const p = s.pool;
  p.unhealthy = p.unhealthy.filter((u) => u.node !== d.node_name);
  p.unhealthy.push({ node: d.node_name, status: d.status, at: s.now });
}

function forgetNode(s: Step, node: string): void {
  s.pool.unhealthy = s.pool.unhealthy.filter((u) => u.node !== node);
}

function onNodeReady(s: Step, d: EventData<'io.scalewise.NodeReady'>): void {
  forgetNode(s, d.node_name);
}

function onNodeRemoved(s: Step, d: EventData<'io.scalewise.NodeRemoved'>): void {
  forgetNode(s, d.node_name);
}

function onNodeLost(s: Step, d: EventData<'io.scalewise.NodeUnexpectedlyLost'>): void {
  forgetNode(s, d.node_name);
}

/** An action's change counts once for the rate policies, whoever reports it first. */
function counted(s: Step, id: string, direction: 'up' | 'down', count: number): void {
  const p = s.pool;
  if (p.scaleEvents.some((e) => e.id === id)) return;
  p.scaleEvents.push({ at: s.now, direction, change: count, id });
  p.lastActionAt = s.now;
}

/** An action started: one decided elsewhere (or before a restart) is a change for the rate policies. */
function onStarted(s: Step, direction: 'up' | 'down', actionId: string, count: number): void {
  counted(s, actionId, direction, count);
}

function onCompleted(s: Step, d: EventData<'io.scalewise.ScalingActionCompleted'>): void {
  const p = s.pool;
  p.lastActionAt = s.now;
  p.underutilized = null;
  p.lastBlockedReason = null;
  p.optimalAnnounced = false;
  // Seed 000 flow 1: a scale-down for underutilisation that lands on min is the optimal state.
  if (d.action === 'scale_down') maybeOptimalActive(s);
  enforceMax(s, false);
}

function onFailed(s: Step, d: EventData<'io.scalewise.ScalingActionFailed'>): void {
  s.pool.lastActionAt = s.now;
  if (s.pool.hold?.actions.includes(d.action_id)) {
    endHold(
      s,
      'action_failed',
      `action ${d.action_id} taken for it failed (${d.error_code}: ${d.message}); send the trigger again to retry`,
      { failedActionId: d.action_id },
    );
  }
}

function onSynced(s: Step, _d: EventData<'io.scalewise.ClusterStateSynced'>): void {
  enforceMax(s, false);
}

/** A floor action of min-enforcer (in flight in the ledger since it was claimed): a change for the rate policies. */
function onFloorAction(s: Step, id: string, count: number): void {
  counted(s, id, 'up', count);
}

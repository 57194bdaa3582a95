/**
 * planScaleUp: pending pods, largest first, onto existing nodes, then nodes in flight, then
 * the new nodes the plan has opened, then a new node of the pool the expander picks.
 */
import { Cluster, type NodeState } from './cluster.ts';
import { type Failure, failure, toReason } from './failure.ts';
import {
  dependsOnPods,
  filter,
  fresh,
  type PodContext,
  prepare,
  templateFailure,
  templateLabels,
} from './filter.ts';
import { largestFirst, reference } from './order.ts';
import { checkNodeSelector } from './predicates/node-selector.ts';
import { Tally } from './tally.ts';
import type {
  Expander,
  NewNode,
  NodeTemplate,
  PoolPlan,
  ResourceList,
  ScaleUpInput,
  ScaleUpPlan,
  SimPod,
  Unplaceable,
} from './types.ts';

/** How many reasons an unplaceable pod reports for the existing nodes. */
const EXISTING_REASONS = 3;

interface PoolState {
  template: NodeTemplate;
  nodes: NodeState[];
  newNodes: NewNode[];
  pods: string[];
}

interface Candidate {
  index: number;
  template: NodeTemplate;
  zone: string | undefined;
  waste: number;
}

/** Unrequested share of a fresh node of the template once the pod is on it. */
function wasteAfter(pod: SimPod, template: NodeTemplate): number {
  const free = (r: 'cpu' | 'memory') => {
    const a = template.allocatable[r] ?? 0;
    return a > 0 ? Math.max(0, a - (pod.requests[r] ?? 0)) / a : 0;
  };
  return (free('cpu') + free('memory')) / 2;
}

/**
 * The zone of the pool's next node: the fewest live nodes of the pool (existing, in flight
 * and opened by this plan), the first listed among equals; none when the template lists none.
 */
export function nextZone(cluster: Cluster, template: NodeTemplate): string | undefined {
  let best: string | undefined;
  let fewest = Number.POSITIVE_INFINITY;
  for (const z of template.zones) {
    const n = cluster.poolNodesInZone(template.pool, z);
    if (n < fewest) {
      fewest = n;
      best = z;
    }
  }
  return best;
}

/**
 * The zones a new node of the template may go to, the fewest live nodes of the pool first (the
 * first listed among equals): {@link nextZone} first, the others after it. [undefined] when the
 * template lists none.
 */
export function zonesByNeed(cluster: Cluster, template: NodeTemplate): (string | undefined)[] {
  if (template.zones.length === 0) return [undefined];
  return template.zones
    .map((zone, i) => ({ zone, i, n: cluster.poolNodesInZone(template.pool, zone) }))
    .sort((a, b) => a.n - b.n || a.i - b.i)
    .map((z) => z.zone);
}

function better(expander: Expander, a: Candidate, b: Candidate): boolean {
  const pa = a.template.priority ?? 0;
  const pb = b.template.priority ?? 0;
  if (expander === 'priority' && pa !== pb) return pa > pb;
  if (a.waste !== b.waste) return a.waste < b.waste;
  if (pa !== pb) return pa > pb;
  return a.index < b.index;
}

function listOf(cluster: Cluster, vec: readonly number[]): ResourceList {
  const out: Record<string, number> = {};
  vec.forEach((q, i) => {
    if (q > 0) out[cluster.resources[i] ?? `#${i}`] = q;
  });
  return out;
}

function firstFit(cluster: Cluster, ctx: PodContext, nodes: readonly NodeState[]): NodeState | undefined {
  for (const node of nodes) if (!node.removed && filter(cluster, ctx, node) === undefined) return node;
  return undefined;
}

/** Every node's failure, counted (for a pod none of them takes). */
function explain(cluster: Cluster, ctx: PodContext, nodes: readonly NodeState[]): Tally {
  const tally = new Tally();
  const c = fresh(cluster, ctx);
  for (const node of nodes) {
    const f = node.removed ? undefined : filter(cluster, c, node);
    if (f) tally.add(f);
  }
  return tally;
}

/**
 * Places the pending pods (largest first by dominant share of cpu and memory, then key) on
 * the cheapest capacity that takes them: existing nodes in snapshot order, nodes in flight,
 * new nodes already opened, and last a new node of a template (expander: `least_waste` by
 * default, or `priority`). Pure; the snapshot is not modified.
 */
export function planScaleUp(input: ScaleUpInput): ScaleUpPlan {
  const cluster = new Cluster(input.snapshot);
  const expander = input.expander ?? 'least_waste';
  const templates = input.templates;
  const ref = reference([
    ...templates.map((t) => t.allocatable),
    ...input.snapshot.nodes.map((n) => n.allocatable),
  ]);
  const running = cluster.nodes.filter((n) => !n.inFlight);
  const inFlight = cluster.nodes.filter((n) => n.inFlight);
  const opened: NodeState[] = [];
  const pools = new Map<string, PoolState>();
  const plan: ScaleUpPlan = { onExisting: [], pools: [], unplaceable: [] };

  for (const pod of largestFirst(input.pending, ref)) {
    const ctx = prepare(cluster, pod);
    const existing = firstFit(cluster, ctx, running) ?? firstFit(cluster, ctx, inFlight);
    if (existing) {
      cluster.place(pod, existing);
      plan.onExisting.push({ pod: pod.key, node: existing.name, inFlight: existing.inFlight });
      continue;
    }
    const reopened = firstFit(cluster, ctx, opened);
    if (reopened) {
      cluster.place(pod, reopened);
      const pool = pools.get(reopened.pool!)!;
      pool.pods.push(pod.key);
      pool.newNodes[pool.nodes.indexOf(reopened)]!.pods.push(pod.key);
      continue;
    }

    const refused: { pool: string; reason: Failure }[] = [];
    let best: Candidate | undefined;
    templates.forEach((template, index) => {
      const pool = pools.get(template.pool);
      const planned = pool?.nodes.length ?? 0;
      const name = `${template.pool}/new-${planned + 1}`;
      const fixed =
        templateFailure(pod, template) ??
        (planned >= template.maxNew
          ? failure(
              'pool_max',
              `pool ${template.pool} is at its max: ${planned} new node(s) planned, ${template.maxNew} allowed`,
            )
          : undefined);
      if (fixed) {
        refused.push({ pool: template.pool, reason: fixed });
        return;
      }
      // The zone the pod needs (node affinity, topology spread, anti-affinity), the least
      // populated first: the decision carries the zone of each new node to the provider.
      let first: Failure | undefined;
      for (const zone of zonesByNeed(cluster, template)) {
        const reason =
          checkNodeSelector(pod, templateLabels(template, name, zone), name) ??
          (dependsOnPods(ctx) ? tryFresh(cluster, ctx, template, name, zone) : undefined);
        if (reason) {
          first ??= reason;
          continue;
        }
        const c: Candidate = { index, template, zone, waste: wasteAfter(pod, template) };
        if (!best || better(expander, c, best)) best = c;
        return;
      }
      if (first) refused.push({ pool: template.pool, reason: first });
    });

    if (!best) {
      const u: Unplaceable = {
        pod: pod.key,
        existing: explain(cluster, ctx, [...running, ...inFlight]).top(EXISTING_REASONS),
        pools: refused.map((r) => ({ pool: r.pool, reason: toReason(r.reason) })),
      };
      if (pod.owner !== undefined) u.owner = pod.owner;
      plan.unplaceable.push(u);
      continue;
    }
    const { template, zone } = best;
    let pool = pools.get(template.pool);
    if (!pool) {
      pool = { template, nodes: [], newNodes: [], pods: [] };
      pools.set(template.pool, pool);
    }
    const name = `${template.pool}/new-${pool.nodes.length + 1}`;
    const node = openNode(cluster, template, name, zone);
    cluster.place(pod, node);
    opened.push(node);
    pool.nodes.push(node);
    const nn: NewNode = { name, pods: [pod.key], used: {} };
    if (zone !== undefined) nn.zone = zone;
    pool.newNodes.push(nn);
    pool.pods.push(pod.key);
  }

  for (const template of templates) {
    const pool = pools.get(template.pool);
    if (!pool) continue;
    let cpu = 0;
    let cpuFree = 0;
    let memory = 0;
    let memoryFree = 0;
    pool.nodes.forEach((node, i) => {
      pool.newNodes[i]!.used = listOf(cluster, node.used);
      cpu += node.alloc[1] ?? 0;
      cpuFree += (node.alloc[1] ?? 0) - (node.used[1] ?? 0);
      memory += node.alloc[2] ?? 0;
      memoryFree += (node.alloc[2] ?? 0) - (node.used[2] ?? 0);
    });
    plan.pools.push({
      pool: template.pool,
      newNodes: pool.newNodes,
      pods: pool.pods,
      waste: { cpu: cpu > 0 ? cpuFree / cpu : 0, memory: memory > 0 ? memoryFree / memory : 0 },
    } satisfies PoolPlan);
  }
  return plan;
}

/** A new node of the template in the simulated cluster, in flight. */
function openNode(
  cluster: Cluster,
  template: NodeTemplate,
  name: string,
  zone: string | undefined,
): NodeState {
  return cluster.addNode(
    {
      name,
      labels: templateLabels(template, name, zone),
      taints: template.taints,
      allocatable: template.allocatable,
      pool: template.pool,
    },
    true,
  );
}

/** The pod-dependent predicates on a fresh node of the template, tried and taken back. */
function tryFresh(
  cluster: Cluster,
  ctx: PodContext,
  template: NodeTemplate,
  name: string,
  zone: string | undefined,
): Failure | undefined {
  const node = openNode(cluster, template, name, zone);
  try {
    return filter(cluster, fresh(cluster, ctx), node);
  } finally {
    cluster.dropNode(node);
  }
}

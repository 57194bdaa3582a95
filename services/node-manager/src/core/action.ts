/**
 * node-manager's core, pure: one action per decision id, a small state machine that turns a
 * decision into commands for the shell (create these workers, drain this node, remove it) and
 * the shell's observations back into seed 000's events, in order:
 *
 *   scale up:   ScaleUpStarted, per worker NodeCreated then NodeReady, ScalingActionCompleted
 *               (or ScalingActionFailed when not all are Ready by the deadline, or the
 *               provider fails; the workers not Ready are then removed, each one created
 *               said by NodeRemoved `reason: not_joined`)
 *   scale down: ScaleDownStarted (with the victims), per node NodeDrained then NodeRemoved,
 *               ScalingActionCompleted (or ScalingActionFailed when a drain cannot finish:
 *               a PodDisruptionBudget that does not give way; the node is uncordoned)
 *
 * Idempotent by construction: the action is keyed by the decision id and its workers are
 * named from it (`<pool>-<hash of the id>-<i>`), so a redelivered decision finds its action
 * and does nothing, and a restart re-issues only the commands still outstanding, which the
 * providers treat as no-ops for what already exists. Dry-run decisions start nothing.
 */
import type { EventData, EventIntent, ScalingEventType } from '@scalewise/events';
import { workerNames } from '@scalewise/providers/names';

export { tagOf, workerNames } from '@scalewise/providers/names';

/** The decisions node-manager carries out: the catalogue's `scaling` ones. */
export type DecisionType = ScalingEventType;

export type Decision = {
  [T in DecisionType]: { id: string; type: T; data: EventData<T> };
}[DecisionType];

export type NodeState = 'requested' | 'created' | 'ready' | 'draining' | 'drained' | 'removed' | 'failed';

export interface ActionNode {
  state: NodeState;
  at: number;
}

export interface Action {
  id: string;
  pool: string;
  direction: 'up' | 'down';
  count: number;
  /**
   * The pool's workers as the decision counted them: what the events state only until the
   * pool ledger knows the pool's size; the shell then states the ledger's numbers instead.
   */
  previousWorkers: number;
  startedAt: number;
  /** Past this, an unfinished action fails. */
  deadline: number;
  phase: 'running' | 'completed' | 'failed';
  nodes: Record<string, ActionNode>;
  /** The trigger's task id (`explanation.inputs.task_id`) a scale-up passes to its workers. */
  taskId?: string;
  /** The zone of each new worker, as the ScaleUpDecision's simulation chose them (name -> zone). */
  zones?: Record<string, string>;
  /** `pod` for a pods pool: its events say `worker_kind: pod`. Absent: nodes. */
  workerKind?: 'pod';
}

export type Command =
  | {
      kind: 'create';
      pool: string;
      actionId: string;
      nodes: string[];
      taskId?: string;
      zones?: Record<string, string>;
    }
  | { kind: 'drain'; pool: string; actionId: string; node: string }
  | { kind: 'remove'; pool: string; actionId: string; node: string }
  | { kind: 'uncordon'; pool: string; actionId: string; node: string };

export type Observation =
  | { kind: 'created'; node: string; providerId: string; provider: string }
  | { kind: 'ready'; node: string }
  | { kind: 'drained'; node: string; evictedPods: number }
  /** `existed: false`: the provider found nothing to remove (gone already, out of band). */
  | { kind: 'removed'; node: string; provider: string; existed?: boolean }
  | { kind: 'failed'; node?: string; code: string; message: string; retriable: boolean }
  | { kind: 'tick' };

type OutType =
  | 'io.scalewise.ScaleUpStarted'
  | 'io.scalewise.ScaleDownStarted'
  | 'io.scalewise.NodeCreated'
  | 'io.scalewise.NodeReady'
  | 'io.scalewise.NodeDrained'
  | 'io.scalewise.NodeRemoved'
  | 'io.scalewise.ScalingActionCompleted'
  | 'io.scalewise.ScalingActionFailed';

export type ActionIntent = EventIntent<OutType>;

export interface Step {
  action: Action | null;
  events: ActionIntent[];
  commands: Command[];
}

export interface ActionPolicy {
  /** A scale-up must have all its workers Ready within this. @default 300 */
  readyTimeoutSeconds: number;
  /** A scale-down must have drained and removed its nodes within this. @default 600 */
  drainTimeoutSeconds: number;
  /** `pod` when the pool's workers are Pods (provider `pods`). @default nodes */
  workerKind?: 'pod';
}

/** The task id a decision carries from its trigger (`explanation.inputs.task_id`), if any. */
export function taskIdOf(decision: Decision): string | undefined {
  const inputs = (decision.data as { explanation?: { inputs?: Record<string, unknown> } }).explanation
    ?.inputs;
  const t = inputs?.task_id;
  return typeof t === 'string' && t.length > 0 ? t : undefined;
}

/** `worker_kind` of an action's node events: only pods say it (nodes' events stay as they were). */
const kindOf = (a: Action): { worker_kind?: 'pod' } => (a.workerKind ? { worker_kind: a.workerKind } : {});

const secs = (ms: number) => Math.max(0, Math.round(ms / 100) / 10);

type NodeEventType =
  | 'io.scalewise.NodeCreated'
  | 'io.scalewise.NodeReady'
  | 'io.scalewise.NodeDrained'
  | 'io.scalewise.NodeRemoved';

/**
 * An event about one node of an action: every one names the pool, the node, the action and
 * the worker kind (pods only); `data` is what the type says besides.
 */
function nodeEvent<T extends NodeEventType>(
  a: Action,
  type: T,
  node: string,
  data: Omit<EventData<T>, 'pool' | 'node_name' | 'action_id' | 'worker_kind'>,
): ActionIntent {
  const whole = { pool: a.pool, node_name: node, action_id: a.id, ...data, ...kindOf(a) } as EventData<T>;
  return { type, data: whole } as ActionIntent;
}

/**
 * Starts the action of a decision.
 * @param existing the action already stored under the decision id, if any: then nothing happens.
 * @param victims for a scale-down, the nodes the shell chose (least utilised first); fewer than
 *   asked is allowed, none fails the action with `reason`.
 */
export function start(
  existing: Action | null,
  decision: Decision,
  now: number,
  policy: ActionPolicy,
  victims: { nodes: string[]; reason?: string } = { nodes: [] },
): Step {
  if (existing) return { action: existing, events: [], commands: [] };
  const d = decision.data as { pool: string; dry_run?: boolean };
  if (d.dry_run === true) return { action: null, events: [], commands: [] };
  const pool = d.pool;
  if (decision.type === 'io.scalewise.ScaleDownDecision') {
    const data = decision.data;
    const nodes = victims.nodes.slice(0, data.count);
    const action: Action = {
      id: decision.id,
      pool,
      direction: 'down',
      count: nodes.length,
      previousWorkers: data.current_workers,
      startedAt: now,
      deadline: now + policy.drainTimeoutSeconds * 1000,
      phase: 'running',
      nodes: Object.fromEntries(nodes.map((n) => [n, { state: 'draining' as const, at: now }])),
      ...(policy.workerKind ? { workerKind: policy.workerKind } : {}),
    };
    if (nodes.length === 0) {
      action.phase = 'failed';
      return {
        action,
        events: [
          failedEvent(action, 'NO_ELIGIBLE_NODES', victims.reason ?? 'no node may be removed', false, now),
        ],
        commands: [],
      };
    }
    return {
      action,
      events: [
        {
          type: 'io.scalewise.ScaleDownStarted',
          data: {
            pool,
            action_id: decision.id,
            count: nodes.length,
            previous_workers: data.current_workers,
            target_workers: Math.max(0, data.current_workers - nodes.length),
            nodes,
          },
        },
      ],
      commands: nodes.map((node) => ({ kind: 'drain' as const, pool, actionId: decision.id, node })),
    };
  }
  const { count, previous } =
    decision.type === 'io.scalewise.ScaleUpDecision'
      ? { count: decision.data.count, previous: decision.data.current_workers }
      : decision.type === 'io.scalewise.AutoScaleUpToMinimum'
        ? { count: decision.data.scale_up_count, previous: decision.data.current_workers }
        : { count: decision.data.emergency_scale, previous: decision.data.remaining_workers };
  const names = workerNames(pool, decision.id, count);
  const taskId = taskIdOf(decision);
  const asked = decision.type === 'io.scalewise.ScaleUpDecision' ? decision.data.zones : undefined;
  const zones = asked?.length
    ? Object.fromEntries(names.flatMap((n, i) => (asked[i] !== undefined ? [[n, asked[i] as string]] : [])))
    : undefined;
  const action: Action = {
    id: decision.id,
    pool,
    direction: 'up',
    count,
    previousWorkers: previous,
    startedAt: now,
    deadline: now + policy.readyTimeoutSeconds * 1000,
    phase: 'running',
    nodes: Object.fromEntries(names.map((n) => [n, { state: 'requested' as const, at: now }])),
    ...(taskId !== undefined ? { taskId } : {}),
    ...(zones ? { zones } : {}),
    ...(policy.workerKind ? { workerKind: policy.workerKind } : {}),
  };
  return {
    action,
    events: [
      {
        type: 'io.scalewise.ScaleUpStarted',
        data: {
          pool,
          action_id: decision.id,
          count,
          previous_workers: previous,
          target_workers: previous + count,
        },
      },
    ],
    commands: [
      {
        kind: 'create',
        pool,
        actionId: decision.id,
        nodes: names,
        ...(taskId !== undefined ? { taskId } : {}),
        ...(zones ? { zones } : {}),
      },
    ],
  };
}

function failedEvent(
  a: Action,
  code: string,
  message: string,
  retriable: boolean,
  now: number,
): ActionIntent {
  const done = Object.values(a.nodes).filter(
    (n) => n.state === (a.direction === 'up' ? 'ready' : 'removed'),
  ).length;
  return {
    type: 'io.scalewise.ScalingActionFailed',
    data: {
      pool: a.pool,
      action_id: a.id,
      action: a.direction === 'up' ? 'scale_up' : 'scale_down',
      error_code: code,
      message: message.slice(0, 2000),
      retriable,
      attempts: 1,
      completed_count: done,
      duration: secs(now - a.startedAt),
    },
  };
}

/**
 * Applies what the shell observed to a running action. Unknown nodes and finished actions are
 * ignored, but for one thing: a removal issued before a scale-down failed (a sibling's drain
 * failed meanwhile) still happens, and is said (NodeRemoved, the action's), so that the
 * node's departure is never taken for a loss.
 */
export function observe(current: Action, o: Observation, now: number): Step {
  const lateState = o.kind === 'removed' ? current.nodes[o.node]?.state : undefined;
  const late =
    current.phase === 'failed' &&
    o.kind === 'removed' &&
    (lateState === 'drained' ||
      (current.direction === 'up' && (lateState === 'requested' || lateState === 'created')));
  if (current.phase !== 'running' && !late) return { action: current, events: [], commands: [] };
  const a: Action = { ...current, nodes: { ...current.nodes } };
  const events: ActionIntent[] = [];
  const commands: Command[] = [];
  const set = (node: string, state: NodeState) => {
    a.nodes[node] = { state, at: now };
  };
  const node = 'node' in o && o.node !== undefined ? a.nodes[o.node] : undefined;
  switch (o.kind) {
    case 'created':
      if (node?.state !== 'requested') break;
      set(o.node, 'created');
      events.push(
        nodeEvent(a, 'io.scalewise.NodeCreated', o.node, { provider: o.provider, provider_id: o.providerId }),
      );
      break;
    case 'ready':
      if (node?.state !== 'created') break;
      set(o.node, 'ready');
      events.push(nodeEvent(a, 'io.scalewise.NodeReady', o.node, { ready_after: secs(now - a.startedAt) }));
      break;
    case 'drained':
      if (node?.state !== 'draining') break;
      set(o.node, 'drained');
      events.push(
        nodeEvent(a, 'io.scalewise.NodeDrained', o.node, {
          evicted_pods: o.evictedPods,
          duration: secs(now - a.startedAt),
        }),
      );
      commands.push({ kind: 'remove', pool: a.pool, actionId: a.id, node: o.node });
      break;
    case 'removed':
      if (a.direction === 'up') {
        // A worker of a failed scale-up that never joined, deleted: said when it had been
        // created (NodeCreated), silent when its creation was never confirmed, and silent when
        // there was nothing left to delete (it went out of band: a loss, state-sync's to judge).
        if (!late || !node) break;
        set(o.node, 'removed');
        if (node.state === 'created' && o.existed !== false)
          events.push(
            nodeEvent(a, 'io.scalewise.NodeRemoved', o.node, { provider: o.provider, reason: 'not_joined' }),
          );
        break;
      }
      if (!node || (node.state !== 'drained' && node.state !== 'draining')) break;
      set(o.node, 'removed');
      events.push(nodeEvent(a, 'io.scalewise.NodeRemoved', o.node, { provider: o.provider }));
      break;
    case 'failed': {
      a.phase = 'failed';
      events.push(failedEvent(a, o.code, o.message, o.retriable, now));
      commands.push(...notJoined(a));
      // Nodes cordoned for this action and not removed get their scheduling back.
      for (const [n, s] of Object.entries(a.nodes)) {
        // Pod workers are never cordoned: nothing to give back.
        if (a.direction === 'down' && !a.workerKind && (s.state === 'draining' || s.state === 'drained')) {
          commands.push({ kind: 'uncordon', pool: a.pool, actionId: a.id, node: n });
        }
      }
      return { action: a, events, commands };
    }
    case 'tick':
      if (now >= a.deadline) {
        a.phase = 'failed';
        const waiting = Object.entries(a.nodes)
          .filter(([, s]) => s.state !== (a.direction === 'up' ? 'ready' : 'removed'))
          .map(([n, s]) => `${n} (${s.state})`);
        const deleting = notJoined(a);
        events.push(
          failedEvent(
            a,
            'TIMEOUT',
            `${a.direction === 'up' ? 'not Ready' : 'not removed'} in time: ${waiting.join(', ')}${deleting.length > 0 ? '; deleting them' : ''}`,
            true,
            now,
          ),
        );
        commands.push(...deleting);
        if (a.direction === 'down' && !a.workerKind) {
          for (const [n, s] of Object.entries(a.nodes)) {
            if (s.state === 'draining' || s.state === 'drained')
              commands.push({ kind: 'uncordon', pool: a.pool, actionId: a.id, node: n });
          }
        }
        return { action: a, events, commands };
      }
      break;
  }
  // A failed action's late removal is said; the action stays failed.
  if (late) return { action: a, events, commands };
  const goal = a.direction === 'up' ? 'ready' : 'removed';
  if (Object.values(a.nodes).every((n) => n.state === goal)) {
    a.phase = 'completed';
    events.push({
      type: 'io.scalewise.ScalingActionCompleted',
      data: {
        pool: a.pool,
        action_id: a.id,
        action: a.direction === 'up' ? 'scale_up' : 'scale_down',
        count: a.count,
        previous_workers: a.previousWorkers,
        new_workers:
          a.direction === 'up' ? a.previousWorkers + a.count : Math.max(0, a.previousWorkers - a.count),
        duration: secs(now - a.startedAt),
      },
    });
  }
  return { action: a, events, commands };
}

/**
 * The removals of a failing scale-up's workers that are not Ready (nodes only: a worker pod's
 * end is its provider's watch's): a machine that never joined is deleted, never left running
 * uncounted. A `requested` one too, since its creation may have happened unanswered (a timeout);
 * the providers treat the removal of a worker they do not have as done.
 */
function notJoined(a: Action): Command[] {
  if (a.direction !== 'up' || a.workerKind) return [];
  return Object.entries(a.nodes)
    .filter(([, s]) => s.state === 'requested' || s.state === 'created')
    .map(([node]) => ({ kind: 'remove' as const, pool: a.pool, actionId: a.id, node }));
}

/**
 * The commands a restarted node-manager must issue again: a running action's, and a failed
 * scale-up's deletions of the workers that never joined (until each is removed).
 */
export function outstanding(a: Action): Command[] {
  if (a.phase === 'failed') return notJoined(a);
  if (a.phase !== 'running') return [];
  const requested = Object.entries(a.nodes)
    .filter(([, s]) => s.state === 'requested')
    .map(([n]) => n);
  const out: Command[] = [];
  if (requested.length > 0)
    out.push({
      kind: 'create',
      pool: a.pool,
      actionId: a.id,
      nodes: requested,
      ...(a.taskId !== undefined ? { taskId: a.taskId } : {}),
      ...(a.zones ? { zones: a.zones } : {}),
    });
  for (const [n, s] of Object.entries(a.nodes)) {
    if (s.state === 'draining') out.push({ kind: 'drain', pool: a.pool, actionId: a.id, node: n });
    if (s.state === 'drained') out.push({ kind: 'remove', pool: a.pool, actionId: a.id, node: n });
  }
  return out;
}

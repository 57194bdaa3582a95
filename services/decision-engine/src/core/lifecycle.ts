/**
 * Node and action lifecycle: unhealthy nodes come and go, actions count once for the rate
 * policies whoever reports them first, a completion may land the pool on its optimum, a
 * failure may end a hold, and a sync checks the max limit.
 */
import type { EventData } from '@scalewise/events';
import { endHold } from './hold.ts';
import { enforceMax } from './scale-down.ts';
import { maybeOptimalActive, type Step } from './step.ts';

export function onDegraded(s: Step, d: EventData<'io.scalewise.NodeHealthDegraded'>): void {
  const p = s.pool;
  p.unhealthy = p.unhealthy.filter((u) => u.node !== d.node_name);
  p.unhealthy.push({ node: d.node_name, status: d.status, at: s.now });
}

function forgetNode(s: Step, node: string): void {
  s.pool.unhealthy = s.pool.unhealthy.filter((u) => u.node !== node);
}

export function onNodeReady(s: Step, d: EventData<'io.scalewise.NodeReady'>): void {
  forgetNode(s, d.node_name);
}

export function onNodeRemoved(s: Step, d: EventData<'io.scalewise.NodeRemoved'>): void {
  forgetNode(s, d.node_name);
}

export function onNodeLost(s: Step, d: EventData<'io.scalewise.NodeUnexpectedlyLost'>): void {
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
export function onStarted(s: Step, direction: 'up' | 'down', actionId: string, count: number): void {
  counted(s, actionId, direction, count);
}

export function onCompleted(s: Step, d: EventData<'io.scalewise.ScalingActionCompleted'>): void {
  const p = s.pool;
  p.lastActionAt = s.now;
  p.underutilized = null;
  p.lastBlockedReason = null;
  p.optimalAnnounced = false;
  // Seed 000 flow 1: a scale-down for underutilisation that lands on min is the optimal state.
  if (d.action === 'scale_down') maybeOptimalActive(s);
  enforceMax(s, false);
}

export function onFailed(s: Step, d: EventData<'io.scalewise.ScalingActionFailed'>): void {
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

export function onSynced(s: Step, _d: EventData<'io.scalewise.ClusterStateSynced'>): void {
  enforceMax(s, false);
}

/** A floor action of min-enforcer (in flight in the ledger since it was claimed): a change for the rate policies. */
export function onFloorAction(s: Step, id: string, count: number): void {
  counted(s, id, 'up', count);
}

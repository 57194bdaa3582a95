/**
 * Held targets: an accepted `trigger.scale` is the caller's intent, kept in the pool ledger
 * (`hold`) until it ends with a TriggerHoldEnded that says why.
 *
 * - **Pursued:** a target the rate policies cut is grown to (or, for a scale-down, shrunk to)
 *   in the following periods, as the policies allow, by decisions with the rule
 *   `trigger_hold`.
 * - **Held:** once the pool heads for the target, for the pool's `trigger_hold_seconds`: an
 *   underutilisation scale-down stops at it (ScaleDownBlocked `trigger_hold`), and a pool that
 *   lost workers below it grows back to it.
 * - **Ended:** `expired` (held its time), `replaced` (a newer scale trigger), `action_failed`
 *   (an action taken for it failed), `limits_changed` (min/max moved it out of range),
 *   `overruled` (pods needed the pool to grow past a scale-down target).
 */
import type { EventData } from '@scalewise/events';
import type { Hold } from '@scalewise/pool';
import { cmp, secs } from './explain.ts';
import { holdRules, scaleDown } from './scale-down.ts';
import { scaleUp } from './scale-up.ts';
import { desiredOf } from './state.ts';
import { emit, type Step } from './step.ts';

export type HoldEnd = EventData<'io.scalewise.TriggerHoldEnded'>['reason'];

/** How the trigger asked for the target, in words: "set to 8 by /ci (release)". */
export function asked(h: Hold): string {
  const what =
    h.action === 'set'
      ? `set to ${h.target}`
      : `${h.action === 'scale_up' ? 'scale up' : 'scale down'} to ${h.target}`;
  return `${what} by ${h.source}${h.reason ? ` (${h.reason})` : ''}`;
}

/** Ends the pool's hold, saying why and where the pool stands. */
export function endHold(
  s: Step,
  reason: HoldEnd,
  why: string,
  extra: { replacedBy?: string; failedActionId?: string } = {},
): void {
  const p = s.pool;
  const h = p.hold;
  if (!h) return;
  const end = h.until === null ? s.now : Math.min(s.now, h.until);
  const held = h.reachedAt === null ? 0 : Math.max(0, (end - h.reachedAt) / 1000);
  const desired = desiredOf(p) ?? 0;
  emit(s, 'io.scalewise.TriggerHoldEnded', {
    pool: p.policy.name,
    trigger_id: h.trigger,
    trigger_source: h.source,
    action: h.action,
    target: h.target,
    reason,
    reached: h.reachedAt !== null,
    held_seconds: held,
    workers: p.workers ?? 0,
    desired_workers: desired,
    ...(extra.replacedBy ? { replaced_by: extra.replacedBy } : {}),
    ...(extra.failedActionId ? { failed_action_id: extra.failedActionId } : {}),
    message: `trigger ${h.trigger} (${asked(h)}): ${why}; the pool has ${p.workers ?? 0} workers and heads for ${desired}`,
  });
  p.hold = null;
}

/** At the start of a step: a hold whose time is over, or whose target the limits now exclude, ends. */
export function checkHold(s: Step): void {
  const p = s.pool;
  const h = p.hold;
  if (!h) return;
  if (h.until !== null && h.until <= s.now) {
    endHold(
      s,
      'expired',
      `held for ${secs(p.policy.triggerHoldSeconds)} (trigger_hold_seconds) after the pool reached it, and released`,
    );
    return;
  }
  if (h.target > p.max || h.target < p.min) {
    endHold(s, 'limits_changed', `the target is outside the limits now in force [${p.min}, ${p.max}]`);
  }
}

/** Keeps the trigger's target, replacing (and ending) any earlier one. */
export function startHold(
  s: Step,
  trigger: { id: string; source: string; reason: string | undefined; action: Hold['action'] },
  target: number,
  direction: Hold['direction'],
): void {
  endHold(s, 'replaced', `trigger ${trigger.id} from ${trigger.source} replaces it`, {
    replacedBy: trigger.id,
  });
  s.pool.hold = {
    target,
    direction,
    action: trigger.action,
    trigger: trigger.id,
    source: trigger.source,
    reason: trigger.reason ?? '',
    at: s.now,
    reachedAt: null,
    until: null,
    actions: [],
  };
}

/** Counts a decision of this step as taken for the hold (its failure ends the hold). */
export function tookFor(s: Step, id: string): void {
  s.pool.hold?.actions.push(id);
}

/**
 * After the step's own event: a scale-down hold overruled by a scale-up ends; otherwise, when
 * the step decided nothing, the held target is pursued; and a target the pool now heads for
 * starts its hold time.
 */
export function pursueHold(s: Step): void {
  const p = s.pool;
  const h = p.hold;
  if (!h) return;
  const decisions = s.events.filter(
    (e) => e.type === 'io.scalewise.ScaleUpDecision' || e.type === 'io.scalewise.ScaleDownDecision',
  );
  const growth = decisions.find(
    (e) => e.type === 'io.scalewise.ScaleUpDecision' && !h.actions.includes(e.id),
  );
  if (h.direction === 'down' && h.reachedAt === null && growth) {
    endHold(s, 'overruled', `the pool had to grow (${growth.id}) while it was to shrink`);
    return;
  }
  const cur = desiredOf(p);
  if (cur === null) return;
  // A dry-run decision is never in flight: the trigger's own decision reported the target.
  if (decisions.length === 0 && !p.paused && !p.policy.dryRun) {
    const held = h.reachedAt !== null;
    const req = {
      target: h.target,
      rule: 'trigger_hold',
      because: `trigger ${h.trigger} (${asked(h)}) ${held ? 'holds the pool at' : 'still wants'} ${h.target}`,
      inputs: {
        trigger_id: h.trigger,
        trigger_source: h.source,
        trigger_action: h.action,
        held_target: h.target,
        ...(h.until !== null ? { hold_seconds_left: (h.until - s.now) / 1000 } : {}),
      },
      comparisons: [cmp('desired_workers', cur, cur < h.target ? '<' : '>', h.target)],
    };
    if (cur < h.target) {
      const out = scaleUp(s, req, 'trigger', false);
      if (out.kind === 'decided') tookFor(s, out.id);
    } else if (h.direction === 'down' && !held && cur > h.target && p.inFlight.length === 0) {
      const out = scaleDown(s, req, 'trigger', holdRules);
      if (out.kind === 'decided') tookFor(s, out.id);
    }
  }
  const now = desiredOf(p);
  const there = now !== null && (h.direction === 'up' ? now >= h.target : now <= h.target);
  if (h.reachedAt === null && (there || p.policy.dryRun)) {
    h.reachedAt = s.now;
    h.until = s.now + p.policy.triggerHoldSeconds * 1000;
    if (p.policy.triggerHoldSeconds === 0) {
      endHold(s, 'expired', 'reached; trigger_hold_seconds is 0, so it is not held');
    }
  }
}

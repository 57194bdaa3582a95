/**
 * One step of the decider: a private copy of one pool's state, the events it emits, and the
 * scale-up and scale-down procedures every rule shares (stabilisation, rate policies, limits,
 * blocks, explanation).
 */
import { type EventData, eventIdOf } from '@scalewise/events';
import { holdAt } from '@scalewise/pool';
import { type Clamp, type Comparison, cmp, explanation, type InputValue, secs } from './explain.ts';
import {
  prune,
  scaleDownLimit,
  scaleDownRetryAfter,
  scaleUpLimit,
  scaleUpRetryAfter,
  stabilizationRetryAfter,
  stabilize,
} from './hpa.ts';
import { type BlockReason, desiredOf, type PoolState } from './state.ts';
import type { EngineInput, Intent, ProducedEventType } from './types.ts';

export interface Step {
  pool: PoolState;
  now: number;
  input: EngineInput;
  events: Intent[];
}

/** Appends an intent whose id is derived from the input's id and the type's name. */
export function emitTo<T extends ProducedEventType>(
  events: Intent[],
  input: EngineInput,
  type: T,
  data: EventData<T>,
): string {
  const base = typeof input.id === 'string' && input.id.length > 0 ? input.id : 'unidentified';
  // A second event of a type in one step (a hold replaced and the new one ended) gets `-2`.
  const first = eventIdOf(type, { from: base });
  let id = first;
  for (let n = 2; events.some((e) => e.id === id); n++) id = `${first}-${n}`;
  events.push({ id, type, data, causedBy: input } as Intent);
  return id;
}

export function emit<T extends ProducedEventType>(s: Step, type: T, data: EventData<T>): string {
  const decision = type === 'io.scalewise.ScaleUpDecision' || type === 'io.scalewise.ScaleDownDecision';
  if (decision && s.pool.policy.dryRun) {
    const d = data as EventData<'io.scalewise.ScaleUpDecision'>;
    const marked = {
      ...d,
      dry_run: true,
      explanation: { ...d.explanation, summary: `Dry run, nothing is done: ${d.explanation.summary}` },
    };
    return emitTo(s.events, s.input, type, marked as EventData<T>);
  }
  return emitTo(s.events, s.input, type, data);
}

/** Rounds up, forgiving floating-point noise: 3 * (40 / 60) is 2, not 3. */
export const ceilSafe = (x: number): number => Math.ceil(x - 1e-9);

/** The size at which CPU and memory would sit at their targets (the HPA formula). */
export function utilizationRecommendation(pool: PoolState, workers: number, cpu: number, memory: number) {
  const t = pool.policy.thresholds;
  return Math.max(0, ceilSafe(workers * Math.max(cpu / t.cpuTargetPercent, memory / t.memoryTargetPercent)));
}

export function isLow(pool: PoolState, cpu: number, memory: number): boolean {
  const t = pool.policy.thresholds;
  return cpu < t.cpuLowPercent && memory < t.memoryLowPercent;
}

/** Remembers a recommendation for the stabilisation windows. */
export function recommend(s: Step, replicas: number): void {
  s.pool.recommendations.push({ at: s.now, replicas });
}

/** Drops what has expired: stale unhealthy reports, old history (what is in flight is the ledger's). */
export function housekeep(s: Step): void {
  const p = s.pool;
  const b = p.policy.behavior;
  p.unhealthy = p.unhealthy.filter((u) => u.at + p.policy.unhealthyNodeTtlSeconds * 1000 > s.now);
  p.recommendations = prune(
    p.recommendations,
    Math.max(b.scaleUp.stabilizationWindowSeconds, b.scaleDown.stabilizationWindowSeconds),
    s.now,
  );
  const periods = [...b.scaleUp.policies, ...b.scaleDown.policies].map((x) => x.periodSeconds);
  // The change of an action still in flight is kept past the periods (which no longer count
  // it): its record is what tells a late report of that action (a start read after the
  // longest period) from a new change, so that the action is counted once.
  const cutoff = s.now - Math.max(0, ...periods) * 1000;
  const live = new Set(p.inFlight.map((a) => a.id));
  p.scaleEvents = p.scaleEvents.filter((e) => e.at > cutoff || (e.id !== undefined && live.has(e.id)));
}

/** Numbers every explanation starts with. */
export function baseInputs(s: Step): Record<string, InputValue> {
  const p = s.pool;
  return {
    input_event_id: s.input.id,
    input_event_type: s.input.type,
    workers: p.workers,
    desired_before: desiredOf(p),
    min_workers: p.min,
    max_workers: p.max,
    in_flight_actions: p.inFlight.length,
  };
}

function recordAction(s: Step, id: string, direction: 'up' | 'down', count: number): void {
  const p = s.pool;
  if (!p.policy.dryRun) recordInFlight(s, id, direction, count);
  if (direction === 'up') p.lastScaleUpAt = s.now;
  else p.lastScaleDownAt = s.now;
  p.lastActionAt = s.now;
  p.lastBlockedReason = null;
  p.underutilized = null;
  p.optimalAnnounced = false;
}

/** Nothing will carry out a dry-run decision: it is neither in flight nor a change for the rate policies. */
function recordInFlight(s: Step, id: string, direction: 'up' | 'down', count: number): void {
  const p = s.pool;
  p.inFlight.push({
    id,
    direction,
    count,
    remaining: count,
    startedAt: s.now,
    expiresAt: s.now + p.policy.actionTimeoutSeconds * 1000,
    origin: 'decision',
  });
  p.scaleEvents.push({ at: s.now, direction, change: count, id });
}

/** Seconds left of the cooldown after the last action; 0 when it has run out. */
export function cooldownLeft(s: Step): number {
  const last = s.pool.lastActionAt;
  if (last === null) return 0;
  return Math.max(0, (last + s.pool.policy.cooldownSeconds * 1000 - s.now) / 1000);
}

export interface Request {
  /** The size the rule wants. */
  target: number;
  rule: string;
  /** What the rule saw, e.g. "3 pods pending (6000m CPU, 3 GiB)". */
  because: string;
  inputs: Record<string, InputValue | undefined>;
  comparisons: Comparison[];
  /** For a scale-down: the nodes the simulation found removable, in order; the decision names the first `count`. */
  nodes?: readonly string[];
  /**
   * For a scale-up: the zone of each new node the simulation opened, in order. The decision
   * names the last `count` (the first ones are those decided before and still in flight).
   */
  zones?: readonly string[];
}

export type UpOutcome =
  | { kind: 'decided'; id: string }
  | {
      kind: 'none';
      why: 'no_change' | 'at_max' | 'stabilization_window' | 'policy_disabled' | 'rate_limited';
      retryAfter: number;
    };

/**
 * Grows the pool towards `req.target`: through the scale-up stabilisation window (unless
 * `stabilizeUp` is false), the scale-up rate policies and max. Emits ScaleUpDecision when at
 * least one worker results; otherwise says why not.
 */
export function scaleUp(
  s: Step,
  req: Request,
  reason: EventData<'io.scalewise.ScaleUpDecision'>['reason'],
  stabilizeUp: boolean,
): UpOutcome {
  const p = s.pool;
  const cur = desiredOf(p);
  if (cur === null || req.target <= cur) return { kind: 'none', why: 'no_change', retryAfter: 0 };
  if (cur >= p.max) return { kind: 'none', why: 'at_max', retryAfter: 0 };
  const rules = p.policy.behavior.scaleUp;
  if (rules.selectPolicy === 'Disabled') return { kind: 'none', why: 'policy_disabled', retryAfter: 0 };
  const by: string[] = [];
  const comparisons = [...req.comparisons];
  let got = req.target;
  if (stabilizeUp) {
    const st = stabilize(
      p.recommendations,
      cur,
      req.target,
      rules.stabilizationWindowSeconds,
      p.policy.behavior.scaleDown.stabilizationWindowSeconds,
      s.now,
    );
    if (st.upRecommendation < got) {
      got = Math.max(cur, st.upRecommendation);
      by.push(`stabilization_window (lowest recommendation in ${rules.stabilizationWindowSeconds}s)`);
      comparisons.push(cmp('lowest_recommendation_in_window', st.upRecommendation, '<', req.target));
    }
    if (got <= cur) return { kind: 'none', why: 'stabilization_window', retryAfter: 0 };
  }
  const limit = scaleUpLimit(rules, cur, p.scaleEvents, s.now);
  comparisons.push(cmp('rate_limit', limit, '>', cur));
  if (limit < got) {
    got = limit;
    by.push(`rate_policy (selectPolicy ${rules.selectPolicy})`);
  }
  if (got <= cur) {
    return {
      kind: 'none',
      why: 'rate_limited',
      retryAfter: scaleUpRetryAfter(rules, cur, p.scaleEvents, s.now),
    };
  }
  comparisons.push(cmp('desired_workers', got, '<=', p.max));
  if (got > p.max) {
    got = p.max;
    by.push('max_workers');
  }
  // Never a target below the floor: a pool under its minimum grows to it at least (the same
  // deficit min-enforcer would repair; the ledger's claim keeps it from repairing it again).
  if (got < p.min) {
    got = Math.min(p.min, p.max);
    by.push('min_workers');
    comparisons.push(cmp('desired_workers', got, '>=', p.min));
  }
  const count = got - cur;
  const clamp: Clamp = { wanted: req.target, got, by };
  const summary =
    `${req.because}: scale up from ${cur} to ${got} (+${count})` +
    (by.length > 0 ? `; wanted ${req.target}, limited by ${by.map((b) => b.split(' ')[0]).join(', ')}` : '');
  const inputs = { ...baseInputs(s), ...req.inputs, wanted_workers: req.target, rate_limit: limit };
  const id = emit(s, 'io.scalewise.ScaleUpDecision', {
    pool: p.policy.name,
    current_workers: cur,
    desired_workers: got,
    count,
    reason,
    explanation: explanation(req.rule, summary, inputs, comparisons, clamp),
    ...(req.zones && req.zones.length >= count ? { zones: req.zones.slice(req.zones.length - count) } : {}),
  });
  recordAction(s, id, 'up', count);
  return { kind: 'decided', id };
}

export interface DownChecks {
  /** Run the paused check (automatic decisions; triggers are rejected before). */
  paused: boolean;
  /** Report at_minimum when the pool is at or below min (automatic decisions). */
  floor: boolean;
  /** Apply selectPolicy Disabled (not for the max limit, which the HPA enforces regardless). */
  disabled: boolean;
  /** Apply the cooldown and the scale-down stabilisation window (automatic decisions). */
  timing: boolean;
  /** Apply the scale-down rate policies (not for the max limit). */
  rate: boolean;
  /** Emit a block even if the same reason was emitted last (explicit inputs). */
  force: boolean;
  /** Stop at the target a trigger holds (automatic decisions: underutilisation). */
  hold: boolean;
}

export type DownOutcome =
  | { kind: 'decided'; id: string }
  | { kind: 'blocked'; reason: BlockReason }
  | { kind: 'none' };

export function block(
  s: Step,
  reason: BlockReason,
  force: boolean,
  req: Request,
  summary: string,
  extra: Partial<EventData<'io.scalewise.ScaleDownBlocked'>>,
  comparisons: Comparison[],
): DownOutcome {
  const p = s.pool;
  if (force || p.lastBlockedReason !== reason) {
    emit(s, 'io.scalewise.ScaleDownBlocked', {
      pool: p.policy.name,
      reason,
      workers: p.workers ?? 0,
      min_workers: p.min,
      ...extra,
      explanation: explanation(
        blockRules[reason],
        `${req.because}, but ${summary}`,
        { ...baseInputs(s), ...req.inputs, wanted_workers: req.target },
        [...req.comparisons, ...comparisons],
      ),
    });
  }
  p.lastBlockedReason = reason;
  return { kind: 'blocked', reason };
}

const blockRules: Record<BlockReason, string> = {
  paused: 'paused',
  at_minimum: 'min_floor',
  pending_pods: 'no_scale_down_while_pending',
  node_unhealthy: 'no_scale_down_while_unhealthy',
  action_in_flight: 'no_scale_down_while_in_flight',
  policy_disabled: 'scale_down_disabled',
  cooldown: 'cooldown',
  stabilization_window: 'stabilization_window',
  rate_limited: 'rate_policy',
  pods_cannot_move: 'pods_must_fit_elsewhere',
  trigger_hold: 'trigger_hold',
};

/**
 * Shrinks the pool towards `req.target`, never below min, checking in order: paused, an
 * action in flight, at_minimum, pending pods, unhealthy nodes, selectPolicy Disabled,
 * cooldown, the stabilisation window, the rate policies. The first that applies becomes
 * ScaleDownBlocked; otherwise ScaleDownDecision (preceded by OptimalStateTrigger(anticipated)
 * when it lands on min while underutilised).
 */
export function scaleDown(
  s: Step,
  req: Request,
  reason: EventData<'io.scalewise.ScaleDownDecision'>['reason'],
  checks: DownChecks,
): DownOutcome {
  const p = s.pool;
  const cur = desiredOf(p);
  if (cur === null || req.target >= cur) return { kind: 'none' };
  const f = checks.force;
  if (checks.paused && p.paused) {
    return block(s, 'paused', f, req, 'the pool is paused', {}, []);
  }
  // Before the floor: while an action runs, the pool's workers and the size it heads for
  // differ, and the block names the action rather than a minimum the workers are not at.
  const inFlight = p.inFlight[0];
  if (inFlight) {
    return block(
      s,
      'action_in_flight',
      f,
      req,
      `action ${inFlight.id} (${inFlight.direction} ${inFlight.count}) is in flight`,
      { in_flight_action_id: inFlight.id },
      [cmp('in_flight_actions', p.inFlight.length, '>', 0)],
    );
  }
  if (checks.floor && cur <= p.min) {
    return block(s, 'at_minimum', f, req, `it is at its minimum of ${p.min}`, {}, [
      cmp('desired_workers', cur, '<=', p.min),
    ]);
  }
  const held = checks.hold && p.hold && holdAt({ hold: p.hold }, s.now);
  if (held && cur <= held.target) {
    const left = held.until === null ? undefined : (held.until - s.now) / 1000;
    return block(
      s,
      'trigger_hold',
      f,
      { ...req, inputs: { ...req.inputs, trigger_id: held.trigger, held_target: held.target } },
      `trigger ${held.trigger} from ${held.source} holds it at ${held.target} ${left === undefined ? 'until the pool reaches it' : `for ${secs(left)} more`}`,
      { trigger_id: held.trigger, ...(left === undefined ? {} : { retry_after: left }) },
      [cmp('desired_workers', cur, '<=', held.target)],
    );
  }
  const pending = p.pending?.count ?? 0;
  if (pending > 0) {
    return block(s, 'pending_pods', f, req, `${pending} pods are pending`, { pending_count: pending }, [
      cmp('pending_pods', pending, '>', 0),
    ]);
  }
  if (p.unhealthy.length > 0) {
    const nodes = p.unhealthy.map((u) => u.node);
    return block(
      s,
      'node_unhealthy',
      f,
      req,
      `${nodes.length} nodes are unhealthy (${nodes.join(', ')})`,
      { unhealthy_nodes: nodes },
      [cmp('unhealthy_nodes', nodes.length, '>', 0)],
    );
  }
  const rules = p.policy.behavior.scaleDown;
  if (checks.disabled && rules.selectPolicy === 'Disabled') {
    return block(s, 'policy_disabled', f, req, 'scale-down is disabled (selectPolicy Disabled)', {}, []);
  }
  const by: string[] = [];
  const comparisons = [...req.comparisons];
  let got = req.target;
  if (checks.timing) {
    const left = cooldownLeft(s);
    if (left > 0) {
      return block(
        s,
        'cooldown',
        f,
        req,
        `the cooldown of ${p.policy.cooldownSeconds}s after the last action has ${secs(left)} left`,
        { retry_after: left },
        [
          cmp(
            'seconds_since_last_action',
            (s.now - (p.lastActionAt ?? s.now)) / 1000,
            '<',
            p.policy.cooldownSeconds,
          ),
        ],
      );
    }
    const window = rules.stabilizationWindowSeconds;
    const st = stabilize(
      p.recommendations,
      cur,
      req.target,
      p.policy.behavior.scaleUp.stabilizationWindowSeconds,
      window,
      s.now,
    );
    const stabilizedCmp = cmp('highest_recommendation_in_window', st.downRecommendation, '<', cur);
    if (st.downRecommendation >= cur) {
      const retry = stabilizationRetryAfter(p.recommendations, cur, window, s.now);
      return block(
        s,
        'stabilization_window',
        f,
        req,
        `a recommendation of ${st.downRecommendation} within the last ${window}s holds it at ${cur}`,
        { retry_after: retry },
        [stabilizedCmp],
      );
    }
    if (st.downRecommendation > got) {
      got = st.downRecommendation;
      by.push(`stabilization_window (highest recommendation in ${window}s)`);
      comparisons.push(stabilizedCmp);
    }
  }
  if (got < p.min) {
    got = p.min;
    by.push('min_workers');
  }
  comparisons.push(cmp('desired_workers', got, '>=', p.min));
  if (held && got < held.target) {
    got = held.target;
    by.push(`trigger_hold (${held.trigger})`);
    comparisons.push(cmp('held_target', held.target, '>', req.target));
  }
  if (checks.rate) {
    const limit = scaleDownLimit(rules, cur, p.scaleEvents, s.now);
    if (limit >= cur) {
      const retry = scaleDownRetryAfter(rules, cur, p.scaleEvents, s.now);
      return block(
        s,
        'rate_limited',
        f,
        req,
        `the rate policies (selectPolicy ${rules.selectPolicy}) allow no removal for ${secs(retry)}`,
        { retry_after: retry },
        [cmp('rate_limit', limit, '<', cur)],
      );
    }
    comparisons.push(cmp('rate_limit', limit, '<', cur));
    if (limit > got) {
      got = limit;
      by.push(`rate_policy (selectPolicy ${rules.selectPolicy})`);
    }
  }
  if (got >= cur) return { kind: 'none' };
  const count = cur - got;
  const u = p.lastUtilization;
  if (got === p.min && u && isLow(p, u.cpu, u.memory)) {
    emit(s, 'io.scalewise.OptimalStateTrigger', {
      pool: p.policy.name,
      current_workers: p.workers ?? cur,
      min_workers: p.min,
      cpu_avg: u.cpu,
      memory_avg: u.memory,
      state: 'anticipated',
    });
  }
  const summary =
    `${req.because}: scale down from ${cur} to ${got} (-${count})` +
    (by.length > 0 ? `; wanted ${req.target}, limited by ${by.map((b) => b.split(' ')[0]).join(', ')}` : '');
  const id = emit(s, 'io.scalewise.ScaleDownDecision', {
    pool: p.policy.name,
    current_workers: cur,
    desired_workers: got,
    count,
    reason,
    explanation: explanation(
      req.rule,
      summary,
      { ...baseInputs(s), ...req.inputs, wanted_workers: req.target },
      comparisons,
      { wanted: req.target, got, by },
    ),
    ...(req.nodes ? { nodes: req.nodes.slice(0, count) } : {}),
  });
  recordAction(s, id, 'down', count);
  return { kind: 'decided', id };
}

/**
 * Announces OptimalStateTrigger(active) once per stretch in which the pool sits at min,
 * underutilised, with nothing in flight.
 */
export function maybeOptimalActive(s: Step): void {
  const p = s.pool;
  const u = p.lastUtilization;
  if (p.optimalAnnounced || !u || p.workers === null) return;
  if (p.workers !== p.min || desiredOf(p) !== p.min || !isLow(p, u.cpu, u.memory)) return;
  emit(s, 'io.scalewise.OptimalStateTrigger', {
    pool: p.policy.name,
    current_workers: p.workers,
    min_workers: p.min,
    cpu_avg: u.cpu,
    memory_avg: u.memory,
    state: 'active',
  });
  p.optimalAnnounced = true;
}

/** The max limit: when the pool heads above max (max was lowered), shrink to it. */
export function enforceMax(s: Step, force: boolean): DownOutcome {
  const p = s.pool;
  const cur = desiredOf(p);
  if (cur === null || cur <= p.max) return { kind: 'none' };
  return scaleDown(
    s,
    {
      target: p.max,
      rule: 'max_limit',
      because: `the pool heads for ${cur} workers, above its max of ${p.max}`,
      inputs: {},
      comparisons: [cmp('desired_workers', cur, '>', p.max)],
    },
    'trigger',
    { paused: true, floor: false, disabled: false, timing: false, rate: false, force, hold: false },
  );
}

/**
 * Shrinking a pool: a rule's target through the rules that may forbid a removal (each a named
 * predicate below) and those that may cut it, never below min, into one ScaleDownDecision or
 * one ScaleDownBlocked that says which rule forbade it.
 *
 * Who asks decides which rules apply (the profiles at the end): underutilisation all of them;
 * the max limit only what the HPA itself respects; a trigger what a person's request cannot
 * overrule. An action in flight, pending pods and unhealthy nodes block every scale-down.
 */
import type { EventData } from '@scalewise/events';
import { holdAt } from '@scalewise/pool';
import { type Comparison, cmp, explanation, type InputValue, secs } from './explain.ts';
import { scaleDownLimit, scaleDownRetryAfter, stabilizationRetryAfter, stabilize } from './hpa.ts';
import { type BlockReason, desiredOf } from './state.ts';
import { baseInputs, cooldownLeft, emit, isLow, type Request, recordAction, type Step } from './step.ts';

export type DownOutcome =
  | { kind: 'decided'; id: string }
  | { kind: 'blocked'; reason: BlockReason }
  | { kind: 'none' };

type BlockedData = EventData<'io.scalewise.ScaleDownBlocked'>;

/** A scale-down under way: the request, the size the pool heads for, and the size it gets so far. */
export interface Down {
  readonly s: Step;
  readonly req: Request;
  /** The size the pool heads for before the decision. */
  readonly cur: number;
  /** The size the decision gives, as the rules so far cut it. */
  got: number;
  /** The rules that cut it, in order. */
  by: string[];
  comparisons: Comparison[];
}

/** Why a rule forbids the scale-down: the block's reason, its sentence and its fields. */
export interface Refusal {
  reason: BlockReason;
  /** Follows "<what the rule saw>, but ". */
  summary: string;
  extra?: Partial<BlockedData>;
  comparisons?: Comparison[];
  /** Inputs the explanation adds to the request's. */
  inputs?: Record<string, InputValue | undefined>;
}

/** One rule: a refusal when it forbids the scale-down; otherwise it may cut `got`. */
export type DownRule = (d: Down) => Refusal | undefined;

/**
 * The rules a scale-down goes through, in order: `checks` before the floor (min) is applied,
 * `limits` after it.
 */
export interface DownRules {
  checks: readonly DownRule[];
  limits: readonly DownRule[];
}

/** The target a trigger holds (pursued, or held and not over), if any. */
const heldOf = (s: Step) => (s.pool.hold ? holdAt({ hold: s.pool.hold }, s.now) : null);

export const whilePaused: DownRule = ({ s }) =>
  s.pool.paused ? { reason: 'paused', summary: 'the pool is paused' } : undefined;

/**
 * Before the floor: while an action runs, the pool's workers and the size it heads for
 * differ, and the block names the action rather than a minimum the workers are not at.
 */
export const whileActionInFlight: DownRule = ({ s }) => {
  const a = s.pool.inFlight[0];
  if (!a) return undefined;
  return {
    reason: 'action_in_flight',
    summary: `action ${a.id} (${a.direction} ${a.count}) is in flight`,
    extra: { in_flight_action_id: a.id },
    comparisons: [cmp('in_flight_actions', s.pool.inFlight.length, '>', 0)],
  };
};

export const atMinimum: DownRule = ({ s, cur }) =>
  cur <= s.pool.min
    ? {
        reason: 'at_minimum',
        summary: `it is at its minimum of ${s.pool.min}`,
        comparisons: [cmp('desired_workers', cur, '<=', s.pool.min)],
      }
    : undefined;

/** The pool heads for a target a trigger holds, or below it. */
export const whileHeld: DownRule = ({ s, cur }) => {
  const held = heldOf(s);
  if (!held || cur > held.target) return undefined;
  const left = held.until === null ? undefined : (held.until - s.now) / 1000;
  return {
    reason: 'trigger_hold',
    summary: `trigger ${held.trigger} from ${held.source} holds it at ${held.target} ${left === undefined ? 'until the pool reaches it' : `for ${secs(left)} more`}`,
    extra: { trigger_id: held.trigger, ...(left === undefined ? {} : { retry_after: left }) },
    comparisons: [cmp('desired_workers', cur, '<=', held.target)],
    inputs: { trigger_id: held.trigger, held_target: held.target },
  };
};

export const whilePodsPending: DownRule = ({ s }) => {
  const pending = s.pool.pending?.count ?? 0;
  if (pending <= 0) return undefined;
  return {
    reason: 'pending_pods',
    summary: `${pending} pods are pending`,
    extra: { pending_count: pending },
    comparisons: [cmp('pending_pods', pending, '>', 0)],
  };
};

export const whileNodesUnhealthy: DownRule = ({ s }) => {
  if (s.pool.unhealthy.length === 0) return undefined;
  const nodes = s.pool.unhealthy.map((u) => u.node);
  return {
    reason: 'node_unhealthy',
    summary: `${nodes.length} nodes are unhealthy (${nodes.join(', ')})`,
    extra: { unhealthy_nodes: nodes },
    comparisons: [cmp('unhealthy_nodes', nodes.length, '>', 0)],
  };
};

/** selectPolicy Disabled (not for the max limit, which the HPA enforces regardless). */
export const whileDisabled: DownRule = ({ s }) =>
  s.pool.policy.behavior.scaleDown.selectPolicy === 'Disabled'
    ? { reason: 'policy_disabled', summary: 'scale-down is disabled (selectPolicy Disabled)' }
    : undefined;

export const duringCooldown: DownRule = ({ s }) => {
  const left = cooldownLeft(s);
  if (left <= 0) return undefined;
  const p = s.pool;
  return {
    reason: 'cooldown',
    summary: `the cooldown of ${p.policy.cooldownSeconds}s after the last action has ${secs(left)} left`,
    extra: { retry_after: left },
    comparisons: [
      cmp(
        'seconds_since_last_action',
        (s.now - (p.lastActionAt ?? s.now)) / 1000,
        '<',
        p.policy.cooldownSeconds,
      ),
    ],
  };
};

/** The highest recommendation within the scale-down window: forbids, or cuts, the removal. */
export const stabilizationWindow: DownRule = (d) => {
  const { s, cur } = d;
  const p = s.pool;
  const window = p.policy.behavior.scaleDown.stabilizationWindowSeconds;
  const st = stabilize(
    p.recommendations,
    cur,
    d.req.target,
    p.policy.behavior.scaleUp.stabilizationWindowSeconds,
    window,
    s.now,
  );
  const stabilizedCmp = cmp('highest_recommendation_in_window', st.downRecommendation, '<', cur);
  if (st.downRecommendation >= cur) {
    return {
      reason: 'stabilization_window',
      summary: `a recommendation of ${st.downRecommendation} within the last ${window}s holds it at ${cur}`,
      extra: { retry_after: stabilizationRetryAfter(p.recommendations, cur, window, s.now) },
      comparisons: [stabilizedCmp],
    };
  }
  if (st.downRecommendation > d.got) {
    d.got = st.downRecommendation;
    d.by.push(`stabilization_window (highest recommendation in ${window}s)`);
    d.comparisons.push(stabilizedCmp);
  }
  return undefined;
};

/** Never below a target a trigger holds. */
export const notBelowHeld: DownRule = (d) => {
  const held = heldOf(d.s);
  if (held && d.got < held.target) {
    d.got = held.target;
    d.by.push(`trigger_hold (${held.trigger})`);
    d.comparisons.push(cmp('held_target', held.target, '>', d.req.target));
  }
  return undefined;
};

/** The scale-down rate policies: forbid any removal for now, or cut it. */
export const ratePolicies: DownRule = (d) => {
  const { s, cur } = d;
  const p = s.pool;
  const rules = p.policy.behavior.scaleDown;
  const limit = scaleDownLimit(rules, cur, p.scaleEvents, s.now);
  if (limit >= cur) {
    const retry = scaleDownRetryAfter(rules, cur, p.scaleEvents, s.now);
    return {
      reason: 'rate_limited',
      summary: `the rate policies (selectPolicy ${rules.selectPolicy}) allow no removal for ${secs(retry)}`,
      extra: { retry_after: retry },
      comparisons: [cmp('rate_limit', limit, '<', cur)],
    };
  }
  d.comparisons.push(cmp('rate_limit', limit, '<', cur));
  if (limit > d.got) {
    d.got = limit;
    d.by.push(`rate_policy (selectPolicy ${rules.selectPolicy})`);
  }
  return undefined;
};

/** Underutilisation: every rule, the timing ones and the held target included. */
export const automaticRules: DownRules = {
  checks: [
    whilePaused,
    whileActionInFlight,
    atMinimum,
    whileHeld,
    whilePodsPending,
    whileNodesUnhealthy,
    whileDisabled,
    duringCooldown,
    stabilizationWindow,
  ],
  limits: [notBelowHeld, ratePolicies],
};

/** The max limit (max lowered below the pool's size): what the HPA respects when it enforces max. */
export const maxLimitRules: DownRules = {
  checks: [whilePaused, whileActionInFlight, whilePodsPending, whileNodesUnhealthy],
  limits: [],
};

/** An accepted `trigger.scale` (a paused pool's triggers are rejected before). */
export const triggerRules: DownRules = {
  checks: [whileActionInFlight, whilePodsPending, whileNodesUnhealthy, whileDisabled],
  limits: [ratePolicies],
};

/** A held target pursued downwards, period by period. */
export const holdRules: DownRules = {
  checks: [whilePaused, ...triggerRules.checks],
  limits: triggerRules.limits,
};

/**
 * Emits ScaleDownBlocked for `reason` unless the same reason was the last one emitted (a repeat
 * on every sample says nothing new); `force` (an explicit input) emits it anyway.
 */
export function block(
  s: Step,
  reason: BlockReason,
  force: boolean,
  req: Request,
  summary: string,
  extra: Partial<BlockedData>,
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

const refused = (s: Step, r: Refusal, req: Request, force: boolean): DownOutcome =>
  block(
    s,
    r.reason,
    force,
    r.inputs ? { ...req, inputs: { ...req.inputs, ...r.inputs } } : req,
    r.summary,
    r.extra ?? {},
    r.comparisons ?? [],
  );

/**
 * Shrinks the pool towards `req.target` through `rules` (their checks, the floor, their limits,
 * in order). The first rule that refuses becomes ScaleDownBlocked (`force`: even when the last
 * block had the same reason); otherwise ScaleDownDecision, preceded by
 * OptimalStateTrigger(anticipated) when it lands on min while underutilised.
 */
export function scaleDown(
  s: Step,
  req: Request,
  reason: EventData<'io.scalewise.ScaleDownDecision'>['reason'],
  rules: DownRules,
  force = false,
): DownOutcome {
  const p = s.pool;
  const cur = desiredOf(p);
  if (cur === null || req.target >= cur) return { kind: 'none' };
  const d: Down = { s, req, cur, got: req.target, by: [], comparisons: [...req.comparisons] };
  for (const rule of rules.checks) {
    const r = rule(d);
    if (r) return refused(s, r, req, force);
  }
  if (d.got < p.min) {
    d.got = p.min;
    d.by.push('min_workers');
  }
  d.comparisons.push(cmp('desired_workers', d.got, '>=', p.min));
  for (const rule of rules.limits) {
    const r = rule(d);
    if (r) return refused(s, r, req, force);
  }
  if (d.got >= cur) return { kind: 'none' };
  return decideDown(d, reason);
}

/** The ScaleDownDecision for `d.got`, and the action it starts. */
function decideDown(d: Down, reason: EventData<'io.scalewise.ScaleDownDecision'>['reason']): DownOutcome {
  const { s, req, cur, got, by } = d;
  const p = s.pool;
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
      d.comparisons,
      { wanted: req.target, got, by },
    ),
    ...(req.nodes ? { nodes: req.nodes.slice(0, count) } : {}),
  });
  recordAction(s, id, 'down', count);
  return { kind: 'decided', id };
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
    maxLimitRules,
    force,
  );
}

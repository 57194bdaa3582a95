/**
 * Growing a pool: a rule's target through the scale-up stabilisation window, the rate policies
 * and max (never below min), into one ScaleUpDecision, or the reason none results.
 */
import type { EventData } from '@scalewise/events';
import { type Clamp, cmp, explanation } from './explain.ts';
import { scaleUpLimit, scaleUpRetryAfter, stabilize } from './hpa.ts';
import { desiredOf } from './state.ts';
import { baseInputs, emit, type Request, recordAction, type Step } from './step.ts';

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

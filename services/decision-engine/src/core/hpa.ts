/**
 * The HPA v2 behaviour arithmetic, as kube-controller-manager computes it
 * (pkg/controller/podautoscaler/horizontal.go: stabilizeRecommendationWithBehaviors,
 * calculateScaleUpLimitWithScalingRules, calculateScaleDownLimitWithBehaviors), over plain
 * data and an explicit `now` (epoch ms). "current" is the pool's desired size: the workers it
 * has plus what in-flight actions will still add or remove (the HPA's spec.replicas).
 */
import type { ScalingRules } from './policy.ts';

/** One change of the pool's size, kept for the rate policies. */
export interface ScaleEvent {
  at: number;
  direction: 'up' | 'down';
  change: number;
  /** The action it was (so an action is counted once, whoever reports it first). */
  id?: string;
}

/** One recommendation, kept for the stabilisation windows. */
export interface Recommendation {
  at: number;
  replicas: number;
}

/** Sum of the changes in `direction` strictly newer than `periodSeconds` before `now`. */
export function changeInPeriod(
  events: readonly ScaleEvent[],
  direction: ScaleEvent['direction'],
  periodSeconds: number,
  now: number,
): number {
  const cutoff = now - periodSeconds * 1000;
  let sum = 0;
  for (const e of events) if (e.direction === direction && e.at > cutoff) sum += e.change;
  return sum;
}

/** The replicas at the start of the period: current minus what was added plus what was removed. */
function periodStart(current: number, events: readonly ScaleEvent[], periodSeconds: number, now: number) {
  return (
    current -
    changeInPeriod(events, 'up', periodSeconds, now) +
    changeInPeriod(events, 'down', periodSeconds, now)
  );
}

/** A number the rate policies give for a pool of `current` with its recent changes `events`, at `now`. */
export type RateRule = (
  rules: ScalingRules,
  current: number,
  events: readonly ScaleEvent[],
  now: number,
) => number;

/**
 * The most the pool may grow to now. `Max` takes the most permissive policy, `Min` the
 * strictest, `Disabled` allows no growth (returns `current`). Never below `current`.
 */
export const scaleUpLimit: RateRule = rateLimit('up');

/**
 * The least the pool may shrink to now. `Max` takes the most permissive policy (the lowest
 * size), `Min` the strictest, `Disabled` allows no shrinking (returns `current`). Never above
 * `current`, never below 0.
 */
export const scaleDownLimit: RateRule = rateLimit('down');

/** The size the rate policies let the pool reach in `direction`, by the rules above. */
function rateLimit(direction: ScaleEvent['direction']): RateRule {
  const up = direction === 'up';
  return (rules, current, events, now) => {
    if (rules.selectPolicy === 'Disabled' || rules.policies.length === 0) return current;
    const proposals = rules.policies.map((p) => {
      const start = periodStart(current, events, p.periodSeconds, now);
      if (p.type === 'Pods') return up ? start + p.value : start - p.value;
      // Percent rounds up so that a small pool can always grow (as the HPA does), down when shrinking.
      return up ? Math.ceil((start * (100 + p.value)) / 100) : Math.floor((start * (100 - p.value)) / 100);
    });
    // The most permissive proposal is the highest when growing, the lowest when shrinking.
    const permissive = rules.selectPolicy === 'Max';
    const limit = permissive === up ? Math.max(...proposals) : Math.min(...proposals);
    return up ? Math.max(limit, current) : Math.max(0, Math.min(limit, current));
  };
}

export interface Stabilized {
  /** The stabilised size. */
  replicas: number;
  /** The lowest recommendation in the scale-up window (the candidate itself included). */
  upRecommendation: number;
  /** The highest recommendation in the scale-down window (the candidate itself included). */
  downRecommendation: number;
}

/**
 * HPA stabilisation: grow only to the lowest recommendation of the scale-up window, shrink
 * only to the highest of the scale-down window. `history` should already hold `candidate`.
 */
export function stabilize(
  history: readonly Recommendation[],
  current: number,
  candidate: number,
  upWindowSeconds: number,
  downWindowSeconds: number,
  now: number,
): Stabilized {
  let up = candidate;
  let down = candidate;
  const upCutoff = now - upWindowSeconds * 1000;
  const downCutoff = now - downWindowSeconds * 1000;
  for (const r of history) {
    if (r.at > upCutoff) up = Math.min(up, r.replicas);
    if (r.at > downCutoff) down = Math.max(down, r.replicas);
  }
  let replicas = current;
  if (replicas < up) replicas = up;
  if (replicas > down) replicas = down;
  return { replicas, upRecommendation: up, downRecommendation: down };
}

/**
 * Seconds until no recommendation in the scale-down window is `>= current` any more, i.e.
 * until the window stops holding the pool at its size. 0 when nothing holds it.
 */
export function stabilizationRetryAfter(
  history: readonly Recommendation[],
  current: number,
  downWindowSeconds: number,
  now: number,
): number {
  let until = now;
  for (const r of history) {
    if (r.replicas >= current) until = Math.max(until, r.at + downWindowSeconds * 1000);
  }
  return Math.max(0, (until - now) / 1000);
}

/**
 * Seconds until the scale-down rate policies let the pool shrink by at least one, found by
 * evaluating the limit at each instant an event leaves a period. 0 when it may shrink now.
 */
export const scaleDownRetryAfter: RateRule = rateRetryAfter('down');

/** Seconds until the scale-up rate policies let the pool grow by at least one. */
export const scaleUpRetryAfter: RateRule = rateRetryAfter('up');

/**
 * Seconds until the rate policies let the pool move by at least one in `direction`, found by
 * evaluating the limit at each instant an event leaves a period. 0 when it may move now.
 */
function rateRetryAfter(direction: ScaleEvent['direction']): RateRule {
  const limit = rateLimit(direction);
  return (rules, current, events, now) => {
    const moves = (t: number) => limit(rules, current, events, t) !== current;
    if (moves(now)) return 0;
    const instants = events
      .flatMap((e) => rules.policies.map((p) => e.at + p.periodSeconds * 1000))
      .filter((t) => t > now)
      .sort((a, b) => a - b);
    for (const t of instants) {
      if (moves(t)) return (t - now) / 1000;
    }
    return 0;
  };
}

/** Drops history no window or period can see any more. */
export function prune<T extends { at: number }>(
  items: readonly T[],
  horizonSeconds: number,
  now: number,
): T[] {
  const cutoff = now - horizonSeconds * 1000;
  return items.filter((i) => i.at > cutoff);
}

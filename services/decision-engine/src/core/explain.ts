/** Builders for the `explanation` every decision event carries (schemas.ts explanationSchema). */
import type { EventData } from '@scalewise/events';

export type Explanation = EventData<'io.scalewise.ScaleUpDecision'>['explanation'];
export type Comparison = Explanation['comparisons'][number];
export type Operator = Comparison['operator'];
export type InputValue = Explanation['inputs'][string];

const ops: Record<Operator, (a: number, b: number) => boolean> = {
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

/** A comparison with its result computed, so the explanation can never contradict itself. */
export function cmp(metric: string, value: number, operator: Operator, threshold: number): Comparison {
  return { metric, value, operator, threshold, result: ops[operator](value, threshold) };
}

/** A clamp: what the rule wanted, what it got, and the constraints (in order) that changed it. */
export interface Clamp {
  wanted: number;
  got: number;
  by: string[];
}

export function explanation(
  rule: string,
  summary: string,
  inputs: Record<string, InputValue | undefined>,
  comparisons: Comparison[],
  clamp?: Clamp,
): Explanation {
  const clean: Record<string, InputValue> = {};
  for (const [k, v] of Object.entries(inputs)) {
    if (v === undefined) continue;
    // The schema takes finite numbers only; JSON would turn the others into null anyway.
    clean[k] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
  }
  const e: Explanation = { rule, summary, inputs: clean, comparisons };
  if (clamp && clamp.by.length > 0 && clamp.wanted !== clamp.got) {
    e.clamped = { wanted: clamp.wanted, got: clamp.got, by: clamp.by.join(', ') };
  }
  return e;
}

/** A rounded number for sentences: 12.345 -> "12.3". */
export const fmt = (n: number): string => String(Math.round(n * 10) / 10);

/** Seconds for sentences: 299.5 -> "300s". */
export const secs = (n: number): string => `${Math.ceil(n)}s`;

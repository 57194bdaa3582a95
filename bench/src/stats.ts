/**
 * The `p`th percentile of `xs` (nearest rank: the value `p` % of the samples are below), NaN
 * when there are none. `xs` is left as it is.
 */
export function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

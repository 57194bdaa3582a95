/**
 * TaintToleration: every NoSchedule and NoExecute taint must be tolerated; PreferNoSchedule
 * is a preference and ignored. Toleration matching as in Kubernetes (ToleratesTaint): an
 * empty effect matches every effect, an empty key with Exists every key, operator Equal by
 * default compares the values.
 */
import { type Failure, failure } from '../failure.ts';
import type { Taint, Toleration } from '../types.ts';

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  const op = t.operator || 'Equal';
  if (op === 'Exists') return true;
  if (op === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

export function showTaint(taint: Taint): string {
  return taint.value ? `${taint.key}=${taint.value}:${taint.effect}` : `${taint.key}:${taint.effect}`;
}

/** The first NoSchedule/NoExecute taint no toleration tolerates. */
export function untolerated(
  tolerations: readonly Toleration[] | undefined,
  taints: readonly Taint[],
): Taint | undefined {
  for (const taint of taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerations?.some((t) => tolerates(t, taint))) return taint;
  }
  return undefined;
}

export function checkTaints(
  tolerations: readonly Toleration[] | undefined,
  taints: readonly Taint[],
): Failure | undefined {
  if (taints.length === 0) return undefined;
  const taint = untolerated(tolerations, taints);
  return taint && failure('taints', `taint ${showTaint(taint)} not tolerated`);
}

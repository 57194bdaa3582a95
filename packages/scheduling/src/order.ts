/** First-fit-decreasing order: the largest pod first by its dominant share of cpu and memory. */
import type { ResourceList, SimPod } from './types.ts';

/** The largest cpu and memory over the given allocatables: what a share is a share of. */
export function reference(allocatables: Iterable<ResourceList>): { cpu: number; memory: number } {
  let cpu = 1;
  let memory = 1;
  for (const a of allocatables) {
    cpu = Math.max(cpu, a.cpu ?? 0);
    memory = Math.max(memory, a.memory ?? 0);
  }
  return { cpu, memory };
}

export function dominantShare(pod: SimPod, ref: { cpu: number; memory: number }): number {
  return Math.max((pod.requests.cpu ?? 0) / ref.cpu, (pod.requests.memory ?? 0) / ref.memory);
}

/** A sorted copy: dominant share descending, then key ascending (deterministic). */
export function largestFirst<P extends SimPod>(
  pods: readonly P[],
  ref: { cpu: number; memory: number },
): P[] {
  return pods
    .map((p) => ({ p, s: dominantShare(p, ref) }))
    .sort((a, b) => b.s - a.s || (a.p.key < b.p.key ? -1 : a.p.key > b.p.key ? 1 : 0))
    .map((x) => x.p);
}

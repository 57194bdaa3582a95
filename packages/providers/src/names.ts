/**
 * The names of the workers an action creates: `<pool>-<tag of the decision id>-<i>`, stable
 * for a decision id (a redelivered decision or a restart asks for the same names, and every
 * provider creates by name idempotently) and unique in the cluster. Pure.
 */

/** A short, stable, DNS-safe tag of a decision id (FNV-1a, base 36). */
export function tagOf(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, '0');
}

/** The names of the workers a scale-up creates: stable for a decision id. */
export function workerNames(pool: string, actionId: string, count: number): string[] {
  const tag = tagOf(actionId);
  return Array.from({ length: count }, (_, i) => `${pool}-${tag}-${i + 1}`);
}

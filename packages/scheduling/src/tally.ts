/** Failures over many nodes, counted by predicate and node-independent summary. */
import type { Failure } from './failure.ts';
import type { Reason } from './types.ts';

export class Tally {
  private readonly groups = new Map<string, { reason: Reason; nodes: number }>();
  total = 0;

  add(f: Failure): void {
    this.total++;
    const key = `${f.predicate}\u0000${f.summary}`;
    const g = this.groups.get(key);
    if (g) g.nodes++;
    else this.groups.set(key, { reason: { predicate: f.predicate, message: f.summary }, nodes: 1 });
  }

  /** The `n` most common, most nodes first (first seen first among equals). */
  top(n: number): { reason: Reason; nodes: number }[] {
    return [...this.groups.values()].sort((a, b) => b.nodes - a.nodes).slice(0, n);
  }

  get size(): number {
    return this.groups.size;
  }
}

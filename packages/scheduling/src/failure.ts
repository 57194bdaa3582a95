import type { Constraint, Reason } from './types.ts';

/**
 * A failed predicate as the simulation carries it: the Reason a person reads, naming the
 * node's concrete values, and `summary`, the same failure without what is particular to one
 * node, by which failures over many nodes are counted together.
 */
export interface Failure extends Reason {
  summary: string;
}

export function failure(predicate: Constraint, message: string, summary: string = message): Failure {
  return { predicate, message, summary };
}

/** The public Reason of a failure (the summary stays inside the package). */
export function toReason(f: Failure): Reason {
  return { predicate: f.predicate, message: f.message };
}

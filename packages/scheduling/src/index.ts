/**
 * The scheduling simulation (DESIGN.md section 5): kube-scheduler's filter predicates over
 * plain values, a scale-up planner that places pending pods on existing, in-flight and new
 * template nodes, and a removal planner that proves a node's pods can move. Pure: no I/O, no
 * clock.
 */

export { Cluster, type NodeState, type PlacedPod } from './cluster.ts';
export { podFitsNode, podFitsTemplate } from './filter.ts';
export { tolerates } from './predicates/taints.ts';
export { planRemoval } from './removal.ts';
export { nextZone, planScaleUp } from './scale-up.ts';
export { matchesLabelSelector } from './selectors.ts';
export * from './types.ts';

/**
 * The demo's script: phases that each set the replicas of the demo Deployment (or take a
 * node away) and say what the autoscaler should do about it. Pure: the runner in
 * main.ts turns phases into Kubernetes calls.
 */
export type Phase =
  | { kind: 'replicas'; replicas: number; holdSeconds: number; expect: string }
  | { kind: 'lose-node'; holdSeconds: number; expect: string };

export interface DemoShape {
  /** CPU request of one demo pod, in millicores. @default 1000 */
  podCpuMillicores: number;
  /** Allocatable CPU of one pool worker, in millicores. @default 4000 */
  nodeCpuMillicores: number;
  /** The pool's minimum and maximum. @default 2 and 6 */
  min: number;
  max: number;
  /** How long scale-down takes to be allowed (the pool's underutilisation duration plus its scale-down window). @default 90 */
  scaleDownSeconds: number;
}

export const defaultShape: DemoShape = {
  podCpuMillicores: 1000,
  nodeCpuMillicores: 4000,
  min: 2,
  max: 6,
  scaleDownSeconds: 90,
};

/** Pods of `podCpu` that fill `nodes` workers to `fraction` of their CPU. */
export function podsFor(shape: DemoShape, nodes: number, fraction: number): number {
  const perNode = Math.floor(shape.nodeCpuMillicores / shape.podCpuMillicores);
  return Math.max(0, Math.floor(nodes * perNode * fraction));
}

/**
 * One cycle: a quiet pool at its minimum; a burst that leaves pods pending (scale-up sized
 * to fit them); the burst ends (underutilised, scale down to the minimum after the window);
 * a worker is lost at the minimum (the floor is restored).
 * @throws RangeError when the shape cannot show a scale-up (max <= min) or is not positive.
 */
export function demoPlan(shape: DemoShape = defaultShape): Phase[] {
  if (shape.min < 1 || shape.max <= shape.min) {
    throw new RangeError(`demo needs 1 <= min < max, got min=${shape.min} max=${shape.max}`);
  }
  if (shape.podCpuMillicores <= 0 || shape.nodeCpuMillicores < shape.podCpuMillicores) {
    throw new RangeError('demo needs 0 < pod CPU <= node CPU');
  }
  const quiet = podsFor(shape, shape.min, 0.25);
  const burstNodes = Math.min(shape.max, shape.min + 2);
  const burst = podsFor(shape, burstNodes, 1);
  return [
    {
      kind: 'replicas',
      replicas: quiet,
      holdSeconds: 20,
      expect: `${quiet} pods fit on the ${shape.min} minimum workers; nothing to do`,
    },
    {
      kind: 'replicas',
      replicas: burst,
      holdSeconds: 40,
      expect: `${burst - podsFor(shape, shape.min, 1)} pods pending: PendingPodsDetected -> ScaleUpDecision to ${burstNodes} workers -> pods Running`,
    },
    {
      kind: 'replicas',
      replicas: quiet,
      holdSeconds: shape.scaleDownSeconds + 30,
      expect: `utilisation falls: UnderutilizationWarning -> ScaleDownDecision back to ${shape.min} -> OptimalStateTrigger`,
    },
    {
      kind: 'lose-node',
      holdSeconds: 40,
      expect: `a worker disappears at the minimum: NodeUnexpectedlyLost -> MinimumNodesViolation -> AutoScaleUpToMinimum -> MinimumNodesRestored`,
    },
  ];
}

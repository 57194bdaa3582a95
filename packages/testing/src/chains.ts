// The causal chains the tests of several packages expect, as short event type names, cause
// first: e2e waits for them on the real system, the CLI and alert-manager explain them.

/** What a scale-up action goes through once decided: started, the node made and Ready, completed. */
export const SCALE_UP_ACTION = [
  'ScaleUpStarted',
  'NodeCreated',
  'NodeReady',
  'ScalingActionCompleted',
] as const;

/** A scale-up for pending pods (seed 000), from the signal to the completed action. */
export const PENDING_SCALE_UP_CHAIN = ['PendingPodsDetected', 'ScaleUpDecision', ...SCALE_UP_ACTION] as const;

/**
 * A lost worker that left the pool below its minimum, replaced: the loss, min-enforcer's scale-up
 * to the minimum, the new node, the minimum restored.
 */
export const FLOOR_REPAIR_CHAIN = [
  'NodeUnexpectedlyLost',
  'AutoScaleUpToMinimum',
  ...SCALE_UP_ACTION,
  'MinimumNodesRestored',
] as const;

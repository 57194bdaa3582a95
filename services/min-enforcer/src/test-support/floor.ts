/**
 * Test support: what a floor action must state, checked the same way by min-enforcer's
 * property test and by the whole-system interleavings (e2e), which both replay a ledger.
 */
import assert from 'node:assert/strict';
import type { EnforcerIntent, FloorPolicy } from '../core/index.ts';

type FloorActionType = 'io.scalewise.AutoScaleUpToMinimum' | 'io.scalewise.EmergencyScaleUp';

/** The floor actions min-enforcer issues (its other outputs report, they ask for nothing). */
export const floorTypes: ReadonlySet<string> = new Set<FloorActionType>([
  'io.scalewise.AutoScaleUpToMinimum',
  'io.scalewise.EmergencyScaleUp',
]);

/** What the pool's ledger said when the step ran: the numbers a floor action must state. */
export interface FloorNumbers {
  /** The ledger's workers (`workersOf`). */
  workers: number;
  /** The size the pool heads for before the action (`desiredOf`): the deficit is `min - desired`. */
  desired: number;
  /** The ledger's losses within the emergency window (`lossesSince`). */
  losses: number;
}

/**
 * Checks a floor action against the ledger's numbers: the workers and the floor in force, and
 * the size the rule gives. Under `emergencyScaleThreshold` losses in the window an
 * AutoScaleUpToMinimum of the deficit; with as many or more an EmergencyScaleUp of twice the
 * deficit; neither beyond max. Returns the count the action asks for.
 */
export function checkFloorAction(
  e: Extract<EnforcerIntent, { type: FloorActionType }>,
  policy: FloorPolicy,
  { workers, desired, losses }: FloorNumbers,
): number {
  const { min, max } = policy;
  const deficit = min - desired;
  if (e.type === 'io.scalewise.AutoScaleUpToMinimum') {
    assert.ok(losses < policy.emergencyScaleThreshold, 'an emergency when the losses say so');
    assert.equal(e.data.current_workers, workers, 'the ledger’s workers');
    assert.equal(e.data.min_workers, min);
    assert.equal(e.data.scale_up_count, Math.min(deficit, max - desired), 'the deficit, once');
    return e.data.scale_up_count;
  }
  assert.ok(losses >= policy.emergencyScaleThreshold);
  assert.equal(e.data.remaining_workers, workers, 'the ledger’s workers');
  assert.equal(e.data.min_workers, min);
  assert.equal(e.data.lost_count, losses, 'the ledger’s losses in the window');
  assert.equal(e.data.emergency_scale, Math.min(2 * deficit, max - desired), 'twice the deficit, within max');
  assert.equal(e.data.target_workers, desired + e.data.emergency_scale);
  return e.data.emergency_scale;
}

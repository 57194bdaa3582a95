/**
 * The min-enforcer core: the pure floor. `enforce(state, input, now)` returns the next state
 * and the events to publish; the service shell does all I/O around it and sends a `tick`
 * every `min_violation_check_interval`.
 */
export {
  type Enforcement,
  type EnforcerEvent,
  type EnforcerEventType,
  type EnforcerInput,
  type EnforcerIntent,
  type EnforcerOutputType,
  type EnforcerState,
  enforce,
  enforcerEventTypes,
  enforcerOutputTypes,
  type FloorPoolState,
  initialEnforcerState,
  type Tick,
} from './enforce.ts';
export {
  defineFloorPolicy,
  type FloorPolicy,
  type FloorPolicyInput,
  floorDefaults,
  sourceAllowed,
} from './policy.ts';

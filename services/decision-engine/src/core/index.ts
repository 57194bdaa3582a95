/**
 * The decision-engine core: pure policy. `decide(state, input, now)` returns the next state
 * and the events to publish; the service shell does all I/O around it.
 */
export { type DecideContext, type Decision, decide } from './decide.ts';
export { type Clamp, type Comparison, cmp, type Explanation, explanation } from './explain.ts';
export {
  changeInPeriod,
  type Recommendation,
  type ScaleEvent,
  type Stabilized,
  scaleDownLimit,
  scaleUpLimit,
  stabilize,
} from './hpa.ts';
export {
  type Behavior,
  defaultNodeSize,
  defaultScaleDown,
  defaultScaleUp,
  defaultThresholds,
  definePoolPolicy,
  type NodeSize,
  type PoolPolicy,
  type PoolPolicyInput,
  policyDefaults,
  type ScalingPolicy,
  type ScalingPolicyType,
  type ScalingRules,
  type SelectPolicy,
  sourceAllowed,
  type Thresholds,
} from './policy.ts';
export {
  type BlockReason,
  desiredOf,
  type EngineState,
  type InFlightAction,
  initialState,
  type PoolState,
  settled,
  storedState,
  viewOf,
  withPolicies,
} from './state.ts';
export {
  type ConsumedEventType,
  consumedEventTypes,
  type EngineEvent,
  type EngineInput,
  type Intent,
  type ProducedEventType,
  producedEventTypes,
  type TriggerEvent,
  type TriggerType,
  triggerTypes,
} from './types.ts';

export { type BridgeDefaults, type Bridged, bridgeEntry, fieldsOf } from './bridge.ts';
export {
  initialSenseState,
  type NodeCondition,
  type NodeSample,
  type PendingPod,
  type PoolSample,
  type SensedType,
  type SenseIntent,
  type SensePolicy,
  type SensePoolState,
  sense,
  utilization,
} from './sense.ts';

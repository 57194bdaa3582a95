export { type BridgeDefaults, type Bridged, bridgeEntry, fieldsOf } from './bridge.ts';
export {
  type MetricDemand,
  metricDemand,
  type PrometheusSpec,
  type QueryReading,
  readQueryResult,
} from './prometheus.ts';
export {
  initialSenseState,
  type NodeCondition,
  type NodeSample,
  type PendingPod,
  type PoolSample,
  pendingPodsEvent,
  type RemovalCandidate,
  type SensedType,
  type SenseIntent,
  type SensePolicy,
  type SensePoolState,
  sense,
  utilization,
} from './sense.ts';
export {
  type Candidate,
  type Headroom,
  type PendingPlan,
  type PoolRemoval,
  planHeadroom,
  planPending,
  planRemovals,
  type Unplaceable,
  type WaitingPod,
} from './simulate.ts';
export { type NodeUsage, type ParsedNodeMetrics, parseNodeMetricsList } from './usage.ts';

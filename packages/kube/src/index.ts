export { connectKube, isStatus, type Kube, kubeCall, statusOf } from './client.ts';
export { type DrainOptions, type DrainResult, drain, podsOn } from './drain.ts';
export {
  ACTION_ANNOTATION,
  cordon,
  deleteNode,
  ensureNode,
  KWOK_NODE_KEY,
  KWOK_NODE_VALUE,
  kwokNodeManifest,
  MANAGED_BY,
  POOL_LABEL,
  SCALE_DOWN_DISABLED,
  uncordon,
  type WorkerSpec,
} from './nodes.ts';
export { cpuMillicores, memoryBytes, parseQuantity } from './quantity.ts';
export {
  isActiveOn,
  isReady,
  isUnschedulable,
  nodeAllocatable,
  ownerOf,
  podRequests,
  type Resources,
} from './resources.ts';
export { chooseVictims, type VictimChoice } from './victims.ts';

export { ancestors, type ChainEvent, causalChain, describe, short } from './chain.ts';
export {
  type ChainAssertion,
  dataOf,
  eventsOf,
  expectChain,
  lastSynced,
  quietWindow,
  type SyncedData,
  waitForEvent,
  waitForSynced,
} from './expect.ts';
export {
  type ExtraPool,
  PODS_HOST_LABEL,
  type PoolOptions,
  type PoolTaint,
  type RunningService,
  type ServiceName,
  SYSTEM_LABEL,
  type System,
  type SystemOptions,
  serviceNames,
  startSystem,
  systemYaml,
} from './harness.ts';
export {
  type BudgetSpec,
  createBudget,
  deploy,
  type Place,
  podsOf,
  runningPods,
  scale,
  undeploy,
  type WorkloadSpec,
} from './workload.ts';

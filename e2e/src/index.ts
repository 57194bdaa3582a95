export { ancestors, type ChainEvent, causalChain, describe, short } from './chain.ts';
export {
  type ChainAssertion,
  dataOf,
  expectChain,
  lastSynced,
  type SyncedData,
  waitForEvent,
  waitForSynced,
} from './expect.ts';
export {
  type PoolOptions,
  type RunningService,
  type ServiceName,
  type System,
  type SystemOptions,
  serviceNames,
  startSystem,
  systemYaml,
} from './harness.ts';
export { deploy, type Place, podsOf, runningPods, undeploy, type WorkloadSpec } from './workload.ts';

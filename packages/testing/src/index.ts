export {
  type AggregatedApi,
  type AggregatedServer,
  aggregatedServerFlags,
  grantAnonymous,
  registerApiService,
  revokeAnonymous,
  unregisterApiService,
} from './aggregation.ts';
export { FLOOR_REPAIR_CHAIN, PENDING_SCALE_UP_CHAIN, SCALE_UP_ACTION } from './chains.ts';
export {
  type PoolServiceYamlOptions,
  podsPool,
  poolServiceYaml,
  type ServersOptions,
  type ServiceYamlOptions,
  serversYaml,
  serviceYaml,
} from './config.ts';
export {
  type FixtureOptions,
  type IntegrationFixture,
  integrationFixture,
  type NamespaceOptions,
  quiet,
  type RecordOptions,
  type Scope,
  type Startable,
  type Stoppable,
  testNamespace,
} from './fixture.ts';
export { K3S_IMAGE, type KubernetesEndpoint, KWOK_IMAGE, kubeconfigWithServer } from './k3s.ts';
export { freshGroupId, freshTopic, testKafka } from './kafka.ts';
export {
  completePod,
  coreApi,
  createSimulatedNode,
  type KubeAdmin,
  KWOK_NODE_KEY,
  KWOK_NODE_VALUE,
  kubeAdmin,
  kubeConfigPath,
  loadKubeConfig,
  type SimulatedNodeSpec,
  simulatedNodeManifest,
  type WebDeploymentSpec,
  webDeployment,
} from './kube.ts';
export { uniqueName } from './names.ts';
export { freePort } from './net.ts';
export { type NodeResult, type NodeRun, type Proc, startNode, startProcess } from './process.ts';
export { connectRedis, unreachableRedis } from './redis.ts';
export {
  chooseServers,
  getStack,
  parseEnvLines,
  repositoryRoot,
  type ServerMode,
  type StackEndpoints,
  type StackOptions,
} from './stack.ts';
export { type WaitForOptions, waitFor } from './wait.ts';
export { poolWebDeployment } from './workload.ts';

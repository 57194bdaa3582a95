/**
 * The node providers (DESIGN.md section 2): one interface (provider.ts), the implementations
 * (kwok, pods, docker, external), one registry that builds those the configured pools use,
 * and one decorator that adds retries by the bus's policy and a breaker. The in-memory fake
 * for unit tests is `@scalewise/providers/fake`; the external provider's wire contract, which
 * the reference provisioner serves, is `@scalewise/providers/provisioner-contract`.
 */
export {
  type DockerEnv,
  type DockerProviderDeps,
  type DockerSettings,
  dockerProvider,
  instanceOf,
  isDockerPool,
  resolveDockerSettings,
} from './docker.ts';
export { createDockerClient, type DockerApi, parseDockerHost } from './docker-api.ts';
export {
  type ExternalProvider,
  type ExternalProviderDeps,
  externalProvider,
  resolveExternalSettings,
  workerTemplate,
} from './external.ts';
export * as provisionerContract from './external-contract.ts';
export { kwokProvider } from './kwok.ts';
export { tagOf, workerNames } from './names.ts';
export { type PodsLog, type PodsProvider, podsOptionsOf, podsProvider } from './pods.ts';
export type { CreateOptions, Instance, Provider, WorkerChange, WorkerWatch } from './provider.ts';
export { type OpenedProviders, type OpenProvidersDeps, openProviders } from './registry.ts';
export {
  type CallResilience,
  lastError,
  type ResilienceOptions,
  type ResilientProvider,
  resilient,
} from './resilient.ts';
export {
  BUSY_ANNOTATION,
  busyReason,
  chooseIdleWorkers,
  cleanupAt,
  type IdleChoice,
  isFinished,
  labelValueOf,
  projectWorkerPod,
  TASK_LABEL,
  WORKER_POD_SELECTOR,
  type WorkerPod,
  type WorkerPodSpec,
  workerPodManifest,
} from './worker-pods.ts';

/**
 * node-manager's providers for other services (`@scalewise/node-manager/providers`): state-sync
 * lists each pool's instances through the same implementations node-manager creates and
 * removes workers with, so "the provider's view" means one thing everywhere.
 */

export { type DockerEnv, dockerProvider, instanceOf, isDockerPool } from './providers/docker.ts';
export {
  createDockerClient,
  type DockerApi,
  parseDockerHost,
} from './providers/docker-api.ts';
export {
  type ExternalProvider,
  type ExternalProviderDeps,
  externalProvider,
  resolveExternalSettings,
  workerTemplate,
} from './providers/external.ts';
export * as provisionerContract from './providers/external-contract.ts';
export { kwokProvider } from './providers/kwok.ts';
export { type PodsProvider, podsProvider } from './providers/pods.ts';
export type { CreateOptions, Instance, Provider, WorkerChange, WorkerWatch } from './providers/provider.ts';

export {
  type CompletedWorker,
  emptyStore,
  type Instance,
  type KubeNode,
  type PoolStore,
  type ProviderUnavailable,
  type ProviderView,
  reconcile,
  type StoredNode,
  type SyncInput,
  type SyncIntent,
  type SyncOutcome,
  type SyncPolicy,
  type SyncType,
} from './reconcile.ts';
export {
  completedPod,
  isFinishedPod,
  projectWorkerPodView,
  type RawPod,
  type WorkerPodView,
  workerNodes,
} from './workers.ts';

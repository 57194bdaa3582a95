export {
  actionEnded,
  emptyStore,
  type Instance,
  type KubeNode,
  type PoolStore,
  reconcile,
  removingNodes,
  type StoredNode,
  type SyncIntent,
  type SyncPolicy,
  type SyncType,
} from './reconcile.ts';

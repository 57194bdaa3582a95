export { sourceAllowed } from './allowlist.ts';
export { type FactEvent, type Recorded, recordFacts } from './facts.ts';
export * from './ledger.ts';
export {
  createPoolStore,
  type PoolApplied,
  type PoolRecord,
  type PoolStep,
  type PoolStore,
  type PoolStoreOptions,
} from './store.ts';

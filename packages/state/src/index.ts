export {
  type Applied,
  createStateStore,
  redisCaller,
  type StateStore,
  type StateStoreOptions,
  type StepResult,
  type Stored,
} from './store.ts';

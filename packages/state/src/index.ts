export {
  type Applied,
  createStateStore,
  type StateStore,
  type StateStoreOptions,
  type StepResult,
  type Stored,
} from './store.ts';

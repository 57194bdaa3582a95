export {
  type Applied,
  type CasStoreOptions,
  casSettings,
  createStateStore,
  readWithOutbox,
  redisCaller,
  type StateStore,
  type StateStoreOptions,
  type StepResult,
  type Stored,
  untilWritten,
} from './store.ts';

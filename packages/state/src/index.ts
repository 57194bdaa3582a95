export {
  type Applied,
  type CasStoreOptions,
  casSettings,
  createStateStore,
  pauseAfterLostRace,
  readWithOutbox,
  redisCaller,
  type StateStore,
  type StateStoreOptions,
  type StepResult,
  type Stored,
} from './store.ts';

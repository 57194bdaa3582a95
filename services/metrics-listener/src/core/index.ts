export { type BridgeDefaults, type Bridged, bridgeEntry, fieldsOf } from './bridge.ts';

export { type AuditData, auditEvent } from './audit.ts';
export {
  type Cadence,
  type Catalogue,
  cadenceOf,
  catalogue,
  type EventData,
  type EventName,
  type EventType,
  eventTypes,
  eventTypesOfTopic,
  isEventType,
  jsonSchemaOf,
  type Severity,
  type TopicKey,
  topicKeys,
  topicName,
  topicOf,
} from './catalogue.ts';
export {
  type EncodedRecord,
  fromKafkaMessage,
  isCloudEventRecord,
  type RawRecord,
  type RecordOrigin,
  toKafkaMessage,
} from './codec.ts';
export {
  type AnyScalewiseEvent,
  type CreateEventOptions,
  causedBy,
  createEvent,
  extensionNames,
  isForCluster,
  isTriggerType,
  parseData,
  type ScalewiseEvent,
  type TriggerEventType,
  triggerData,
  triggerPartitionKey,
  UNKEYED_TRIGGER_KEY,
  validateEvent,
} from './envelope.ts';
export { sampleData, sampleEvents } from './samples.ts';
export { AUDIT_KEY, comparisonSchema, explanationSchema, UNPLACEABLE_KEY } from './schemas.ts';

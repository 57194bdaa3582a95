export {
  type Catalogue,
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
  parseData,
  type ScalewiseEvent,
  validateEvent,
} from './envelope.ts';
export { sampleData, sampleEvents } from './samples.ts';
export { comparisonSchema, explanationSchema, UNPLACEABLE_KEY } from './schemas.ts';

export {
  aclCommandLine,
  applyKafkaAcls,
  type KafkaAccess,
  type KafkaAclBinding,
  type KafkaAclOperation,
  type KafkaAclOptions,
  type KafkaRole,
  kafkaAccess,
  kafkaAclBindings,
  kafkaRoles,
  toAclEntry,
} from './access.ts';
export {
  type AuditIdentity,
  type AuditInput,
  auditData,
  audited,
  type CommandAudit,
  cliActor,
  type KafkaAuditOptions,
  kafkaAudit,
} from './audit.ts';
export { type Breaker, type BreakerOptions, createBreaker } from './breaker.ts';
export { type Bus, type BusConfig, createBus } from './bus.ts';
export {
  createS3DeadLetterStore,
  type DeadLetter,
  type DeadLetterStore,
  deadLetterKey,
  type SdkS3ClientLike,
} from './dlq.ts';
export { createRedisIdempotency, type IdempotencyStore, memoryIdempotency } from './idempotency.ts';
export { describeKafkaError, type KafkaAccessProblem, kafkaAccessProblem } from './kafka-errors.ts';
export { type BreakerState, type BusMetrics, noopBusMetrics } from './metrics.ts';
export { activeTraceparent, createPublisher, type Publisher, type PublisherDeps } from './publisher.ts';
export { describeRedisError } from './redis-errors.ts';
export {
  asReplay,
  type ReplayRange,
  type ReplayStats,
  replay,
  replayDeadLetter,
  replayIntoTopic,
  replayMatches,
} from './replay.ts';
export { backoffMs, defaultRetryPolicy, type RetryPolicy, withRetry } from './retry.ts';
export {
  createS3Client,
  parseListObjects,
  type S3Api,
  type S3ClientOptions,
  type S3Credentials,
  S3Error,
  type S3ObjectInfo,
  signS3Request,
} from './s3.ts';
export {
  type BusLogger,
  createSubscriber,
  type Handler,
  type HandlerContext,
  type HandlerRegistry,
  handlersFor,
  isDependencyFailure,
  type Outputs,
  type Subscriber,
  type SubscriberDeps,
  silentLogger,
} from './subscriber.ts';
export { deadLetterOwners, ensureTopics, type TopicOptions } from './topics.ts';
export { inProcessSpan, parentContext, startPublishSpans, traceparentOf } from './tracing.ts';

export { type BusCliEnvironment, busCliEnvironment, kafkaSecurityFromEnv } from './bus-cli-env.ts';
export {
  consumerGroupId,
  kafkaClientConfig,
  type RedisClientConfig,
  redisClientConfig,
  s3ClientConfig,
  topicNames,
} from './clients.ts';
export {
  DEFAULT_K3S_AGENT_IMAGE,
  type DockerOptions,
  type DockerOptionsInput,
  dockerOptionsSchema,
  RESERVED_DOCKER_ENV,
  RESERVED_DOCKER_LABELS,
} from './docker-options.ts';
export {
  consoleDirectory,
  type DockerEnvironment,
  dockerEnvironment,
  type ProcessBinding,
  type ProcessBindingUse,
  processBindings,
} from './environment.ts';
export {
  type ExternalOptions,
  type ExternalOptionsInput,
  externalOptionsSchema,
} from './external-options.ts';
export {
  type ConfigProblem,
  envBindings,
  type FileSecret,
  type LoadedConfig,
  type LoadOptions,
  loadConfig,
  redact,
  validate,
} from './load.ts';
export {
  type PodsOptions,
  type PodsOptionsInput,
  podsOptionsSchema,
  RESERVED_POD_ENV,
  RESERVED_POD_LABELS,
} from './pods-options.ts';
export {
  API_TOKEN_NAME,
  type Config,
  type ConfigInput,
  configSchema,
  type PoolConfig,
  taintSchema,
} from './schema.ts';
export { kwokWorkerSpec, nextZone, poolTaints, poolTemplate, zonesOfNew } from './template.ts';
export {
  type HttpToken,
  MIN_TOKEN_LENGTH,
  type ResolveTokensOptions,
  resolveHttpTokens,
  type TokenScope,
  tokenValueProblem,
} from './tokens.ts';

export { type AppDeps, buildApp, type CheckResult, type ReadinessCheck, runChecks } from './app.ts';
export {
  type AppOf,
  type AppService,
  type AppServiceSpec,
  appService,
  type ServiceOverrides,
  startAndStop,
} from './app-service.ts';
export {
  type AuditNote,
  type AuditSink,
  createTokenStore,
  type Principal,
  type RouteAuth,
  type RouteInfo,
  routeAuthOf,
  routeTable,
  selectSubprotocol,
  type TokenStore,
  type TokenStoreOptions,
  tokenOf,
} from './auth.ts';
export { kafkaCheck, redisCheck, s3Check } from './checks.ts';
export {
  breakerOptionsOf,
  createService,
  exitCodes,
  retryPolicyOf,
  runService,
  type Service,
  type ServiceContext,
  type ServiceDefinition,
} from './service.ts';
export {
  firstSighting,
  type StartBackoff,
  type StartFailureKind,
  type StartRetryOptions,
  startBackoffMs,
  startFailureKind,
  startWithRetry,
} from './start-retry.ts';

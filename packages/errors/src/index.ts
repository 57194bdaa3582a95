/**
 * The one error hierarchy of Scalewise. Every error a package throws on purpose is a
 * {@link ScalewiseError} with a stable `code`, whether retrying can help (`retriable`), and the
 * HTTP status a REST route answers with. Retry and dead-letter policy lives in packages/bus;
 * it reads `retriable` and never retries a programming error (TypeError, RangeError, ...).
 */

/** Every stable error code, with its HTTP status and whether a retry can help. */
export const errorCatalogue = {
  // Input from outside: never retried, dead-lettered or answered 4xx.
  MALFORMED_RECORD: { status: 400, retriable: false, summary: 'a Kafka record that is not a CloudEvent' },
  UNKNOWN_EVENT_TYPE: { status: 400, retriable: false, summary: 'an event type the catalogue does not know' },
  SCHEMA_VIOLATION: { status: 400, retriable: false, summary: "an event's data does not match its schema" },
  INVALID_CONFIG: {
    status: 500,
    retriable: false,
    summary: 'the configuration file or environment is invalid',
  },
  BAD_REQUEST: { status: 400, retriable: false, summary: 'a request that names something wrong' },
  UNAUTHORIZED: { status: 401, retriable: false, summary: 'a missing or wrong bearer token' },
  NOT_FOUND: { status: 404, retriable: false, summary: 'the named thing does not exist' },
  FORBIDDEN: { status: 403, retriable: false, summary: 'not allowed in this configuration' },
  CONFLICT: { status: 409, retriable: false, summary: 'the request conflicts with the current state' },
  // Dependencies: retriable, the breaker and backoff decide when.
  DEPENDENCY_UNAVAILABLE: {
    status: 503,
    retriable: true,
    summary: 'a server the service needs does not answer',
  },
  CIRCUIT_OPEN: { status: 503, retriable: true, summary: "a dependency's circuit breaker is open" },
  TIMEOUT: { status: 504, retriable: true, summary: 'a call did not finish in time' },
  KUBERNETES_API: { status: 502, retriable: true, summary: 'the Kubernetes API answered with an error' },
  DOCKER_API: { status: 502, retriable: true, summary: 'the Docker Engine API answered with an error' },
  PROVISIONER_API: {
    status: 502,
    retriable: true,
    summary: 'an external provisioner answered with an error (its reason in details.reason)',
  },
  // Handlers.
  HANDLER_FAILED: { status: 500, retriable: true, summary: 'an event handler failed' },
  RETRIES_EXHAUSTED: { status: 500, retriable: false, summary: 'the last retry failed' },
  SHUTTING_DOWN: { status: 503, retriable: true, summary: 'the service is draining' },
  INTERNAL: { status: 500, retriable: false, summary: 'a programming error' },
} as const satisfies Record<string, { status: number; retriable: boolean; summary: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface ScalewiseErrorOptions {
  /** Overrides the catalogue's default for this code. */
  retriable?: boolean;
  cause?: unknown;
  /** Structured facts for logs and dead letters (never secrets). */
  details?: Record<string, unknown>;
}

/** The base error: a stable code, retriability as data, the HTTP status of its code. */
export class ScalewiseError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ScalewiseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ScalewiseError';
    this.code = code;
    this.retriable = options.retriable ?? errorCatalogue[code].retriable;
    this.status = errorCatalogue[code].status;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; retriable: boolean; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, retriable: this.retriable, details: this.details };
  }
}

/** Programming errors: a retry runs the same code into the same bug. */
const programmingErrors = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/**
 * Whether retrying the call that threw `err` can help: a ScalewiseError says so itself; a
 * programming error never; a network error of Node (ECONNREFUSED, ETIMEDOUT, ...) or an error
 * carrying `retriable: true` (kafkajs) does; anything else unknown is retried.
 */
export function isRetriable(err: unknown): boolean {
  if (err instanceof ScalewiseError) return err.retriable;
  if (programmingErrors.some((t) => err instanceof t)) return false;
  if (typeof err === 'object' && err !== null) {
    const r = (err as { retriable?: unknown }).retriable;
    if (typeof r === 'boolean') return r;
  }
  return true;
}

/** The stable code of any thrown value (INTERNAL for programming errors, HANDLER_FAILED otherwise). */
export function errorCode(err: unknown): ErrorCode {
  if (err instanceof ScalewiseError) return err.code;
  if (programmingErrors.some((t) => err instanceof t)) return 'INTERNAL';
  return 'HANDLER_FAILED';
}

/** Node's codes of a TLS peer certificate it does not accept. */
const certificateCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * When `err` (or an error in its `cause`/`originalError` chain) is a TLS handshake that failed on
 * the server's certificate: a sentence naming it, its code and what to check; otherwise undefined.
 */
export function certificateProblem(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 6 && typeof e === 'object' && e !== null; i += 1) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && certificateCodes.has(code)) {
      const what =
        code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? 'does not name the host connected to'
          : code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID'
            ? 'is outside its validity period'
            : 'is not signed by a trusted CA (is the right CA file configured?)';
      return `TLS handshake failed: the server's certificate ${what}: ${code}: ${String(message)}`;
    }
    e = (e as { cause?: unknown; originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}

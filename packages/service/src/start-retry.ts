/**
 * What a process does when its start fails: a dependency that refuses or does not answer (a
 * wrong password, an untrusted certificate, a missing ACL, a server down) is waited out in the
 * same process, tried again with capped exponential backoff, and its error logged once per
 * distinct message; a bad configuration or a programming error still ends the process. Kubernetes
 * then shows a pod that runs but is not ready, naming the cause in /readyz, instead of a crash
 * loop, and a corrected Secret takes effect at the next attempt.
 */
import { backoffMs, kafkaAccessProblem, S3Error } from '@scalewise/bus';
import { certificateProblem, ScalewiseError } from '@scalewise/errors';

/** What a failed start calls for: another attempt, exit 78 (EX_CONFIG), or exit 1. */
export type StartFailureKind = 'retry' | 'config' | 'fatal';

/** The codes of a dependency that failed: waiting can help, even when the error says it is not retriable. */
const dependencyCodes = new Set<string>([
  'DEPENDENCY_UNAVAILABLE',
  'CIRCUIT_OPEN',
  'TIMEOUT',
  'KUBERNETES_API',
  'DOCKER_API',
  'PROVISIONER_API',
]);

const programmingErrors = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/**
 * Whether a failed start is tried again. A dependency's error is, refusals included (a
 * credential or certificate is fixed from outside, and the files are read again); so is a Node
 * network error (ECONNREFUSED, ...) and an error saying `retriable: true` (kafkajs). INVALID_CONFIG
 * is `config`; a programming error, INTERNAL and any other error `fatal`.
 */
export function startFailureKind(err: unknown): StartFailureKind {
  if (err instanceof ScalewiseError) {
    if (err.code === 'INVALID_CONFIG') return 'config';
    if (err.code === 'INTERNAL') return 'fatal';
    return dependencyCodes.has(err.code) || err.retriable ? 'retry' : 'fatal';
  }
  if (programmingErrors.some((t) => err instanceof t)) return 'fatal';
  if (kafkaAccessProblem(err) || certificateProblem(err) || err instanceof S3Error) return 'retry';
  if (typeof err === 'object' && err !== null) {
    const { retriable, code, syscall } = err as { retriable?: unknown; code?: unknown; syscall?: unknown };
    if (retriable === true) return 'retry';
    if (typeof code === 'string' && typeof syscall === 'string') return 'retry';
  }
  return 'fatal';
}

export interface StartBackoff {
  /** The first wait. */
  initialMs: number;
  /** The longest wait. */
  maxMs: number;
}

/**
 * The wait before retry number `attempt` (1 = the first): `initialMs` doubling up to `maxMs`,
 * jittered between half and all of it, so that replicas refused together do not retry in step
 * and none retries at once.
 */
export function startBackoffMs(attempt: number, b: StartBackoff, random: () => number = Math.random): number {
  return backoffMs(attempt, { baseMs: b.initialMs, maxMs: b.maxMs }, () => 0.5 + random() / 2);
}

/**
 * A filter that lets each distinct message through once: true the first time it sees one.
 * Bounded: past `capacity` messages it forgets them all (a message with a changing part then
 * passes again, at worst once per retry).
 */
export function firstSighting(capacity = 64): (message: string) => boolean {
  const seen = new Set<string>();
  return (message) => {
    if (seen.has(message)) return false;
    if (seen.size >= capacity) seen.clear();
    seen.add(message);
    return true;
  };
}

interface StartLogger {
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface StartRetryOptions extends StartBackoff {
  log: StartLogger;
  /** Aborted (SIGTERM): no further attempt, the wait ends at once. */
  signal?: AbortSignal;
  /** False once a failed start cannot be tried again in this process. @default always true */
  resumable?: () => boolean;
  /** @default Math.random */
  random?: () => number;
}

/** A wait that an abort ends early. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Calls `start` until it succeeds, waiting between attempts as {@link startBackoffMs} says.
 * Each distinct error message is logged once at error level; a repeat only at debug.
 * @returns 'started', or 'aborted' when the signal was aborted first.
 * @throws the first error that is not to be retried ({@link startFailureKind} not `retry`, or
 *   `resumable()` false), with `startFailureKind` telling the exit code.
 */
export async function startWithRetry(
  start: () => Promise<void>,
  options: StartRetryOptions,
): Promise<'started' | 'aborted'> {
  const { log, signal } = options;
  const fresh = firstSighting();
  for (let attempt = 1; ; attempt += 1) {
    if (signal?.aborted) return 'aborted';
    try {
      await start();
      if (attempt > 1) log.info({ attempts: attempt }, 'started after failed attempts');
      return 'started';
    } catch (err) {
      if (signal?.aborted) return 'aborted';
      if (startFailureKind(err) !== 'retry' || options.resumable?.() === false) throw err;
      const retryInMs = startBackoffMs(attempt, options, options.random);
      const message = err instanceof Error ? err.message : String(err);
      if (fresh(message)) {
        log.error(
          { err, attempt, retryInMs },
          'start failed on a dependency: the process stays up (not ready) and tries again',
        );
      } else {
        log.debug({ attempt, retryInMs, error: message }, 'start failed again');
      }
      await pause(retryInMs, signal);
    }
  }
}

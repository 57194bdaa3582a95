/**
 * Bounded exponential backoff with full jitter (the AWS Architecture Blog's "Exponential
 * Backoff And Jitter"): attempt n waits a random time in [0, min(max, base * 2^n)).
 * Pure apart from the injected `random` and `sleep`.
 */
import { isRetriable, ScalewiseError } from '@scalewise/errors';

export interface RetryPolicy {
  /** Attempts in all, the first included. @default 5 */
  maxAttempts: number;
  /** @default 100 */
  baseMs: number;
  /** @default 10000 */
  maxMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, baseMs: 100, maxMs: 10_000 };

/** The wait before retry number `attempt` (1 = the first retry). */
export function backoffMs(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseMs' | 'maxMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryHooks {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called before each wait (kafkajs' heartbeat goes here, so a long retry keeps the member). */
  beforeWait?: (attempt: number, waitMs: number, err: unknown) => Promise<void> | void;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, throws a non-retriable error, or the attempts run out.
 * @throws the non-retriable error as is, or ScalewiseError RETRIES_EXHAUSTED with the last
 *   error as cause and `details.attempts`.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = defaultRetryPolicy,
  hooks: RetryHooks = {},
): Promise<{ value: T; attempts: number }> {
  const wait = hooks.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(attempt), attempts: attempt };
    } catch (err) {
      if (!isRetriable(err)) throw err;
      if (attempt >= policy.maxAttempts) {
        throw new ScalewiseError(
          'RETRIES_EXHAUSTED',
          `gave up after ${attempt} attempts: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err, details: { attempts: attempt } },
        );
      }
      const ms = backoffMs(attempt, policy, hooks.random);
      await hooks.beforeWait?.(attempt, ms, err);
      await wait(ms);
    }
  }
}

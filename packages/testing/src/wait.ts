/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** How long to keep trying, in milliseconds. @default 10000 */
  timeoutMs?: number;
  /** Pause between attempts, in milliseconds. @default 100 */
  intervalMs?: number;
  /** Says what was awaited, for the error when the deadline passes. */
  what?: string;
}

/**
 * Calls `probe` until it returns a value other than `undefined`, `null` or `false`, and returns
 * that value. A probe that throws counts as "not yet"; its last error is the cause of the
 * timeout error.
 *
 * @throws Error naming `what` and the deadline when the probe never succeeds in time.
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 100, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

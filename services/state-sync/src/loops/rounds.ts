/**
 * Coalesced rounds: `run` on request, one at a time. A request while a round runs queues one
 * more round after it, never more: any number of requests in the meantime (a watch listing
 * 5,000 nodes, a burst of deletions) are served by that one round, which reads the state as
 * it is when it starts.
 */
export interface Rounds {
  /** Runs a round now, or once after the running one. Ignored once stopped. */
  request(): void;
  /** Resolves when no round runs (the queued one included). */
  idle(): Promise<void>;
  /** No round is started any more; resolves when the running one ends. */
  stop(): Promise<void>;
}

/** @param onError told of a round that threw (the next request runs one again) */
export function createRounds(run: () => Promise<unknown>, onError: (err: unknown) => void): Rounds {
  let busy = false;
  let queued = false;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const loop = async () => {
    try {
      do {
        queued = false;
        try {
          await run();
        } catch (err) {
          onError(err);
        }
      } while (queued && !stopped);
    } finally {
      // Cleared in the same turn as the last look at `queued`: no request falls in between.
      busy = false;
    }
  };
  return {
    request() {
      if (stopped) return;
      if (busy) {
        queued = true;
        return;
      }
      busy = true;
      current = loop();
    },
    idle: () => current,
    async stop() {
      stopped = true;
      await current;
    },
  };
}

/**
 * The deadline check: every `tickSeconds`, each running action past its deadline is told the
 * time (the core fails it, or removes what never joined).
 */
import type { Observations } from '../handlers/observations.ts';

export interface Deadlines {
  start(): void;
  stop(): void;
}

export function createDeadlines(deps: {
  /** Running action -> its deadline. */
  deadlines: ReadonlyMap<string, number>;
  apply: Observations['apply'];
  now: () => number;
  /** @default 1 */
  tickSeconds?: number;
  log: { error(obj: object, msg: string): void };
}): Deadlines {
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const t = deps.now();
    for (const [id, deadline] of deps.deadlines) {
      if (t < deadline) continue;
      deps
        .apply(id, { kind: 'tick' }, `tick/${Math.floor(t / 1000)}`)
        .catch((err) => deps.log.error({ err }, 'deadline check failed'));
    }
  };
  return {
    start() {
      timer = setInterval(tick, (deps.tickSeconds ?? 1) * 1000);
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

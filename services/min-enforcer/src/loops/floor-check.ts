/**
 * The periodic floor check: every `min_violation_check_interval`, a tick through the floor core
 * for every pool, its outputs published right after. A check is named after its interval
 * (`check/<pool>/<n>`, n = now / interval): replicas checking in the same interval share it,
 * and the later one gets the first one's outputs back, published again under the same ids.
 * One check at a time: a slow Redis must not stack them up. Outputs that could not be
 * published are sent first at the next check.
 */
import type { AnyScalewiseEvent } from '@scalewise/events';
import type { FloorRecords } from '../adapters/floor-records.ts';
import type { FloorPolicy } from '../core/index.ts';

export interface FloorCheckDeps {
  records: Pick<FloorRecords, 'apply'>;
  policies: ReadonlyMap<string, FloorPolicy>;
  publish: (...events: AnyScalewiseEvent[]) => Promise<unknown>;
  intervalMs: number;
  now: () => number;
  log: { error(o: object, m?: string): void };
}

export interface FloorCheck {
  /** Checks every pool now and publishes what the checks found (and what is left over). */
  check(): Promise<AnyScalewiseEvent[]>;
  /** Starts the periodic check. */
  start(): void;
  /** Stops it and waits for a check under way. */
  stop(): Promise<void>;
}

export function createFloorCheck(deps: FloorCheckDeps): FloorCheck {
  const { records, policies, publish, intervalMs, now, log } = deps;
  let unsent: AnyScalewiseEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  async function checkPools(t: number): Promise<AnyScalewiseEvent[]> {
    const outputs: AnyScalewiseEvent[] = [];
    for (const policy of policies.values()) {
      try {
        const tick = { type: 'tick', id: `check/${policy.name}/${Math.floor(t / intervalMs)}` } as const;
        outputs.push(...(await records.apply(policy, tick, undefined)).outputs);
      } catch (err) {
        log.error({ err, pool: policy.name }, 'floor check failed; the next one tries again');
      }
    }
    return outputs;
  }

  async function check(): Promise<AnyScalewiseEvent[]> {
    const outputs = await checkPools(now());
    const send = [...unsent, ...outputs];
    if (send.length > 0) {
      try {
        await publish(...send);
        unsent = [];
      } catch (err) {
        unsent = send;
        log.error(
          { err, events: send.length },
          'publishing the floor check failed; retried at the next check',
        );
      }
    }
    return outputs;
  }

  return {
    check,
    start() {
      timer ??= setInterval(() => {
        running = running.then(check, check);
      }, intervalMs);
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running.catch(() => undefined);
    },
  };
}

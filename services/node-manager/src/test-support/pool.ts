/**
 * Test support: what an integration test drives node-manager's pool with, and reads back.
 * Used by tests only (node-manager's, provisioner's).
 */
import assert from 'node:assert/strict';
import type { AnyScalewiseEvent, EventData, EventType } from '@scalewise/events';
import { createPoolStore } from '@scalewise/pool';
import { startFeeder } from '@scalewise/service/test-support';
import { type IntegrationFixture, type Stoppable, waitFor } from '@scalewise/testing';

/** What these helpers read of a recorder. */
export interface Recorded extends Stoppable {
  of(...types: string[]): AnyScalewiseEvent[];
}

/**
 * A publisher of the test's own on the config `yaml` (it also creates the topics), then a
 * recorder of the pool's `topics` (names after the prefix `<pool>.`), and the pool's record in
 * Redis as the service `as` reads and writes it. The cluster id is the pool's name.
 */
export async function drivePool<K, R extends Recorded>(
  fx: IntegrationFixture<K, R>,
  yaml: string,
  pool: string,
  { topics = ['nodes', 'actions'], as = 'state-sync' }: { topics?: readonly string[]; as?: string } = {},
) {
  const feeder = await startFeeder(fx, yaml);
  const rec = await fx.record(topics.map((topic) => `${pool}.${topic}`));
  const ledgers = createPoolStore<never, never>({ redis: feeder.bus.redis, clusterId: pool, service: as });
  return {
    rec,
    ledgers,
    ledger: async () => (await ledgers.get(pool)).ledger,
    feed: (...e: AnyScalewiseEvent[]) => feeder.bus.publisher.publish(...e),
  };
}

/** The data of the recorded events of `type`, in arrival order. */
export function dataOf<T extends EventType>(rec: Recorded, type: T): EventData<T>[] {
  return rec.of(type).map((e) => e.data as EventData<T>);
}

/**
 * Waits until exactly `count` events of `type` are recorded; returns their data.
 * @throws Error naming `what` past `timeoutMs` (@default 60 s).
 */
export async function recordedCount<T extends EventType>(
  rec: Recorded,
  type: T,
  count: number,
  what: string,
  timeoutMs = 60_000,
): Promise<EventData<T>[]> {
  await waitFor(() => rec.of(type).length === count, { timeoutMs, what });
  return dataOf(rec, type);
}

/**
 * Feeds `scaleDown` and waits for the test's one ScalingActionFailed, which must refuse it for
 * want of a node that may go (NO_ELIGIBLE_NODES); returns its message, which says why.
 * @throws Error naming `what` past `timeoutMs`.
 */
export async function refusedScaleDown(
  driven: { rec: Recorded; feed(...e: AnyScalewiseEvent[]): Promise<unknown> },
  scaleDown: AnyScalewiseEvent,
  what: string,
  timeoutMs: number,
): Promise<string> {
  await driven.feed(scaleDown);
  const [failed] = await recordedCount(driven.rec, 'io.scalewise.ScalingActionFailed', 1, what, timeoutMs);
  assert.ok(failed);
  assert.equal(failed.error_code, 'NO_ELIGIBLE_NODES');
  return failed.message;
}

/**
 * Test support: what state-sync wrote, read back the way another service reads it, for the
 * integration tests here and in e2e/ (a pods pool with node-manager beside it) that share them.
 */
import assert from 'node:assert/strict';
import type { Recorder } from '@scalewise/bus/test-support/recorder';
import type { EventData } from '@scalewise/events';
import { createPoolStore, type Ledger } from '@scalewise/pool';
import type { Service } from '@scalewise/service';

/** The pool record in Redis, as another service reads it (cluster id = pool name in these tests). */
export const recordsOf = (service: Service, cluster: string, as = 'test') =>
  createPoolStore<unknown, never>({ redis: service.bus.redis, clusterId: cluster, service: as });
export const ledgerOf = async (service: Service, cluster: string, pool = cluster): Promise<Ledger> =>
  (await recordsOf(service, cluster).get(pool)).ledger;

const syncedData = (rec: Recorder) =>
  rec
    .of('io.scalewise.ClusterStateSynced')
    .map((e) => e.data as EventData<'io.scalewise.ClusterStateSynced'>);

/** Every ClusterStateSynced recorded states one number in all four of its counts. */
export function assertSyncedAgree(rec: Recorder): void {
  for (const d of syncedData(rec)) {
    assert.deepEqual(
      [d.k8s_nodes, d.docker_containers, d.db_workers],
      [d.workers, d.workers, d.workers],
      `in sync with views that differ: ${JSON.stringify(d)}`,
    );
  }
}

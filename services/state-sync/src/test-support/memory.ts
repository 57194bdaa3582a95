/**
 * Test support: state-sync's stores in memory, for the unit tests of its shells (the
 * providers are packages/providers' fake). Each keeps its store's contract: one step per
 * input id, its outputs replayed for the same input.
 */
import type { AnyScalewiseEvent } from '@scalewise/events';
import {
  emptyLedger,
  type Ledger,
  type PoolRecord,
  type PoolStore as PoolRecordStore,
} from '@scalewise/pool';
import type { StateStore, Stored } from '@scalewise/state';
import type { PoolStore } from '../core/index.ts';

export function memoryPoolRecords(): PoolRecordStore<PoolStore, AnyScalewiseEvent> & {
  records: Map<string, PoolRecord<PoolStore>>;
} {
  const records = new Map<string, PoolRecord<PoolStore>>();
  const outbox = new Map<string, AnyScalewiseEvent[]>();
  const of = (pool: string): PoolRecord<PoolStore> =>
    records.get(pool) ?? { ledger: emptyLedger(pool), part: null, ledgerVersion: 0 };
  return {
    records,
    async apply(pool, inputId, step) {
      const cur = of(pool);
      const seen = outbox.get(`${pool}/${inputId}`);
      if (seen) return { outputs: seen, replayed: true, attempts: 1, ledger: cur.ledger };
      const r = step(structuredClone(cur.ledger) as Ledger, structuredClone(cur.part));
      records.set(pool, {
        ledger: r.ledger,
        part: r.part === undefined ? cur.part : r.part,
        ledgerVersion: cur.ledgerVersion + 1,
      });
      outbox.set(`${pool}/${inputId}`, r.outputs);
      return { outputs: r.outputs, replayed: false, attempts: 1, ledger: r.ledger };
    },
    get: async (pool) => structuredClone(of(pool)),
    delete: async (pool) => void records.delete(pool),
  };
}

export function memoryReadModel(): StateStore<PoolStore, never> & { copies: Map<string, Stored<PoolStore>> } {
  const copies = new Map<string, Stored<PoolStore>>();
  return {
    copies,
    async apply(key, _inputId, step) {
      const cur = copies.get(key);
      const r = step(cur ? structuredClone(cur.state) : null);
      const version = (cur?.version ?? 0) + 1;
      copies.set(key, { state: r.state, version });
      return { outputs: [], replayed: false, attempts: 1, version };
    },
    get: async (key) => copies.get(key) ?? null,
    delete: async (key) => void copies.delete(key),
  };
}

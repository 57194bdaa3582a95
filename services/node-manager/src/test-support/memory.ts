/**
 * Test support: node-manager's stores in memory, for the unit tests of its shells (the
 * providers are packages/providers' fake). The action store keeps the state store's contract:
 * one step per input id, its outputs replayed for the same input.
 */
import type { AnyScalewiseEvent } from '@scalewise/events';
import type { Applied, StepResult, Stored } from '@scalewise/state';
import type { ActionRecord, ActionStore } from '../adapters/action-records.ts';
import type { LedgerWriter } from '../adapters/ledger.ts';
import type { RunningIndex } from '../adapters/running.ts';

export function memoryActionStore(): ActionStore & { records: Map<string, Stored<ActionRecord>> } {
  const records = new Map<string, Stored<ActionRecord>>();
  const outbox = new Map<string, AnyScalewiseEvent[]>();
  return {
    records,
    async apply(key, inputId, step): Promise<Applied<AnyScalewiseEvent>> {
      const seen = outbox.get(`${key}/${inputId}`);
      const cur = records.get(key);
      if (seen) return { outputs: seen, replayed: true, attempts: 1, version: cur?.version ?? 0 };
      const r: StepResult<ActionRecord, AnyScalewiseEvent> = step(
        cur ? (structuredClone(cur.state) as ActionRecord) : null,
      );
      const version = (cur?.version ?? 0) + 1;
      records.set(key, { state: structuredClone(r.state), version });
      outbox.set(`${key}/${inputId}`, r.outputs);
      return { outputs: r.outputs, replayed: false, attempts: 1, version };
    },
    get: async (key) => {
      const cur = records.get(key);
      return cur ? { state: structuredClone(cur.state), version: cur.version } : null;
    },
    delete: async (key) => void records.delete(key),
  };
}

/** A ledger that states every batch as it is (no numbers of its own), and remembers them. */
export function passThroughLedger(): LedgerWriter & { batches: string[] } {
  const batches: string[] = [];
  return {
    batches,
    stated: async (batch, events) => {
      batches.push(batch);
      return events;
    },
  };
}

export function memoryRunningIndex(): RunningIndex & { ids: Set<string> } {
  const ids = new Set<string>();
  return {
    ids,
    add: async (id) => void ids.add(id),
    remove: async (id) => void ids.delete(id),
    has: async (id) => ids.has(id),
    list: async () => [...ids],
  };
}

/** A publisher that records what it publishes. */
export function recordingPublisher(): {
  published: AnyScalewiseEvent[];
  publish(...e: AnyScalewiseEvent[]): Promise<void>;
} {
  const published: AnyScalewiseEvent[] = [];
  return {
    published,
    publish: async (...events) => void published.push(...events),
  };
}

/** A logger that keeps nothing. */
export const silentLog = { info() {}, warn() {}, error() {} };

/**
 * One sync round: each pool's Kubernetes view (read first), then every pool's provider at
 * once, then per pool the listing into the ledger and the reconciliation in one
 * compare-and-set (core/reconcile.ts), its events published, and the read model's copy
 * written. Kubernetes first, then the provider: a worker created between the two reads is
 * within the registration grace, one gone between them is only a suspect.
 */
import type { PoolConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, createEvent, eventIdOf } from '@scalewise/events';
import type { PoolStore as PoolRecordStore } from '@scalewise/pool';
import type { StateStore } from '@scalewise/state';
import type { InstanceSource } from '../adapters/instances.ts';
import type { KubeViews, PoolView } from '../adapters/kube-views.ts';
import {
  type PoolStore,
  type ProviderView,
  reconcile,
  type SyncIntent,
  type SyncPolicy,
} from '../core/index.ts';

export interface SyncRoundDeps {
  pools: readonly PoolConfig[];
  views: Pick<KubeViews, 'views' | 'taken'>;
  instances: Pick<InstanceSource, 'list'>;
  /** The pool records: the ledger and state-sync's part. */
  records: PoolRecordStore<PoolStore, AnyScalewiseEvent>;
  /** The read model (a copy of state-sync's part). */
  store: StateStore<PoolStore, never>;
  publisher: { publish(...events: AnyScalewiseEvent[]): Promise<unknown> };
  policyOf(pool: PoolConfig): SyncPolicy;
  source: string;
  clusterId: string;
  now: () => number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** What a round remembers for the next. */
interface Memory {
  /** Pools whose provider could not be listed at the last try (said once per outage). */
  failing: Set<string>;
  /** Pool -> events recorded but not yet published (their publication failed): sent first next time. */
  unpublished: Map<string, AnyScalewiseEvent[]>;
}

async function providerView(deps: SyncRoundDeps, m: Memory, pool: PoolConfig): Promise<ProviderView> {
  const view = await deps.instances.list(pool);
  if (!Array.isArray(view)) {
    const v = view as Exclude<ProviderView, readonly unknown[]>;
    if (!m.failing.has(pool.name)) {
      m.failing.add(pool.name);
      deps.log.warn(
        { pool: pool.name, provider: pool.provider, code: v.code, err: v.message },
        "the provider's instances could not be listed: the pool is judged from Kubernetes alone until it answers",
      );
    }
    return view;
  }
  if (m.failing.delete(pool.name)) {
    deps.log.info({ pool: pool.name, provider: pool.provider }, "the provider's instances are listed again");
  }
  // A worker pod's end (finished, or deleted) is judged from the watch, which saw whether it
  // finished before anyone deleted it; the provider's not-alive pods cannot tell the two apart.
  return pool.provider === 'pods' ? view.filter((i) => i.alive) : view;
}

const toEvent = (deps: SyncRoundDeps, pool: string, e: SyncIntent, t: number): AnyScalewiseEvent =>
  createEvent(e.type, e.data, {
    source: deps.source,
    clusterid: deps.clusterId,
    id: eventIdOf(e.type, { pool, node: 'node_name' in e.data ? e.data.node_name : undefined, at: t }),
  }) as AnyScalewiseEvent;

async function publish(
  deps: SyncRoundDeps,
  m: Memory,
  pool: string,
  events: AnyScalewiseEvent[],
): Promise<void> {
  const due = [...(m.unpublished.get(pool) ?? []), ...events];
  if (due.length === 0) return;
  try {
    await deps.publisher.publish(...due);
    m.unpublished.delete(pool);
  } catch (err) {
    // Recorded in the ledger already: the next sync will not say them again, so keep them.
    m.unpublished.set(pool, due);
    throw err;
  }
}

/** The copy for the API and CLI; never older than the one there (replicas race). */
async function writeCopy(deps: SyncRoundDeps, pool: string, copy: PoolStore, t: number): Promise<void> {
  await deps.store
    .apply(pool, `sync/${t}`, (cur) => ({
      state: cur && (cur.lastSync ?? 0) > (copy.lastSync ?? 0) ? cur : copy,
      outputs: [],
    }))
    .catch((err) => deps.log.warn({ err, pool }, 'the read model was not written; the next sync writes it'));
}

/** The listing into the ledger and the reconciliation, one compare-and-set; then its events. */
async function syncPool(
  deps: SyncRoundDeps,
  m: Memory,
  view: PoolView,
  provider: ProviderView,
  t: number,
): Promise<AnyScalewiseEvent[]> {
  const { pool, completed, kube } = view;
  let part: PoolStore | undefined;
  const applied = await deps.records.apply(pool.name, `sync/${t}`, (ledger, stored) => {
    const r = reconcile({
      pool: pool.name,
      ledger,
      stored,
      nodes: kube,
      provider,
      completed,
      now: t,
      policy: deps.policyOf(pool),
    });
    part = r.store;
    return { ledger: r.ledger, part: r.store, outputs: r.events.map((e) => toEvent(deps, pool.name, e, t)) };
  });
  deps.views.taken(pool.name, completed);
  await publish(deps, m, pool.name, applied.outputs);
  if (part) await writeCopy(deps, pool.name, part, t);
  return applied.outputs;
}

/** Reconciles every pool now; returns what was published. */
export function createSyncRound(deps: SyncRoundDeps): () => Promise<AnyScalewiseEvent[]> {
  const m: Memory = { failing: new Set(), unpublished: new Map() };
  return async function sync() {
    const t = deps.now();
    const pending = deps.views.views();
    // All pools' providers at once: one slow or failing provider delays the round by its own
    // retries, not by theirs times the number of pools.
    const providers = await Promise.all(deps.pools.map((pool) => providerView(deps, m, pool)));
    const out: AnyScalewiseEvent[] = [];
    for (const [i, view] of pending.entries()) {
      out.push(...(await syncPool(deps, m, view, providers[i] as ProviderView, t)));
    }
    return out;
  };
}

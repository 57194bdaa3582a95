/**
 * The watches of providers whose workers are not nodes (pods): a worker Ready is applied to
 * the action that waits for it; a finished one, once its cleanup time has come, ends with
 * NodeRemoved (reason completed), caused by its last event in the action that made it, and
 * in the ledger as a departure by the action, never a loss. A worker that ended before it
 * was seen Ready: a success did its work (Ready in passing), a failure fails its action.
 */
import type { PoolConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, causedBy, createEvent, type ScalewiseEvent } from '@scalewise/events';
import type { WorkerChange, WorkerWatch } from '@scalewise/providers';
import { type ActionStore, tipOf } from '../adapters/action-records.ts';
import type { Observations } from '../handlers/observations.ts';

export interface WorkerWatchesDeps {
  watches: readonly WorkerWatch[];
  pools: ReadonlyMap<string, PoolConfig>;
  /** Worker -> the running action that waits for it. */
  waiting: ReadonlyMap<string, string>;
  store: ActionStore;
  observations: Pick<Observations, 'apply' | 'say'>;
  source: string;
  clusterId: string;
  log: { error(obj: object, msg: string): void };
}

export interface WorkerWatches {
  /** Starts every watch; resolves once each has its first list. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createWorkerWatches(deps: WorkerWatchesDeps): WorkerWatches {
  const { observations, log } = deps;

  async function finished(c: Extract<WorkerChange, { kind: 'finished' }>, pool: PoolConfig): Promise<void> {
    const actionId = deps.waiting.get(c.worker);
    if (actionId) {
      await observations.apply(
        actionId,
        c.phase === 'Succeeded'
          ? { kind: 'ready', node: c.worker }
          : {
              kind: 'failed',
              node: c.worker,
              code: 'WORKER_FAILED',
              message: `worker pod ${c.worker} failed before it was Ready`,
              retriable: true,
            },
        `${c.phase === 'Succeeded' ? 'ready' : 'failed'}/${c.worker}`,
      );
    }
    // Its end, caused by the worker's last event in the action that made it (when still stored).
    const owner = c.actionId ? ((await deps.store.get(c.actionId))?.state ?? null) : null;
    const parent = owner ? (tipOf(owner, c.worker) ?? owner.last ?? owner.decision) : null;
    const data = {
      pool: c.pool,
      node_name: c.worker,
      provider: pool.provider,
      action_id: c.actionId ?? c.worker,
      worker_kind: 'pod' as const,
      reason: 'completed' as const,
      pod_phase: c.phase,
      ...(c.taskId !== undefined ? { task_id: c.taskId } : {}),
    };
    const id = `${c.actionId ?? c.worker}/NodeRemoved/${c.worker}`;
    const event = parent
      ? causedBy(parent as ScalewiseEvent, 'io.scalewise.NodeRemoved', data, { source: deps.source, id })
      : createEvent('io.scalewise.NodeRemoved', data, { source: deps.source, id, clusterid: deps.clusterId });
    // The worker left by the action that made it: in the ledger, never a loss.
    await observations.say(id, [event as AnyScalewiseEvent]);
  }

  async function onChange(c: WorkerChange): Promise<void> {
    const pool = deps.pools.get(c.pool);
    if (!pool) return;
    if (c.kind === 'finished') return finished(c, pool);
    const actionId = deps.waiting.get(c.worker);
    if (actionId)
      await observations
        .apply(actionId, { kind: 'ready', node: c.worker }, `ready/${c.worker}`)
        .catch((err) => log.error({ err }, 'recording Ready failed'));
  }

  for (const w of deps.watches) w.on((change) => onChange(change));
  return {
    start: async () => void (await Promise.all(deps.watches.map((w) => w.start()))),
    stop: async () => void (await Promise.all(deps.watches.map((w) => w.stop()))),
  };
}

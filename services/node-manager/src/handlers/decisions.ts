/**
 * The decisions node-manager consumes (the catalogue's `scaling` ones: ScaleUpDecision,
 * ScaleDownDecision). A decision is applied to its action record (compare-and-set, keyed by
 * the decision id) and its first event (ScaleUpStarted / ScaleDownStarted), with the ledger's
 * numbers, is returned to the bus, which publishes it before committing the decision. The
 * commands of the step then run in the background. A redelivered decision finds its record
 * and starts nothing; a dry-run decision is logged and acknowledged.
 */
import type { Outputs } from '@scalewise/bus';
import type { PoolConfig } from '@scalewise/config';
import type { AnyScalewiseEvent, ScalewiseEvent } from '@scalewise/events';
import type { Provider } from '@scalewise/providers';
import { type ActionRecord, type ActionStore, editable, toEvents } from '../adapters/action-records.ts';
import type { LedgerWriter } from '../adapters/ledger.ts';
import type { Tracker } from '../adapters/running.ts';
import { type Action, type Command, type DecisionType, outstanding, start } from '../core/index.ts';
import { actionPolicyOf } from '../core/policy.ts';
import type { Log } from './observations.ts';

export type Decision = { [T in DecisionType]: ScalewiseEvent<T> }[DecisionType];

/** The nodes a scale-down removes, and why others may not go. */
export type Victims = { nodes: string[]; reason?: string };

export interface DecisionHandlerDeps {
  pools: ReadonlyMap<string, PoolConfig>;
  providers: Readonly<Record<string, Provider>>;
  store: ActionStore;
  ledger: LedgerWriter;
  tracker: Tracker;
  /** A scale-down's nodes re-checked on the cluster as it is now (adapters/cluster.ts). */
  recheck(pool: PoolConfig, named: readonly string[] | undefined, count: number): Promise<Victims>;
  /** Runs the commands once the handler has returned (the bus publishes the start meanwhile). */
  runLater(commands: Command[]): void;
  source: string;
  now: () => number;
  log: Log;
}

/** A scale-down's victims: idle worker pods, or nodes re-checked on the cluster. */
async function victimsOf(deps: DecisionHandlerDeps, pool: PoolConfig, event: Decision): Promise<Victims> {
  if (event.type !== 'io.scalewise.ScaleDownDecision') return { nodes: [] };
  const podWorkers = deps.providers[pool.provider]?.workers;
  if (!podWorkers) return deps.recheck(pool, event.data.nodes, event.data.count);
  // Worker pods: only idle ones go (the pods provider's watch), never one at work.
  const choice = podWorkers.idle(pool, event.data.count);
  return {
    nodes: choice.victims,
    ...(choice.refused.length
      ? { reason: choice.refused.map((r) => `${r.worker}: ${r.why}`).join('; ') }
      : {}),
  };
}

/** The decision's action started (or found) in its record: the start's events and commands. */
async function started(deps: DecisionHandlerDeps, pool: PoolConfig, event: Decision, victims: Victims) {
  let commands: Command[] = [];
  let action: Action | null = null;
  const policy = actionPolicyOf(pool, Boolean(deps.providers[pool.provider]?.workers));
  const applied = await deps.store.apply(event.id, event.id, (stored) => {
    const s = start(stored?.action ?? null, event, deps.now(), policy, victims);
    commands = s.commands;
    action = s.action;
    const rec: ActionRecord = stored
      ? editable(stored)
      : {
          action: s.action as Action,
          decision: event as AnyScalewiseEvent,
          started: null,
          said: {},
          last: null,
        };
    rec.action = s.action ?? rec.action;
    return { state: rec, outputs: toEvents(rec, s.events, deps.source) };
  });
  return { applied, commands, action: action as Action | null };
}

/** Whether a decision seen before is to be started (again): running, but not in the index. */
async function unfinished(deps: DecisionHandlerDeps, id: string): Promise<Action | null> {
  const rec = (await deps.store.get(id))?.state;
  if (rec?.action.phase !== 'running' || (await deps.tracker.index.has(id))) return null;
  return rec.action;
}

export function createDecisionHandler(deps: DecisionHandlerDeps): (event: Decision) => Promise<Outputs> {
  const { tracker, log } = deps;
  return async function onDecision(event) {
    const pool = deps.pools.get(event.data.pool);
    if (!pool) {
      log.warn(
        { pool: event.data.pool, event_id: event.id },
        'decision for a pool not in the configuration: ignored',
      );
      return [];
    }
    if (event.data.dry_run === true) {
      log.info(
        { pool: event.data.pool, event_id: event.id, type: event.type },
        'dry-run decision: nothing done',
      );
      return [];
    }
    let { applied, commands, action } = await started(deps, pool, event, await victimsOf(deps, pool, event));
    // The start and its victims are in the ledger before any command touches a node, and before
    // the action enters the running index: whoever runs its commands finds them there.
    const outputs = await deps.ledger.stated(event.id, applied.outputs);
    if (applied.replayed) {
      // Running but not indexed: the ledger write (or the index) failed after the record was
      // written, and this retry or redelivery is what is left to run its commands.
      action = await unfinished(deps, event.id);
      if (!action) {
        log.info({ action_id: event.id }, 'decision seen before: its action is not started again');
        return outputs;
      }
      commands = outstanding(action);
    }
    if (action) await tracker.track(action);
    deps.runLater(commands);
    return outputs;
  };
}

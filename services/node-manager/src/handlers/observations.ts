/**
 * What the commands, the watches and the deadline checks observe (created, Ready, drained,
 * removed, failed, a deadline passed), applied to the action record the same way a decision
 * is: one compare-and-set per observation, then the resulting events through the pool ledger
 * to the bus, each caused by the one before it in the action, then the commands of the step,
 * run in the background by `run`.
 */
import { randomUUID } from 'node:crypto';
import { type RetryPolicy, withRetry } from '@scalewise/bus';
import { ScalewiseError } from '@scalewise/errors';
import type { AnyScalewiseEvent } from '@scalewise/events';
import { type ActionStore, editable, toEvents } from '../adapters/action-records.ts';
import type { LedgerWriter } from '../adapters/ledger.ts';
import type { Tracker } from '../adapters/running.ts';
import { type Action, type Command, type Observation, observe } from '../core/index.ts';

export interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Observations {
  /**
   * Applies an observation to an action, publishes its events, runs its commands. Every
   * observation is a new input (the core ignores repeats: a node is Ready once), so one seen
   * too early, say Ready before its creation was recorded, does not hide a later one.
   * @throws ScalewiseError NOT_FOUND for an action not stored; the store's, the ledger's and
   *   the bus's errors (the caller logs them).
   */
  apply(actionId: string, o: Observation, label: string): Promise<void>;
  /** Publishes events by the bus's retry policy. @throws the bus's RETRIES_EXHAUSTED or a non-retriable error. */
  publish(events: AnyScalewiseEvent[]): Promise<void>;
  /** The ledger's version of a batch of events, then published. */
  say(batch: string, events: AnyScalewiseEvent[]): Promise<void>;
}

export interface ObservationsDeps {
  store: ActionStore;
  ledger: LedgerWriter;
  tracker: Tracker;
  publisher: { publish(...events: AnyScalewiseEvent[]): Promise<unknown> };
  /** The bus's policy (`events.retry`). */
  retry: RetryPolicy;
  /** Runs a command in the background (the command runner's). */
  run: (c: Command) => void;
  source: string;
  now: () => number;
  log: Log;
}

export function createObservations(deps: ObservationsDeps): Observations {
  const { store, ledger, tracker, log } = deps;

  async function publish(events: AnyScalewiseEvent[]): Promise<void> {
    try {
      await withRetry(() => deps.publisher.publish(...events), deps.retry);
    } catch (err) {
      log.error({ err, events: events.map((e) => e.id) }, 'publishing action events failed');
      throw err;
    }
  }

  async function apply(actionId: string, o: Observation, label: string): Promise<void> {
    const inputId = `${label}/${randomUUID()}`;
    let commands: Command[] = [];
    let next: Action | null = null;
    const applied = await store.apply(actionId, inputId, (stored) => {
      if (!stored) {
        throw new ScalewiseError('NOT_FOUND', `no action ${actionId} to apply '${o.kind}' to`, {
          details: { actionId },
        });
      }
      const rec = editable(stored);
      const s = observe(rec.action, o, deps.now());
      commands = s.commands;
      rec.action = s.action ?? rec.action;
      next = rec.action;
      return { state: rec, outputs: toEvents(rec, s.events, deps.source) };
    });
    if (applied.replayed) commands = [];
    if (applied.outputs.length > 0) await publish(await ledger.stated(inputId, applied.outputs));
    if (next) await tracker.track(next);
    for (const c of commands) deps.run(c);
  }

  return {
    apply,
    publish,
    say: async (batch, events) => publish(await ledger.stated(batch, events)),
  };
}

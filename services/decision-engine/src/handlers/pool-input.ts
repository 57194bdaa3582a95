/**
 * Every consumed event (signals, nodes, actions, state, triggers) through the pure core, one
 * pool at a time: the core reads all of them the same way (`decide(state, input, now)`), so
 * the shell has one handler for them, not one per family doing the same thing.
 *
 * The pool's numbers are its ledger's (packages/pool): the engine's own state of a pool lives
 * beside the ledger in the pool's record in Redis, and each step writes both, with the actions
 * it decided claimed in the ledger, in one compare-and-set. So two replicas, or this engine and
 * min-enforcer, never act on one deficit twice: concurrent events of one pool are applied one
 * after the other, each on the record the previous one left. An input that was applied
 * already (redelivered, or consumed by a second replica) gets the decisions stored with it,
 * under the same ids, never new ones.
 */
import type { Outputs } from '@scalewise/bus';
import { type AnyScalewiseEvent, causedBy, poolNamed, type ScalewiseEvent } from '@scalewise/events';
import { type Ledger, desiredOf as ledgerDesired, type PoolStore, pruned } from '@scalewise/pool';
import type { ServiceContext } from '@scalewise/service';
import {
  consumedEventTypes,
  decide,
  type EngineInput,
  type Intent,
  initialState,
  type PoolPolicy,
  type PoolState,
  storedState,
  triggerTypes,
} from '../core/index.ts';

/** Every type the engine consumes: the core's pool events and the external triggers. */
export const handledTypes = [...consumedEventTypes, ...triggerTypes] as const;
export type HandledType = (typeof handledTypes)[number];

export interface PoolInputDeps {
  store: PoolStore<PoolState, AnyScalewiseEvent>;
  policies: ReadonlyMap<string, PoolPolicy>;
  clusterId: string;
  /** The CloudEvents source of what the engine publishes. */
  source: string;
  telemetry: Pick<ServiceContext['telemetry'], 'logger' | 'metrics'>;
  now: () => number;
}

/** The handler of every consumed type: the decisions for one input, stored with it, to publish. */
export function createPoolInputHandler(deps: PoolInputDeps) {
  const { store, policies, clusterId, source, telemetry, now } = deps;
  // Every output is this cluster's, also when its input is a trigger that named no cluster.
  const toEvent = (input: ScalewiseEvent, intent: Intent): AnyScalewiseEvent =>
    causedBy(input, intent.type, intent.data, {
      source,
      id: intent.id,
      clusterid: clusterId,
    }) as AnyScalewiseEvent;
  /** A trigger naming another cluster is rejected (wrong_cluster); one naming none is ours. */
  const where = { clusterId };

  return async function handle(
    event: { [T in HandledType]: ScalewiseEvent<T> }[HandledType],
  ): Promise<Outputs> {
    const input: EngineInput = event;
    const name = poolNamed(event.data);
    const policy = name === undefined ? undefined : policies.get(name);
    const t = now();
    if (!policy) {
      // An unknown pool (or a trigger without one): nothing to keep; the core answers a
      // trigger with TriggerRejected and ignores anything else. Ids are derived from the
      // input's, so a redelivery publishes the same rejection.
      const { events } = decide(initialState([...policies.values()]), input, t, where);
      return events.map((i) => toEvent(event, i));
    }
    let written: PoolState | undefined;
    let ledgerAfter: Ledger | undefined;
    const applied = await store.apply(policy.name, event.id, (ledger, stored) => {
      const before = storedState(policy, stored, pruned(ledger, t), t);
      const { state, events } = decide(before, input, t, where);
      written = state.pools[policy.name];
      ledgerAfter = state.ledgers[policy.name] ?? ledger;
      return { ledger: ledgerAfter, part: written, outputs: events.map((i) => toEvent(event, i)) };
    });
    if (applied.replayed) {
      telemetry.logger.info(
        { event_id: event.id, pool: policy.name, outputs: applied.outputs.length },
        'input applied before: publishing its stored decisions again',
      );
    } else if (written && ledgerAfter) {
      const desired = ledgerDesired(ledgerAfter, t);
      if (desired !== null) telemetry.metrics.pools.desired(policy.name, desired);
      telemetry.metrics.pools.limits(policy.name, written.min, written.max);
    }
    return applied.outputs;
  };
}

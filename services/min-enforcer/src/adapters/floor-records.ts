/**
 * The pools' records in Redis as the floor reads and writes them: the pool's numbers are its
 * ledger's (packages/pool); the floor's own state (the violation, the back-off) is kept in the
 * pool's record beside the ledger, and both are written with one compare-and-set together with
 * the repair's claim. So two replicas, or this service and the decision engine, never repair
 * one deficit twice: the second one steps from the record the first left, where the repair is
 * already in flight. An input applied before gets its stored outputs back, under the same ids.
 */
import { type AnyScalewiseEvent, causedBy, createEvent, type ScalewiseEvent } from '@scalewise/events';
import { type Ledger, type PoolApplied, type PoolStore, pruned } from '@scalewise/pool';
import {
  type EnforcerInput,
  type EnforcerIntent,
  enforce,
  type FloorPolicy,
  type FloorPoolState,
  initialEnforcerState,
} from '../core/index.ts';

export interface FloorRecordsDeps {
  store: PoolStore<FloorPoolState, AnyScalewiseEvent>;
  clusterId: string;
  /** The CloudEvents source of what min-enforcer publishes. */
  source: string;
  now: () => number;
}

export interface FloorRecords {
  /**
   * One input (an event, or a tick) through the floor core with the pool's record; the
   * outputs are caused by `parent` when there is one.
   */
  apply(
    policy: FloorPolicy,
    input: EnforcerInput,
    parent: ScalewiseEvent | undefined,
  ): Promise<PoolApplied<AnyScalewiseEvent>>;
  /** The floor state (with the configured policy) and the pool's ledger as stored. */
  read(policy: FloorPolicy): Promise<{ floor: FloorPoolState; ledger: Ledger }>;
}

export function createFloorRecords(deps: FloorRecordsDeps): FloorRecords {
  const { store, clusterId, source, now } = deps;

  /** The stored floor state with the configured policy (the ledger's limits say what is in force). */
  const current = (policy: FloorPolicy, stored: FloorPoolState | null): FloorPoolState =>
    stored ? { ...stored, policy } : (initialEnforcerState([policy]).pools[policy.name] as FloorPoolState);

  const toEvent = (parent: ScalewiseEvent | undefined, intent: EnforcerIntent): AnyScalewiseEvent =>
    (parent
      ? // This cluster's, also when the parent is a trigger.update that named no cluster.
        causedBy(parent, intent.type, intent.data, { source, id: intent.id, clusterid: clusterId })
      : createEvent(intent.type, intent.data, {
          source,
          id: intent.id,
          clusterid: clusterId,
        })) as AnyScalewiseEvent;

  return {
    async apply(policy, input, parent) {
      const t = now();
      return store.apply(policy.name, input.id, (ledger, stored) => {
        const pool = current(policy, stored);
        const { state, events } = enforce(
          { pools: { [policy.name]: pool }, ledgers: { [policy.name]: pruned(ledger, t) } },
          input,
          t,
        );
        return {
          ledger: state.ledgers[policy.name] ?? ledger,
          part: state.pools[policy.name] ?? pool,
          outputs: events.map((i) => toEvent(parent, i)),
        };
      });
    },
    async read(policy) {
      const stored = await store.get(policy.name);
      return { floor: current(policy, stored.part), ledger: stored.ledger };
    },
  };
}

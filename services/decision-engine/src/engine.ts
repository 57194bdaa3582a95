/**
 * The decision engine's shell: every consumed event goes through the pure core with the pool's
 * state from Redis, and the decisions it returns are published before the input is committed.
 *
 * The pool's numbers are its ledger's (packages/pool): the engine's own state of a pool lives
 * beside the ledger in the pool's record in Redis, and each step writes both, with the actions
 * it decided claimed in the ledger, in one compare-and-set. So two replicas, or this engine and
 * min-enforcer, never act on one deficit twice: concurrent events of one pool are applied one
 * after the other, each on the record the previous one left. An input that was applied
 * already (redelivered, or consumed by a second replica) gets the decisions stored with it,
 * under the same ids, never new ones.
 */
import { type HandlerRegistry, handlersFor, type Outputs } from '@scalewise/bus';
import { type AnyScalewiseEvent, causedBy, type ScalewiseEvent } from '@scalewise/events';
import {
  createPoolStore,
  type Hold,
  holdAt,
  type Ledger,
  desiredOf as ledgerDesired,
  type PoolStore,
  pruned,
} from '@scalewise/pool';
import type { ServiceContext } from '@scalewise/service';
import {
  consumedEventTypes,
  decide,
  type EngineInput,
  type Intent,
  initialState,
  type PoolPolicy,
  type PoolState,
  triggerTypes,
  viewOf,
  withPolicies,
} from './core/index.ts';
import { poolPolicies } from './policies.ts';

export const serviceName = 'decision-engine';
export const handledTypes = [...consumedEventTypes, ...triggerTypes] as const;
export type HandledType = (typeof handledTypes)[number];

export interface DecisionEngine {
  handlers: HandlerRegistry<HandledType>;
  store: PoolStore<PoolState, AnyScalewiseEvent>;
  policies: ReadonlyMap<string, PoolPolicy>;
  /**
   * The state of a pool as the engine sees it (its own, with the ledger's numbers) and the
   * trigger target in force (pursued, or held and not over), or null for an unknown pool.
   */
  poolState(pool: string): Promise<{ state: PoolState; ledger: Ledger; hold: Hold | null } | null>;
}

export interface DecisionEngineOptions {
  /** The clock (tests). @default Date.now */
  now?: () => number;
}

const poolOf = (data: unknown): string | undefined => {
  const p = (data as { pool?: unknown } | null)?.pool;
  return typeof p === 'string' ? p : undefined;
};

export function createDecisionEngine(
  ctx: ServiceContext,
  options: DecisionEngineOptions = {},
): DecisionEngine {
  const { config, bus, telemetry } = ctx;
  const now = options.now ?? Date.now;
  const policies = new Map(poolPolicies(config).map((p) => [p.name, p]));
  const source = `/scalewise/${config.cluster_id}/${serviceName}`;
  const store = createPoolStore<PoolState, AnyScalewiseEvent>({
    redis: bus.redis,
    clusterId: config.cluster_id,
    service: serviceName,
    call: (fn) => bus.breakers.redis.call(fn),
  });
  for (const p of policies.values()) telemetry.metrics.pools.limits(p.name, p.min, p.max);

  /** The stored pool with the configured policy applied (a config change takes effect here). */
  const current = (policy: PoolPolicy, stored: PoolState | null, ledger: Ledger, t: number) => {
    const base = stored
      ? { pools: { [policy.name]: stored }, ledgers: { [policy.name]: ledger } }
      : initialState([policy], {}, { [policy.name]: ledger }, t);
    return withPolicies(base, [policy]);
  };

  // Every output is this cluster's, also when its input is a trigger that named no cluster.
  const toEvent = (input: ScalewiseEvent, intent: Intent): AnyScalewiseEvent =>
    causedBy(input, intent.type, intent.data, {
      source,
      id: intent.id,
      clusterid: config.cluster_id,
    }) as AnyScalewiseEvent;
  /** A trigger naming another cluster is rejected (wrong_cluster); one naming none is ours. */
  const where = { clusterId: config.cluster_id };

  async function handle(event: { [T in HandledType]: ScalewiseEvent<T> }[HandledType]): Promise<Outputs> {
    const input: EngineInput = event;
    const name = poolOf(event.data);
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
      const before = current(policy, stored, pruned(ledger, t), t);
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
  }

  const handlers: HandlerRegistry<HandledType> = handlersFor(handledTypes, handle);
  return {
    handlers,
    store,
    policies,
    async poolState(pool) {
      const policy = policies.get(pool);
      if (!policy) return null;
      const stored = await store.get(pool);
      const t = now();
      const state = current(policy, stored.part, stored.ledger, t).pools[pool];
      return state
        ? { state: viewOf(state, stored.ledger, t), ledger: stored.ledger, hold: holdAt(stored.ledger, t) }
        : null;
    },
  };
}

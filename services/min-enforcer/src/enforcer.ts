/**
 * min-enforcer's shell: node lifecycle and state events, and a periodic check every
 * `min_violation_check_interval`, go through the pure floor core with the pool's state from
 * Redis; what it returns is published before the input is committed (events) or right after
 * the check (ticks).
 *
 * The pool's numbers are its ledger's (packages/pool): the floor's own state (the violation,
 * the back-off) is kept in the pool's record beside the ledger, and both are written with one
 * compare-and-set together with the repair's claim. So two replicas, or this service and the
 * decision engine, never repair one deficit twice: the second one steps from the record the
 * first left, where the repair is already in flight. A check is named after its interval
 * (`check/<pool>/<n>`, n = now / interval): replicas checking in the same interval share it,
 * and the later one gets the first one's outputs back, published again under the same ids.
 */
import { type HandlerRegistry, handlersFor, type Outputs } from '@scalewise/bus';
import type { Config, PoolConfig } from '@scalewise/config';
import {
  type AnyScalewiseEvent,
  causedBy,
  createEvent,
  isForCluster,
  type ScalewiseEvent,
  triggerData,
} from '@scalewise/events';
import { createPoolStore, type Ledger, type PoolStore, pruned } from '@scalewise/pool';
import type { ServiceContext } from '@scalewise/service';
import {
  defineFloorPolicy,
  type EnforcerInput,
  type EnforcerIntent,
  enforce,
  enforcerEventTypes,
  type FloorPolicy,
  type FloorPoolState,
  initialEnforcerState,
} from './core/index.ts';

export const serviceName = 'min-enforcer';
export type HandledType = (typeof enforcerEventTypes)[number];

export function floorPolicy(pool: PoolConfig, config: Config): FloorPolicy {
  const e = config.autoscaler.enforcement;
  return defineFloorPolicy({
    name: pool.name,
    min: pool.min,
    max: pool.max,
    autoScaleToMin: e.auto_scale_to_min,
    checkIntervalSeconds: e.min_violation_check_interval,
    emergencyScaleThreshold: e.emergency_scale_threshold,
    emergencyWindowSeconds: e.emergency_window_seconds,
    actionTimeoutSeconds: pool.action_timeout_seconds,
    allowedTriggerSources: pool.allowed_trigger_sources,
    dryRun: pool.dry_run,
  });
}

export interface MinEnforcer {
  handlers: HandlerRegistry<HandledType>;
  store: PoolStore<FloorPoolState, AnyScalewiseEvent>;
  policies: ReadonlyMap<string, FloorPolicy>;
  /** Checks every pool now (the timer calls this) and publishes what the checks found. */
  check(): Promise<AnyScalewiseEvent[]>;
  /** Starts the periodic check. */
  start(): void;
  stop(): Promise<void>;
  /** The floor state and the pool's ledger as stored (null: not a configured pool). */
  poolState(pool: string): Promise<{ floor: FloorPoolState; ledger: Ledger } | null>;
}

export interface MinEnforcerOptions {
  /** @default Date.now */
  now?: () => number;
}

const poolOf = (data: unknown): string | undefined => {
  const p = (data as { pool?: unknown } | null)?.pool;
  return typeof p === 'string' ? p : undefined;
};

export function createMinEnforcer(ctx: ServiceContext, options: MinEnforcerOptions = {}): MinEnforcer {
  const { config, bus, telemetry } = ctx;
  const log = telemetry.logger;
  const now = options.now ?? Date.now;
  const policies = new Map(config.autoscaler.pools.map((p) => [p.name, floorPolicy(p, config)]));
  const source = `/scalewise/${config.cluster_id}/${serviceName}`;
  const intervalMs = config.autoscaler.enforcement.min_violation_check_interval * 1000;
  const store = createPoolStore<FloorPoolState, AnyScalewiseEvent>({
    redis: bus.redis,
    clusterId: config.cluster_id,
    service: serviceName,
    call: (fn) => bus.breakers.redis.call(fn),
  });

  /** The stored floor state with the configured policy (the ledger's limits say what is in force). */
  const current = (policy: FloorPolicy, stored: FloorPoolState | null): FloorPoolState =>
    stored ? { ...stored, policy } : (initialEnforcerState([policy]).pools[policy.name] as FloorPoolState);

  const toEvent = (parent: ScalewiseEvent | undefined, intent: EnforcerIntent): AnyScalewiseEvent =>
    (parent
      ? // This cluster's, also when the parent is a trigger.update that named no cluster.
        causedBy(parent, intent.type, intent.data, { source, id: intent.id, clusterid: config.cluster_id })
      : createEvent(intent.type, intent.data, {
          source,
          id: intent.id,
          clusterid: config.cluster_id,
        })) as AnyScalewiseEvent;

  async function apply(policy: FloorPolicy, input: EnforcerInput, parent: ScalewiseEvent | undefined) {
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
  }

  async function handle(event: { [T in HandledType]: ScalewiseEvent<T> }[HandledType]): Promise<Outputs> {
    // A trigger.update comes from outside as sent (docs/triggers.md): one for another cluster,
    // or whose data breaks the schema, changes nothing here (the decision engine answers it
    // with TriggerRejected).
    let input: EnforcerInput;
    if (event.type === 'io.scalewise.trigger.update') {
      if (!isForCluster(event, config.cluster_id)) return [];
      const data = triggerData(event.type, event.data);
      if (data === undefined) return [];
      // The core reads the data as checked: the catalogue's shape, not the wire's.
      input = { id: event.id, type: event.type, source: event.source, data };
    } else {
      input = event;
    }
    const name = poolOf(event.data);
    const policy = name === undefined ? undefined : policies.get(name);
    if (!policy) return [];
    const applied = await apply(policy, input, event);
    return applied.outputs;
  }

  // Outputs of a check that could not be published yet: sent first at the next check.
  let unsent: AnyScalewiseEvent[] = [];
  async function check(): Promise<AnyScalewiseEvent[]> {
    const t = now();
    const outputs: AnyScalewiseEvent[] = [];
    for (const policy of policies.values()) {
      try {
        const applied = await apply(
          policy,
          { type: 'tick', id: `check/${policy.name}/${Math.floor(t / intervalMs)}` },
          undefined,
        );
        outputs.push(...applied.outputs);
      } catch (err) {
        log.error({ err, pool: policy.name }, 'floor check failed; the next one tries again');
      }
    }
    const send = [...unsent, ...outputs];
    if (send.length > 0) {
      try {
        await bus.publisher.publish(...send);
        unsent = [];
      } catch (err) {
        unsent = send;
        log.error(
          { err, events: send.length },
          'publishing the floor check failed; retried at the next check',
        );
      }
    }
    return outputs;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const handlers: HandlerRegistry<HandledType> = handlersFor(enforcerEventTypes, handle);
  return {
    handlers,
    store,
    policies,
    check,
    start() {
      timer ??= setInterval(() => {
        // One check at a time: a slow Redis must not stack them up.
        running = running.then(check, check);
      }, intervalMs);
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running.catch(() => undefined);
    },
    async poolState(pool) {
      const policy = policies.get(pool);
      if (!policy) return null;
      const stored = await store.get(pool);
      return { floor: current(policy, stored.part), ledger: stored.ledger };
    },
  };
}

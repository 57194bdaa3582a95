/**
 * node-manager's shell: decisions in, the pure action core (src/core) in the middle, the
 * provider and the Kubernetes API out.
 *
 * - A decision is applied to its action record (Redis, compare-and-set, keyed by the decision
 *   id) and its first event (ScaleUpStarted / ScaleDownStarted) is returned to the bus, which
 *   publishes it before committing the decision. A redelivered decision finds its record and
 *   starts nothing; a dry-run decision is logged and acknowledged.
 * - The commands of the step (create, drain, remove, uncordon) then run in the background;
 *   what they and the node watch observe (created, Ready, drained, removed, failed, deadlines)
 *   is applied to the record the same way and the resulting events are published, each caused
 *   by the one before it in the action.
 * - Every batch of events goes through the pool ledger (packages/pool) before it is published:
 *   its facts (an action started with its victims, a node joined or left, an action ended) are
 *   written there first, and the numbers it states (previous_workers, target_workers,
 *   new_workers) are the ledger's, not the decision's. A start is in the ledger before any of
 *   its commands runs, so no victim's departure is ever taken for a loss.
 * - Running actions are indexed in Redis; a restarted node-manager re-issues what each still
 *   needs (creation is idempotent by the worker names the core derives from the decision id).
 */

import { randomUUID } from 'node:crypto';
import { type HandlerRegistry, handlersFor, type Outputs } from '@scalewise/bus';
import type { PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import {
  type AnyScalewiseEvent,
  causedBy,
  createEvent,
  eventIdOf,
  type ScalewiseEvent,
  scalingTypes,
} from '@scalewise/events';
import {
  blockerOf,
  chooseVictims,
  drain,
  type Kube,
  nodeCache,
  POOL_LABEL,
  projectNode,
  projectPdb,
  projectPod,
  snapshotOf,
  uncordon,
} from '@scalewise/kube';
import { createPoolStore, pruned, recordFacts } from '@scalewise/pool';
import type { Provider, WorkerChange } from '@scalewise/providers';
import { planRemoval } from '@scalewise/scheduling';
import type { ServiceContext } from '@scalewise/service';
import { createStateStore } from '@scalewise/state';
import {
  type Action,
  type ActionIntent,
  type ActionPolicy,
  type Command,
  type DecisionType,
  type Observation,
  observe,
  outstanding,
  start,
} from './core/index.ts';

export const serviceName = 'node-manager';
/** The decisions node-manager consumes: the catalogue's `scaling` ones. */
export const decisionTypes: readonly DecisionType[] = scalingTypes;

/** What is kept per action: the core's state and the events that chain its outputs. */
export interface ActionRecord {
  action: Action;
  decision: AnyScalewiseEvent;
  started: AnyScalewiseEvent | null;
  /**
   * Every event per node, in order: the last is the parent of the node's next event. Two
   * observations of one node are applied concurrently, so a process killed after writing both
   * may have published the second only; a restart says the whole chain again.
   */
  said?: Record<string, AnyScalewiseEvent[]>;
  /** The last event per node, in records written before `said`: read, never written. */
  tips?: Record<string, AnyScalewiseEvent>;
  /** The action's last event. */
  last: AnyScalewiseEvent | null;
}

/** The last event said about `node` in an action, if any. */
const tipOf = (rec: ActionRecord, node: string): AnyScalewiseEvent | undefined =>
  rec.said?.[node]?.at(-1) ?? rec.tips?.[node];

export interface NodeManager {
  handlers: HandlerRegistry<(typeof decisionTypes)[number]>;
  start(): Promise<void>;
  stop(): Promise<void>;
  record(actionId: string): Promise<ActionRecord | null>;
  /** Actions still running (the index). */
  running(): Promise<string[]>;
}

export interface NodeManagerDeps {
  kube: Kube;
  providers: Record<string, Provider>;
  now?: () => number;
  /** Seconds between deadline checks. @default 1 */
  tickSeconds?: number;
}

export function createNodeManager(ctx: ServiceContext, deps: NodeManagerDeps): NodeManager {
  const { config, bus, telemetry } = ctx;
  const log = telemetry.logger;
  const now = deps.now ?? Date.now;
  const source = `/scalewise/${config.cluster_id}/${serviceName}`;
  const ns = `scalewise:${config.cluster_id}:${serviceName}`;
  const runningKey = `${ns}:running`;
  const pools = new Map(config.autoscaler.pools.map((p) => [p.name, p]));
  const store = createStateStore<ActionRecord, AnyScalewiseEvent>({
    redis: bus.redis,
    namespace: ns,
    call: (fn) => bus.breakers.redis.call(fn),
  });
  // The pool ledger every service shares; node-manager keeps no part of its own beside it.
  const ledgers = createPoolStore<never, AnyScalewiseEvent>({
    redis: bus.redis,
    clusterId: config.cluster_id,
    service: serviceName,
    call: (fn) => bus.breakers.redis.call(fn),
  });
  const policyOf = (pool: PoolConfig): ActionPolicy => ({
    // Fail before the decision engine stops counting the action (action_timeout_seconds).
    readyTimeoutSeconds: Math.max(10, Math.floor(pool.action_timeout_seconds * 0.5)),
    drainTimeoutSeconds: Math.max(10, Math.floor(pool.action_timeout_seconds * 0.9)),
    ...(deps.providers[pool.provider]?.workers ? { workerKind: 'pod' as const } : {}),
  });
  const providerOf = (pool: PoolConfig): Provider => {
    const p = deps.providers[pool.provider];
    if (!p) {
      throw new ScalewiseError(
        'INVALID_CONFIG',
        `pool '${pool.name}': provider '${pool.provider}' is not available in this node-manager`,
        {
          details: { pool: pool.name, provider: pool.provider },
        },
      );
    }
    return p;
  };
  /** Node -> the running action that waits for it. */
  const waiting = new Map<string, string>();

  function toEvents(rec: ActionRecord, intents: ActionIntent[]): AnyScalewiseEvent[] {
    const out: AnyScalewiseEvent[] = [];
    for (const i of intents) {
      const node = (i.data as { node_name?: string }).node_name;
      const terminal =
        i.type === 'io.scalewise.ScalingActionCompleted' || i.type === 'io.scalewise.ScalingActionFailed';
      const parent = terminal
        ? (rec.last ?? rec.decision)
        : node
          ? (tipOf(rec, node) ?? rec.started ?? rec.decision)
          : rec.decision;
      const e = causedBy(parent as ScalewiseEvent, i.type, i.data, {
        source,
        id: eventIdOf(i.type, { from: rec.action.id, node }),
      }) as AnyScalewiseEvent;
      if (i.type === 'io.scalewise.ScaleUpStarted' || i.type === 'io.scalewise.ScaleDownStarted')
        rec.started = e;
      if (node) rec.said = { ...rec.said, [node]: [...(rec.said?.[node] ?? []), e] };
      rec.last = e;
      out.push(e);
    }
    return out;
  }

  /**
   * Writes the facts a batch of one pool's events states into the pool ledger and gives the
   * events back with the ledger's numbers, to publish. `batch` names the batch in the pool
   * store's outbox: the same batch again (a redelivered decision) gets the same events back,
   * numbers included, however the ledger moved on since. A pool no longer configured (an action
   * resumed after it was removed) is not ours to write about: its events go out as they are.
   * @throws ScalewiseError DEPENDENCY_UNAVAILABLE or CONFLICT (retriable), as the pool store.
   */
  async function stated(batch: string, events: AnyScalewiseEvent[]): Promise<AnyScalewiseEvent[]> {
    const name = (events[0]?.data as { pool?: string } | undefined)?.pool;
    const pool = name === undefined ? undefined : pools.get(name);
    if (!pool) return events;
    const t = now();
    const applied = await ledgers.apply(pool.name, `facts/${batch}`, (ledger) => {
      const r = recordFacts(pruned(ledger, t), events, t, pool.action_timeout_seconds * 1000);
      return { ledger: r.ledger, outputs: r.events };
    });
    return applied.outputs;
  }

  /** Running action -> its deadline: only an action past it needs a deadline check. */
  const deadlines = new Map<string, number>();
  // The running index holds every action with work left: a running one, and a failed
  // scale-up until its unjoined workers are deleted (a restart issues what is left).
  const track = async (a: Action) => {
    if (a.phase === 'running') {
      deadlines.set(a.id, a.deadline);
      await bus.breakers.redis.call(() => bus.redis.sadd(runningKey, a.id));
      for (const [n, s] of Object.entries(a.nodes))
        if (s.state === 'requested' || s.state === 'created') waiting.set(n, a.id);
    } else {
      deadlines.delete(a.id);
      const left = outstanding(a).length > 0;
      await bus.breakers.redis.call(() =>
        left ? bus.redis.sadd(runningKey, a.id) : bus.redis.srem(runningKey, a.id),
      );
      for (const n of Object.keys(a.nodes)) if (waiting.get(n) === a.id) waiting.delete(n);
    }
  };

  /**
   * Applies an observation to an action, publishes its events, runs its commands. Every
   * observation is a new input (the core ignores repeats: a node is Ready once), so one seen
   * too early, say Ready before its creation was recorded, does not hide a later one.
   */
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
      const rec: ActionRecord = { ...stored, said: { ...stored.said } };
      const s = observe(rec.action, o, now());
      commands = s.commands;
      rec.action = s.action ?? rec.action;
      next = rec.action;
      return { state: rec, outputs: toEvents(rec, s.events) };
    });
    if (applied.replayed) commands = [];
    if (applied.outputs.length > 0) await publish(await stated(inputId, applied.outputs));
    if (next) await track(next);
    for (const c of commands) void run(c);
  }

  async function publish(events: AnyScalewiseEvent[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await bus.publisher.publish(...events);
        return;
      } catch (err) {
        if (attempt >= 5) {
          log.error({ err, events: events.map((e) => e.id) }, 'publishing action events failed');
          throw err;
        }
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  const failure = (err: unknown): Observation => {
    const e = err instanceof ScalewiseError ? err : undefined;
    return {
      kind: 'failed',
      code: (e?.details.reason as string | undefined) ?? e?.code ?? 'PROVIDER_ERROR',
      message: (err as Error).message,
      retriable: e?.retriable ?? true,
    };
  };

  async function run(c: Command): Promise<void> {
    const pool = pools.get(c.pool);
    if (!pool) return;
    try {
      switch (c.kind) {
        case 'create': {
          for (const n of c.nodes) waiting.set(n, c.actionId);
          const made = await withRetry(() =>
            providerOf(pool).create(pool, c.nodes, c.actionId, {
              ...(c.taskId ? { taskId: c.taskId } : {}),
              ...(c.zones ? { zones: c.zones } : {}),
            }),
          );
          for (const m of made) {
            await apply(
              c.actionId,
              { kind: 'created', node: m.node, providerId: m.providerId, provider: pool.provider },
              `created/${m.node}`,
            );
          }
          // A node the watch saw Ready before its creation was recorded raises no new update:
          // look in the watch's cache (an update it has not seen yet still comes later).
          for (const m of made) {
            if (isReady(pool, m.node)) {
              await apply(c.actionId, { kind: 'ready', node: m.node }, `ready/${m.node}`);
            }
          }
          return;
        }
        case 'drain': {
          if (providerOf(pool).workers) {
            // A worker pod is not a node: nothing to cordon or evict (it was chosen idle).
            await apply(c.actionId, { kind: 'drained', node: c.node, evictedPods: 0 }, `drained/${c.node}`);
            return;
          }
          const r = await drain(deps.kube, c.node, {
            timeoutMs: policyOf(pool).drainTimeoutSeconds * 1000 * 0.8,
          });
          await apply(
            c.actionId,
            { kind: 'drained', node: c.node, evictedPods: r.evicted.length },
            `drained/${c.node}`,
          );
          return;
        }
        case 'remove': {
          const { existed } = await withRetry(() => providerOf(pool).remove(pool, c.node));
          await apply(
            c.actionId,
            { kind: 'removed', node: c.node, provider: pool.provider, existed },
            `removed/${c.node}`,
          );
          return;
        }
        case 'uncordon':
          await withRetry(() => uncordon(deps.kube, c.node));
          return;
      }
    } catch (err) {
      log.error({ err, command: c.kind, action_id: c.actionId }, 'action command failed');
      await apply(
        c.actionId,
        { ...failure(err), ...('node' in c ? { node: c.node } : {}) } as Observation,
        `failed/${c.kind}/${'node' in c ? c.node : c.nodes.join(',')}`,
      ).catch((e) => log.error({ err: e }, 'recording the failure failed'));
    }
  }

  async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const retriable = !(err instanceof ScalewiseError) || err.retriable;
        // A provider that retried by the bus's policy already (external) is not retried again.
        const retried = err instanceof ScalewiseError && err.details.retried === true;
        if (!retriable || retried || attempt >= 4) throw err;
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  }

  /**
   * The nodes a scale-down removes, re-checked on the cluster as the API serves it now (not the
   * state the decision saw): the decision's nodes in its order (or, for a decision that names
   * none, the least used nodes of the pool), each kept only if the scheduling simulation still
   * places every one of its pods on the nodes that stay, within the PDBs and the pool's pressure
   * thresholds. A refused node is named with the pod and constraint that keeps it.
   */
  async function recheckVictims(
    pool: PoolConfig,
    named: readonly string[] | undefined,
    count: number,
  ): Promise<{ nodes: string[]; reason?: string }> {
    const [nodeList, podList, pdbList] = await Promise.all([
      deps.kube.core.listNode({}),
      deps.kube.core.listPodForAllNamespaces({}),
      deps.kube.policy.listPodDisruptionBudgetForAllNamespaces({}),
    ]);
    const nodes = nodeList.items.map(projectNode);
    const pods = podList.items.map(projectPod);
    const poolNodes = nodes.filter((n) => n.labels[POOL_LABEL] === pool.name);
    const ranked = chooseVictims(poolNodes, pods, poolNodes.length);
    const disabled = new Map(
      ranked.refused.filter((r) => r.reason === 'SCALE_DOWN_DISABLED').map((r) => [r.node, r.why]),
    );
    const known = new Set(poolNodes.map((n) => n.name));
    const refusals: string[] = [];
    const candidates: string[] = [];
    for (const n of named ?? ranked.ranked.map((r) => r.node)) {
      if (!known.has(n)) refusals.push(`${n}: no longer a node of the pool`);
      else if (disabled.has(n)) refusals.push(`${n}: ${disabled.get(n)}`);
      else candidates.push(n);
    }
    const plan = planRemoval({
      snapshot: snapshotOf(nodes, pods, pdbList.items.map(projectPdb)),
      candidates,
      blocker: blockerOf,
      maxRemovals: count,
      headroom: {
        [pool.name]: {
          cpu: pool.thresholds.cpu_high_percent / 100,
          memory: pool.thresholds.memory_high_percent / 100,
        },
      },
    });
    for (const b of plan.blocked) refusals.push(`${b.node}: ${b.reason.message}`);
    const chosen = plan.removable.map((r) => r.node);
    if (refusals.length > 0)
      log.info(
        { pool: pool.name, decided: named, removed: chosen, refused: refusals },
        'scale-down re-checked on the cluster as it is now: some nodes stay',
      );
    return {
      nodes: chosen,
      ...(refusals.length
        ? {
            reason: `re-checked on the cluster as it is now, no node may be removed: ${refusals.join('; ')}`,
          }
        : {}),
    };
  }

  async function onDecision(
    event: { [T in DecisionType]: ScalewiseEvent<T> }[DecisionType],
  ): Promise<Outputs> {
    const data = event.data;
    const pool = pools.get(data.pool);
    if (!pool) {
      log.warn(
        { pool: data.pool, event_id: event.id },
        'decision for a pool not in the configuration: ignored',
      );
      return [];
    }
    if (data.dry_run === true) {
      log.info({ pool: data.pool, event_id: event.id, type: event.type }, 'dry-run decision: nothing done');
      return [];
    }
    let victims: { nodes: string[]; reason?: string } = { nodes: [] };
    const podWorkers = deps.providers[pool.provider]?.workers;
    if (event.type === 'io.scalewise.ScaleDownDecision' && podWorkers) {
      // Worker pods: only idle ones go (providers/pods.ts), never one at work.
      const choice = podWorkers.idle(pool, event.data.count);
      victims = {
        nodes: choice.victims,
        ...(choice.refused.length
          ? { reason: choice.refused.map((r) => `${r.worker}: ${r.why}`).join('; ') }
          : {}),
      };
    } else if (event.type === 'io.scalewise.ScaleDownDecision') {
      victims = await recheckVictims(pool, event.data.nodes, event.data.count);
    }
    let commands: Command[] = [];
    let action: Action | null = null;
    const applied = await store.apply(event.id, event.id, (stored) => {
      const s = start(stored?.action ?? null, event, now(), policyOf(pool), victims);
      commands = s.commands;
      action = s.action;
      const rec: ActionRecord = stored
        ? { ...stored, said: { ...stored.said } }
        : {
            action: s.action as Action,
            decision: event as AnyScalewiseEvent,
            started: null,
            said: {},
            last: null,
          };
      rec.action = s.action ?? rec.action;
      return { state: rec, outputs: toEvents(rec, s.events) };
    });
    // The start and its victims are in the ledger before any command touches a node, and before
    // the action enters the running index: whoever runs its commands finds them there.
    const outputs = await stated(event.id, applied.outputs);
    if (applied.replayed) {
      const rec = (await store.get(event.id))?.state;
      if (
        rec?.action.phase !== 'running' ||
        (await bus.breakers.redis.call(() => bus.redis.sismember(runningKey, event.id))) === 1
      ) {
        log.info({ action_id: event.id }, 'decision seen before: its action is not started again');
        return outputs;
      }
      // Running but not indexed: the ledger write (or the index) failed after the record was
      // written, and this retry or redelivery is what is left to run its commands.
      action = rec.action;
      commands = outstanding(rec.action);
    }
    if (action) await track(action);
    // After the handler has returned (the bus publishes the start meanwhile; the ledger has it).
    setImmediate(() => {
      for (const c of commands) void run(c);
    });
    return outputs;
  }

  // The pools' nodes, watched (packages/kube's cache: resumes, relists, retries). By the pool
  // label, not managed-by: a kubelet may not register its node with app.kubernetes.io labels
  // (NodeRestriction), so the nodes of docker and external pools carry only the pool label.
  const workers = nodeCache(deps.kube, { labelSelector: POOL_LABEL });
  workers.onError((err) => log.warn({ err }, 'node watch failed; it retries by itself'));
  workers.on((e) => {
    if (e.type === 'delete') return;
    const n = e.object;
    const actionId = waiting.get(n.name);
    if (actionId && n.conditions.Ready?.status === 'True')
      void apply(actionId, { kind: 'ready', node: n.name }, `ready/${n.name}`).catch((err) =>
        log.error({ err }, 'recording Ready failed'),
      );
  });

  /** Ready from the node watch, or from the provider's own watch for workers that are not nodes. */
  function isReady(pool: PoolConfig, worker: string): boolean {
    const w = deps.providers[pool.provider]?.workers;
    return w ? w.isReady(worker) : workers.get(worker)?.conditions.Ready?.status === 'True';
  }

  // Providers whose workers are not nodes (pods) watch them: Ready, and finished ones.
  const workerWatches = [
    ...new Set(
      config.autoscaler.pools.flatMap((p) => {
        const w = deps.providers[p.provider]?.workers;
        return w ? [w] : [];
      }),
    ),
  ];
  for (const w of workerWatches) w.on((change) => onWorkerChange(change));

  async function onWorkerChange(c: WorkerChange): Promise<void> {
    const pool = pools.get(c.pool);
    if (!pool) return;
    const actionId = waiting.get(c.worker);
    if (c.kind === 'ready') {
      if (actionId)
        await apply(actionId, { kind: 'ready', node: c.worker }, `ready/${c.worker}`).catch((err) =>
          log.error({ err }, 'recording Ready failed'),
        );
      return;
    }
    // A worker that ended before it was seen Ready: a success did its work (Ready in passing), a failure fails its action.
    if (actionId) {
      await apply(
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
    const owner = c.actionId ? ((await store.get(c.actionId))?.state ?? null) : null;
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
      ? causedBy(parent as ScalewiseEvent, 'io.scalewise.NodeRemoved', data, { source, id })
      : createEvent('io.scalewise.NodeRemoved', data, { source, id, clusterid: config.cluster_id });
    // The worker left by the action that made it: in the ledger, never a loss.
    await publish(await stated(id, [event as AnyScalewiseEvent]));
  }

  let timer: NodeJS.Timeout | undefined;
  const handlers: NodeManager['handlers'] = handlersFor(decisionTypes, onDecision);
  return {
    handlers,
    async start() {
      // Resume what a previous process left running.
      const ids = await bus.redis.smembers(runningKey);
      for (const id of ids) {
        const rec = await store.get(id);
        if (rec) {
          // What it wrote may not have gone out (killed between the write and the publish):
          // every node's chain said again in order, under the same ids; consumers drop the copies.
          const { started, said: chains, tips, last } = rec.state;
          const said = new Map<string, AnyScalewiseEvent>();
          for (const e of [
            started,
            ...Object.values(chains ?? {}).flat(),
            ...Object.values(tips ?? {}),
            last,
          ])
            if (e) said.set(e.id, e);
          if (said.size > 0) await publish(await stated(`resume/${id}/${randomUUID()}`, [...said.values()]));
        }
        const again = rec ? outstanding(rec.state.action) : [];
        if (!rec || (rec.state.action.phase !== 'running' && again.length === 0)) {
          await bus.redis.srem(runningKey, id);
          continue;
        }
        await track(rec.state.action);
        log.info({ action_id: id, commands: again.map((c) => c.kind) }, 'resuming an action');
        for (const c of again) void run(c);
      }
      workers.start();
      await Promise.all([workers.synced, ...workerWatches.map((w) => w.start())]);
      timer = setInterval(
        () => {
          const t = now();
          for (const [id, deadline] of deadlines) {
            if (t < deadline) continue;
            apply(id, { kind: 'tick' }, `tick/${Math.floor(t / 1000)}`).catch((err) =>
              log.error({ err }, 'deadline check failed'),
            );
          }
        },
        (deps.tickSeconds ?? 1) * 1000,
      );
    },
    async stop() {
      if (timer) clearInterval(timer);
      await Promise.all([workers.stop(), ...workerWatches.map((w) => w.stop())]);
    },
    async record(actionId) {
      return (await store.get(actionId))?.state ?? null;
    },
    running: () => bus.redis.smembers(runningKey),
  };
}

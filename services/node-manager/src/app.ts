/**
 * node-manager's wiring: decisions in (handlers/decisions.ts), the pure action core (core/)
 * in the middle, the providers and the Kubernetes API out (adapters/commands.ts).
 *
 * - A decision starts its action in a Redis record and returns its first event to the bus;
 *   the step's commands then run in the background, and what they and the watches observe
 *   (loops/) is applied to the record the same way (handlers/observations.ts).
 * - Every batch of events goes through the pool ledger (adapters/ledger.ts) before it is
 *   published. A start is in the ledger before any of its commands runs, so no victim's
 *   departure is ever taken for a loss.
 * - Running actions are indexed in Redis (adapters/running.ts); a restarted node-manager
 *   re-issues what each still needs (loops/resume.ts).
 * - One retry policy, the bus's (`events.retry`): providers through packages/providers'
 *   decorator, uncordon and publishing through packages/bus `withRetry`.
 */
import { type HandlerRegistry, handlersFor, type RetryPolicy } from '@scalewise/bus';
import type { PoolConfig } from '@scalewise/config';
import { scalingTypes } from '@scalewise/events';
import type { Kube } from '@scalewise/kube';
import { type Provider, resilient, type WorkerWatch } from '@scalewise/providers';
import { retryPolicyOf, type ServiceContext } from '@scalewise/service';
import { type ActionRecord, type ActionStore, createActionStore } from './adapters/action-records.ts';
import { createVictimCheck } from './adapters/cluster.ts';
import { createCommandRunner } from './adapters/commands.ts';
import { createLedgerWriter, type LedgerWriter } from './adapters/ledger.ts';
import { createTracker, redisRunningIndex, type Tracker } from './adapters/running.ts';
import type { Command, DecisionType } from './core/index.ts';
import { createDecisionHandler } from './handlers/decisions.ts';
import { createObservations } from './handlers/observations.ts';
import { createDeadlines } from './loops/deadlines.ts';
import { createNodeWatch } from './loops/node-watch.ts';
import { resumeActions } from './loops/resume.ts';
import { createWorkerWatches } from './loops/worker-watch.ts';

export type { ActionRecord } from './adapters/action-records.ts';

export const serviceName = 'node-manager';
/** The decisions node-manager consumes: the catalogue's `scaling` ones. */
export const decisionTypes: readonly DecisionType[] = scalingTypes;

export interface NodeManager {
  handlers: HandlerRegistry<DecisionType>;
  start(): Promise<void>;
  stop(): Promise<void>;
  record(actionId: string): Promise<ActionRecord | null>;
  /** Actions still running (the index). */
  running(): Promise<string[]>;
}

export interface NodeManagerDeps {
  kube: Kube;
  /** Provider name -> implementation, as the registry opens them (decorated here). */
  providers: Record<string, Provider>;
  now?: () => number;
  /** Seconds between deadline checks. @default 1 */
  tickSeconds?: number;
  /** Retry waits (tests). */
  sleep?: (ms: number) => Promise<void>;
}

/** The distinct worker watches of the configured pools' providers (pods). */
const workerWatchesOf = (
  pools: readonly PoolConfig[],
  providers: Record<string, Provider>,
): WorkerWatch[] => [
  ...new Set(
    pools.flatMap((p) =>
      providers[p.provider]?.workers ? [providers[p.provider]?.workers as WorkerWatch] : [],
    ),
  ),
];

/** What every part shares: the settings, the decorated providers and the stores. */
interface Shared {
  pools: Map<string, PoolConfig>;
  providers: Record<string, Provider>;
  store: ActionStore;
  ledger: LedgerWriter;
  tracker: Tracker;
  retry: RetryPolicy;
  source: string;
  now: () => number;
  log: ServiceContext['telemetry']['logger'];
}

function shared(ctx: ServiceContext, deps: NodeManagerDeps): Shared {
  const { config, bus } = ctx;
  const now = deps.now ?? Date.now;
  const retry = retryPolicyOf(config);
  const namespace = `scalewise:${config.cluster_id}:${serviceName}`;
  const pools = new Map(config.autoscaler.pools.map((p) => [p.name, p]));
  return {
    pools,
    // One retry policy, the bus's; no breaker: docker and external break their own calls.
    providers: Object.fromEntries(
      Object.entries(deps.providers).map(([name, p]) => [
        name,
        resilient(p, { name, retry, ...(deps.sleep ? { sleep: deps.sleep } : {}) }),
      ]),
    ),
    store: createActionStore(bus, namespace),
    ledger: createLedgerWriter({ bus, clusterId: config.cluster_id, service: serviceName, pools, now }),
    tracker: createTracker(redisRunningIndex(bus, `${namespace}:running`)),
    retry,
    source: `/scalewise/${config.cluster_id}/${serviceName}`,
    now,
    log: ctx.telemetry.logger,
  };
}

/**
 * The action machinery: the observations, the command runner and the node watch. The runner
 * and the observations name each other (a command's result is an observation, an
 * observation's step has commands): bound here, once, through `run`.
 */
function actionsOf(s: Shared, ctx: ServiceContext, kube: Kube) {
  const run = (c: Command) => void commands.run(c);
  const observations = createObservations({ ...s, publisher: ctx.bus.publisher, run });
  const nodeWatch = createNodeWatch({
    kube,
    waiting: s.tracker.waiting,
    apply: observations.apply,
    log: s.log,
  });
  const commands = createCommandRunner({
    ...s,
    kube,
    isReady: (pool, worker) => {
      const w = s.providers[pool.provider]?.workers;
      return w ? w.isReady(worker) : nodeWatch.isReady(worker);
    },
    observed: observations.apply,
  });
  return { run, observations, nodeWatch };
}

export function createNodeManager(ctx: ServiceContext, deps: NodeManagerDeps): NodeManager {
  const s = shared(ctx, deps);
  const { store, tracker, log } = s;
  const { run, observations, nodeWatch } = actionsOf(s, ctx, deps.kube);
  const onDecision = createDecisionHandler({
    ...s,
    recheck: createVictimCheck({ kube: deps.kube, log }),
    // After the handler has returned (the bus publishes the start meanwhile; the ledger has it).
    runLater: (cs) => setImmediate(() => cs.forEach(run)),
  });
  const workers = createWorkerWatches({
    ...s,
    watches: workerWatchesOf(ctx.config.autoscaler.pools, s.providers),
    waiting: tracker.waiting,
    observations,
    clusterId: ctx.config.cluster_id,
  });
  const deadlines = createDeadlines({
    ...s,
    deadlines: tracker.deadlines,
    apply: observations.apply,
    ...(deps.tickSeconds ? { tickSeconds: deps.tickSeconds } : {}),
  });
  return {
    handlers: handlersFor(decisionTypes, onDecision),
    async start() {
      await resumeActions({ store, tracker, say: observations.say, run, log });
      nodeWatch.start();
      await Promise.all([nodeWatch.synced, workers.start()]);
      deadlines.start();
    },
    async stop() {
      deadlines.stop();
      await Promise.all([nodeWatch.stop(), workers.stop()]);
    },
    record: async (actionId) => (await store.get(actionId))?.state ?? null,
    running: () => tracker.index.list(),
  };
}

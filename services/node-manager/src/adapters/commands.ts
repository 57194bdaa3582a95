/**
 * Carries out the core's commands against the providers and the Kubernetes API: create a
 * pool's workers, drain a node, remove a worker, uncordon a node. What each observes (created,
 * Ready, drained, removed, failed) goes back to the action through `observed`.
 *
 * The providers come decorated (packages/providers `resilient`: the bus's retry policy, no
 * TypeError retried); uncordon is retried by the same policy. A command that fails for good
 * fails its action with the last error's reason.
 */
import { type RetryPolicy, withRetry } from '@scalewise/bus';
import type { PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { drain, type Kube, uncordon } from '@scalewise/kube';
import { lastError, type Provider } from '@scalewise/providers';
import type { Command, Observation } from '../core/index.ts';
import { actionPolicyOf } from '../core/policy.ts';
import type { Tracker } from './running.ts';

export interface CommandRunnerDeps {
  pools: ReadonlyMap<string, PoolConfig>;
  /** Provider name -> implementation (decorated). */
  providers: Readonly<Record<string, Provider>>;
  kube: Kube;
  tracker: Pick<Tracker, 'awaiting'>;
  /** Whether the worker is Ready now, as the watches last saw it. */
  isReady(pool: PoolConfig, worker: string): boolean;
  /** Applies what a command observed to its action. */
  observed(actionId: string, o: Observation, label: string): Promise<void>;
  /** The bus's policy (`events.retry`), for uncordon. */
  retry: RetryPolicy;
  log: { error(obj: object, msg: string): void };
}

/** A failure as the action records it: the reason of the last error behind the retries. */
export function failure(err: unknown): Observation {
  const last = lastError(err);
  const e = last instanceof ScalewiseError ? last : undefined;
  return {
    kind: 'failed',
    code: (e?.details.reason as string | undefined) ?? e?.code ?? 'PROVIDER_ERROR',
    message: (last as Error).message,
    retriable: e?.retriable ?? true,
  };
}

export interface CommandRunner {
  /** Carries out a command; its failure is applied to the action, never thrown. */
  run(c: Command): Promise<void>;
  /** The provider of a pool. @throws ScalewiseError INVALID_CONFIG when it is not available. */
  providerOf(pool: PoolConfig): Provider;
}

/**
 * The provider of a pool.
 * @throws ScalewiseError INVALID_CONFIG when it is not available in this node-manager.
 */
export function providerOf(providers: Readonly<Record<string, Provider>>, pool: PoolConfig): Provider {
  const p = providers[pool.provider];
  if (!p) {
    throw new ScalewiseError(
      'INVALID_CONFIG',
      `pool '${pool.name}': provider '${pool.provider}' is not available in this node-manager`,
      { details: { pool: pool.name, provider: pool.provider } },
    );
  }
  return p;
}

type Of<K extends Command['kind']> = Extract<Command, { kind: K }>;

async function create(deps: CommandRunnerDeps, pool: PoolConfig, c: Of<'create'>): Promise<void> {
  deps.tracker.awaiting(c.actionId, c.nodes);
  const made = await providerOf(deps.providers, pool).create(pool, c.nodes, c.actionId, {
    ...(c.taskId ? { taskId: c.taskId } : {}),
    ...(c.zones ? { zones: c.zones } : {}),
  });
  for (const m of made) {
    await deps.observed(
      c.actionId,
      { kind: 'created', node: m.node, providerId: m.providerId, provider: pool.provider },
      `created/${m.node}`,
    );
  }
  // A node the watch saw Ready before its creation was recorded raises no new update:
  // look in the watch's cache (an update it has not seen yet still comes later).
  for (const m of made) {
    if (deps.isReady(pool, m.node))
      await deps.observed(c.actionId, { kind: 'ready', node: m.node }, `ready/${m.node}`);
  }
}

async function drainNode(deps: CommandRunnerDeps, pool: PoolConfig, c: Of<'drain'>): Promise<void> {
  let evictedPods = 0;
  // A worker pod is not a node: nothing to cordon or evict (it was chosen idle).
  if (!providerOf(deps.providers, pool).workers) {
    const timeoutMs = actionPolicyOf(pool, false).drainTimeoutSeconds * 1000 * 0.8;
    evictedPods = (await drain(deps.kube, c.node, { timeoutMs })).evicted.length;
  }
  await deps.observed(c.actionId, { kind: 'drained', node: c.node, evictedPods }, `drained/${c.node}`);
}

async function remove(deps: CommandRunnerDeps, pool: PoolConfig, c: Of<'remove'>): Promise<void> {
  const { existed } = await providerOf(deps.providers, pool).remove(pool, c.node);
  await deps.observed(
    c.actionId,
    { kind: 'removed', node: c.node, provider: pool.provider, existed },
    `removed/${c.node}`,
  );
}

/** Carries out a command; its failure is applied to the action, never thrown. */
export async function runCommand(deps: CommandRunnerDeps, c: Command): Promise<void> {
  const pool = deps.pools.get(c.pool);
  if (!pool) return;
  try {
    switch (c.kind) {
      case 'create':
        return await create(deps, pool, c);
      case 'drain':
        return await drainNode(deps, pool, c);
      case 'remove':
        return await remove(deps, pool, c);
      case 'uncordon':
        await withRetry(() => uncordon(deps.kube, c.node), deps.retry);
        return;
    }
  } catch (err) {
    deps.log.error({ err, command: c.kind, action_id: c.actionId }, 'action command failed');
    await deps
      .observed(
        c.actionId,
        { ...failure(err), ...('node' in c ? { node: c.node } : {}) } as Observation,
        `failed/${c.kind}/${'node' in c ? c.node : c.nodes.join(',')}`,
      )
      .catch((e) => deps.log.error({ err: e }, 'recording the failure failed'));
  }
}

export function createCommandRunner(deps: CommandRunnerDeps): CommandRunner {
  return { run: (c) => runCommand(deps, c), providerOf: (pool) => providerOf(deps.providers, pool) };
}

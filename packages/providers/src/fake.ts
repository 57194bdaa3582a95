/**
 * An in-memory provider for the unit tests of the services' shells (Karpenter's
 * `cloudprovider/fake`): instances in a map, every call recorded, the next calls' errors
 * scripted, and optionally a worker watch whose changes the test emits. Idempotent as the
 * real ones: creating a worker that exists, or removing one that is gone, changes nothing.
 */
import type { PoolConfig } from '@scalewise/config';
import type { Instance, Provider, WorkerChange, WorkerWatch } from './provider.ts';

export type FakeCall =
  | { op: 'create'; pool: string; nodes: readonly string[]; actionId: string; taskId?: string }
  | { op: 'remove'; pool: string; node: string }
  | { op: 'list'; pool: string };

export interface FakeProvider extends Provider {
  /** Every call, in order. */
  readonly calls: FakeCall[];
  /** Pool -> node -> instance. */
  readonly instances: Map<string, Map<string, Instance>>;
  /** The next call of `op` throws `err` (queued: one error per call). */
  failNext(op: FakeCall['op'], err: Error): void;
  readonly workers?: FakeWorkerWatch;
}

export interface FakeWorkerWatch extends WorkerWatch {
  /** Workers seen Ready. */
  readonly ready: Set<string>;
  /** Tells the listeners (and marks a `ready` worker Ready). */
  emit(change: WorkerChange): Promise<void>;
  /** Pool -> the workers `idle` offers, in order. */
  readonly idleWorkers: Map<string, string[]>;
}

function fakeWorkerWatch(): FakeWorkerWatch {
  const listeners = new Set<(change: WorkerChange) => Promise<void> | void>();
  const ready = new Set<string>();
  const idleWorkers = new Map<string, string[]>();
  return {
    ready,
    idleWorkers,
    async start() {},
    async stop() {},
    isReady: (worker) => ready.has(worker),
    idle(pool, count) {
      const all = idleWorkers.get(pool.name) ?? [];
      return {
        victims: all.slice(0, count),
        refused: all.slice(count).map((worker) => ({ worker, why: 'not needed' })),
      };
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async emit(change) {
      if (change.kind === 'ready') ready.add(change.worker);
      await Promise.all([...listeners].map((l) => l(change)));
    },
  };
}

/**
 * @param options.workers give it a worker watch (workers that are not Nodes, as `pods`).
 * @param options.now the creation time of instances. @default () => 0
 */
export function fakeProvider(
  name = 'fake',
  options: { workers?: boolean; now?: () => number } = {},
): FakeProvider {
  const now = options.now ?? (() => 0);
  const calls: FakeCall[] = [];
  const instances = new Map<string, Map<string, Instance>>();
  const errors = new Map<FakeCall['op'], Error[]>();
  const of = (pool: PoolConfig) => {
    let m = instances.get(pool.name);
    if (!m) {
      m = new Map();
      instances.set(pool.name, m);
    }
    return m;
  };
  const fail = (op: FakeCall['op']) => {
    const err = errors.get(op)?.shift();
    if (err) throw err;
  };
  return {
    name,
    calls,
    instances,
    failNext(op, err) {
      errors.set(op, [...(errors.get(op) ?? []), err]);
    },
    async create(pool, nodes, actionId, createOptions = {}) {
      calls.push({
        op: 'create',
        pool: pool.name,
        nodes,
        actionId,
        ...(createOptions.taskId !== undefined ? { taskId: createOptions.taskId } : {}),
      });
      fail('create');
      const m = of(pool);
      return nodes.map((node) => {
        const i = m.get(node) ?? { id: `${name}://${node}`, node, alive: true, createdAt: now() };
        m.set(node, i);
        return { node, providerId: i.id };
      });
    },
    async remove(pool, node) {
      calls.push({ op: 'remove', pool: pool.name, node });
      fail('remove');
      return { existed: of(pool).delete(node) };
    },
    async list(pool) {
      calls.push({ op: 'list', pool: pool.name });
      fail('list');
      return [...of(pool).values()];
    },
    ...(options.workers ? { workers: fakeWorkerWatch() } : {}),
  };
}

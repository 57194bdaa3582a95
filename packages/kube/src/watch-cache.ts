/**
 * A watch cache (an informer): list, then watch from the list's resourceVersion, keeping a
 * compact projection of every object in memory and telling listeners what was added, updated
 * and deleted.
 *
 * - A watch the server closes (its timeout, a restart behind a load balancer) is reopened at
 *   once from the last resourceVersion seen (events and bookmarks advance it): nothing is
 *   listed again and nothing is missed.
 * - 410 Gone (the server no longer has history that old) means events were missed: the cache
 *   lists again, and the difference between what it held and what the list says comes out as
 *   add/update/delete, so listeners converge without a restart.
 * - When the API server does not answer, the cache keeps trying with exponential backoff and
 *   jitter, bounded (500 ms doubling up to 30 s by default), and reports each failure, classed
 *   by {@link toKubeError}, to its error listeners. It never gives up on its own.
 * - Lists are read in pages (500 objects by default) and projected page by page, so memory
 *   holds the projections plus one page of API objects, never the whole cluster as API objects.
 *
 * The I/O is behind {@link ListerWatcher}; {@link apiListerWatcher} is the real one.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { type V1Node, type V1Pod, type V1PodDisruptionBudget, Watch } from '@kubernetes/client-node';
import { ScalewiseError } from '@scalewise/errors';
import { isStatus, type Kube, toKubeError } from './client.ts';
import {
  type NodeInfo,
  type PdbInfo,
  type PodInfo,
  podKey,
  projectNode,
  projectPdb,
  projectPod,
} from './projection.ts';

export interface ListPage<R> {
  items: R[];
  resourceVersion: string;
  /** The token for the next page; absent or empty on the last one. */
  continue?: string | undefined;
}

/** A watch event as the API sends it: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (a Status). */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** The I/O of a watch cache: one resource's list and watch. */
export interface ListerWatcher<R> {
  /** One page of the list. */
  list(options: { limit: number; continue?: string | undefined }): Promise<ListPage<R>>;
  /**
   * Watches from `resourceVersion`, calling `onEvent` for each event. Resolves when the server
   * ends the watch (or `signal` aborts it); rejects when it cannot be opened or breaks.
   */
  watch(
    resourceVersion: string,
    onEvent: (type: WatchEventType, object: unknown) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

export type CacheEvent<T> =
  | { type: 'add'; object: T }
  | { type: 'update'; object: T; old: T }
  | { type: 'delete'; object: T };

export interface WatchCacheOptions {
  /** Objects per list page. @default 500 */
  pageSize?: number;
  /** Backoff after a failure: the first wait, doubled after each failure in a row up to `maxMs`; each wait is jittered to between half and all of it. @default { initialMs: 500, maxMs: 30000 } */
  backoff?: { initialMs?: number; maxMs?: number };
  /** For tests: how to wait (it must end early, resolving or rejecting, when the signal aborts). @default timers/promises setTimeout */
  sleep?: (ms: number, signal: AbortSignal) => Promise<unknown>;
  /** For tests: the jitter's randomness. @default Math.random */
  random?: () => number;
}

export interface WatchCacheStats {
  /** Full lists done, the first one included. */
  lists: number;
  /** Lists after the first, because the watch answered 410 Gone or broke with an ERROR event. */
  relists: number;
  /** Watches opened. */
  watches: number;
  /** Events applied (bookmarks excluded). */
  events: number;
  /** Failures reported to the error listeners. */
  errors: number;
  /** Whether a watch is open now. */
  watching: boolean;
  /** Epoch ms of the last list that completed (0 before the first). */
  lastListAt: number;
}

export interface Projection<R, T> {
  /** What is cached, for messages ("nodes", "pods"). */
  what: string;
  project: (raw: R) => T;
  key: (object: T) => string;
}

const resourceVersionOf = (raw: unknown): string | undefined =>
  (raw as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;

/** How one watch ended. */
type WatchEnd =
  | { kind: 'closed'; events: number; ms: number }
  | { kind: 'gone' }
  | { kind: 'error'; status: unknown };

export class WatchCache<T extends { resourceVersion: string }> {
  /** Resolves once the first list is in the cache; rejects if the cache is stopped before. */
  readonly synced: Promise<void>;
  private resolveSynced!: () => void;
  private rejectSynced!: (err: Error) => void;
  private store = new Map<string, T>();
  private rv = '';
  private readonly listeners = new Set<(event: CacheEvent<T>) => void>();
  private readonly errorListeners = new Set<(err: Error) => void>();
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly counters: WatchCacheStats = {
    lists: 0,
    relists: 0,
    watches: 0,
    events: 0,
    errors: 0,
    watching: false,
    lastListAt: 0,
  };
  private readonly pageSize: number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<unknown>;
  private readonly random: () => number;

  private readonly source: ListerWatcher<unknown>;
  private readonly projection: Projection<unknown, T>;

  /**
   * A cache of what `source` lists and watches, projected by `projection`. Nothing happens
   * before {@link start}. Prefer {@link nodeCache} and {@link podCache}.
   */
  constructor(
    source: ListerWatcher<unknown>,
    projection: Projection<unknown, T>,
    options: WatchCacheOptions = {},
  ) {
    this.source = source;
    this.projection = projection;
    this.pageSize = options.pageSize ?? 500;
    this.initialMs = options.backoff?.initialMs ?? 500;
    this.maxMs = options.backoff?.maxMs ?? 30_000;
    this.sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
    this.random = options.random ?? Math.random;
    this.synced = new Promise<void>((resolve, reject) => {
      this.resolveSynced = resolve;
      this.rejectSynced = reject;
    });
    // Nobody has to await `synced`; a stop before the first list must not be an unhandled rejection.
    this.synced.catch(() => undefined);
  }

  /** Starts listing and watching (once; later calls do nothing). */
  start(): this {
    this.running ??= this.run();
    return this;
  }

  /** Stops watching; `synced` rejects if the first list had not completed. Idempotent. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.rejectSynced(
      new ScalewiseError(
        'SHUTTING_DOWN',
        `the ${this.projection.what} cache was stopped before its first list`,
      ),
    );
    await this.running;
  }

  /** Calls `listener` for every change from now on; returns the function that unsubscribes. */
  on(listener: (event: CacheEvent<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` with each failure (already classed retriable or not); returns the unsubscriber. */
  onError(listener: (err: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  /** The current objects (a live view: do not hold it across awaits while changes matter). */
  values(): IterableIterator<T> {
    return this.store.values();
  }

  /** A copy of the current objects. */
  list(): T[] {
    return [...this.store.values()];
  }

  get size(): number {
    return this.store.size;
  }

  /** The last resourceVersion seen (from a list, an event or a bookmark). */
  get resourceVersion(): string {
    return this.rv;
  }

  stats(): WatchCacheStats {
    return { ...this.counters };
  }

  private emit(event: CacheEvent<T>): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        // A listener's bug must not stop the cache, nor hide: it is reported, never retried.
        this.report(
          new ScalewiseError('INTERNAL', `a ${this.projection.what} cache listener threw`, {
            cause: err,
            retriable: false,
          }),
        );
      }
    }
  }

  private report(err: Error): void {
    this.counters.errors++;
    for (const l of this.errorListeners) {
      try {
        l(err);
      } catch {
        // An error listener that throws has nowhere left to report to.
      }
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let delay = this.initialMs;
    let mustList = true;
    while (!signal.aborted) {
      let healthy = false;
      try {
        if (mustList) {
          await this.relist(signal);
          mustList = false;
          if (signal.aborted) break;
        }
        const end = await this.watchOnce(signal);
        if (signal.aborted) break;
        if (end.kind === 'gone') {
          // History is gone: list again at once.
          mustList = true;
          this.counters.relists++;
          delay = this.initialMs;
          continue;
        }
        if (end.kind === 'error') {
          // The server broke the watch with a Status: what we hold may be stale. List again, after a pause.
          mustList = true;
          this.counters.relists++;
          this.report(toKubeError(`watching ${this.projection.what}`, statusError(end.status)));
        } else {
          // A watch that carried events or lasted is a normal end (the server's timeout):
          // reopen at once. One that ended at once with nothing is a server in trouble: back off.
          healthy = end.events > 0 || end.ms >= 1000;
        }
      } catch (err) {
        if (signal.aborted) break;
        const e = toKubeError(`${mustList ? 'listing' : 'watching'} ${this.projection.what}`, err);
        if (isStatus(e, 410)) {
          mustList = true;
          if (this.counters.lists > 0) this.counters.relists++;
        }
        this.report(e);
      }
      if (healthy) {
        delay = this.initialMs;
        continue;
      }
      const wait = Math.round(delay * (0.5 + this.random() / 2));
      delay = Math.min(delay * 2, this.maxMs);
      try {
        await this.sleep(wait, signal);
      } catch {
        // aborted
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const { project, key } = this.projection;
    const fresh = new Map<string, T>();
    let token: string | undefined;
    let rv = '';
    do {
      const page = await this.source.list({ limit: this.pageSize, continue: token });
      if (signal.aborted) return;
      for (const raw of page.items) {
        const object = project(raw);
        fresh.set(key(object), object);
      }
      rv = page.resourceVersion;
      token = page.continue || undefined;
    } while (token);
    const old = this.store;
    this.store = fresh;
    this.rv = rv;
    this.counters.lists++;
    this.counters.lastListAt = Date.now();
    for (const [k, object] of fresh) {
      const before = old.get(k);
      if (!before) this.emit({ type: 'add', object });
      else if (before.resourceVersion !== object.resourceVersion)
        this.emit({ type: 'update', object, old: before });
    }
    for (const [k, object] of old) if (!fresh.has(k)) this.emit({ type: 'delete', object });
    this.resolveSynced();
  }

  private async watchOnce(signal: AbortSignal): Promise<WatchEnd> {
    const { project, key } = this.projection;
    const started = Date.now();
    let events = 0;
    let gone = false;
    let failure: unknown;
    this.counters.watches++;
    this.counters.watching = true;
    try {
      await this.source.watch(
        this.rv,
        (type, raw) => {
          if (gone || failure !== undefined || signal.aborted) return;
          switch (type) {
            case 'ADDED':
            case 'MODIFIED': {
              const object = project(raw);
              const k = key(object);
              const before = this.store.get(k);
              this.store.set(k, object);
              this.counters.events++;
              events++;
              if (before) this.emit({ type: 'update', object, old: before });
              else this.emit({ type: 'add', object });
              break;
            }
            case 'DELETED': {
              const object = project(raw);
              const k = key(object);
              const before = this.store.get(k);
              this.store.delete(k);
              this.counters.events++;
              events++;
              this.emit({ type: 'delete', object: before ?? object });
              break;
            }
            case 'BOOKMARK':
              events++;
              break;
            case 'ERROR':
              if ((raw as { code?: unknown } | null)?.code === 410) gone = true;
              else failure = raw;
              return;
            default:
              return;
          }
          this.rv = resourceVersionOf(raw) ?? this.rv;
        },
        signal,
      );
    } finally {
      this.counters.watching = false;
    }
    if (gone) return { kind: 'gone' };
    if (failure !== undefined) return { kind: 'error', status: failure };
    return { kind: 'closed', events, ms: Date.now() - started };
  }
}

/** An ERROR event's Status as an error carrying its code, for {@link toKubeError}. */
function statusError(status: unknown): Error {
  const s = status as { code?: unknown; message?: unknown; reason?: unknown } | null;
  const err = new Error(typeof s?.message === 'string' ? s.message : `watch ERROR ${JSON.stringify(status)}`);
  return Object.assign(err, { code: typeof s?.code === 'number' ? s.code : 500, body: status });
}

export interface ApiWatchOptions {
  /** Only objects with these labels (a label selector, "a=b,c"). */
  labelSelector?: string;
  /** Only objects matching this field selector ("spec.nodeName=x"). */
  fieldSelector?: string;
  /**
   * How long the server keeps one watch open, in seconds. Kept under client-node's 30 s
   * inactivity timeout, so that a quiet watch is ended by the server and a timeout always
   * means a dead connection. Reopening from the last resourceVersion is served from the API
   * server's watch cache, so this costs one small request a few times a minute.
   * @default a random 20 to 28 s per watch (replicas do not reconnect in step)
   */
  timeoutSeconds?: number;
}

const paths = {
  nodes: '/api/v1/nodes',
  pods: '/api/v1/pods',
  poddisruptionbudgets: '/apis/policy/v1/poddisruptionbudgets',
} as const;

/** The real list and watch of nodes, pods or PodDisruptionBudgets (all namespaces) through client-node. */
export function apiListerWatcher(
  kube: Kube,
  resource: keyof typeof paths,
  options: ApiWatchOptions = {},
): ListerWatcher<V1Node | V1Pod | V1PodDisruptionBudget> {
  const path = paths[resource];
  const selectors = {
    ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
  };
  return {
    async list({ limit, continue: token }) {
      const request = { ...selectors, limit, ...(token ? { _continue: token } : {}) };
      const list =
        resource === 'nodes'
          ? await kube.core.listNode(request)
          : resource === 'pods'
            ? await kube.core.listPodForAllNamespaces(request)
            : await kube.policy.listPodDisruptionBudgetForAllNamespaces(request);
      return {
        items: list.items,
        resourceVersion: list.metadata?.resourceVersion ?? '',
        continue: list.metadata?._continue,
      };
    },
    watch(resourceVersion, onEvent, signal) {
      return new Promise<void>((resolve, reject) => {
        let controller: AbortController | undefined;
        let settled = false;
        const onAbort = () => controller?.abort();
        const done = (err: unknown) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          if (!err || signal.aborted) resolve();
          else reject(err);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        new Watch(kube.kc)
          .watch(
            path,
            {
              ...selectors,
              resourceVersion,
              allowWatchBookmarks: true,
              timeoutSeconds: options.timeoutSeconds ?? 20 + Math.floor(Math.random() * 9),
            },
            (type, object) => onEvent(type as WatchEventType, object),
            done,
          )
          .then((c) => {
            controller = c;
            if (signal.aborted || settled) c.abort();
          }, done);
      });
    },
  };
}

export type KubeCacheOptions = ApiWatchOptions & WatchCacheOptions;

/** A watch cache of Nodes, keyed by name, holding {@link NodeInfo}s. Call `start()`. */
export function nodeCache(kube: Kube, options: KubeCacheOptions = {}): WatchCache<NodeInfo> {
  return new WatchCache<NodeInfo>(
    apiListerWatcher(kube, 'nodes', options),
    { what: 'nodes', project: (raw) => projectNode(raw as V1Node), key: (n) => n.name },
    options,
  );
}

/** A watch cache of Pods in all namespaces, keyed by `namespace/name`, holding {@link PodInfo}s. Call `start()`. */
export function podCache(kube: Kube, options: KubeCacheOptions = {}): WatchCache<PodInfo> {
  return new WatchCache<PodInfo>(
    apiListerWatcher(kube, 'pods', options),
    { what: 'pods', project: (raw) => projectPod(raw as V1Pod), key: podKey },
    options,
  );
}

/**
 * A watch cache of PodDisruptionBudgets (policy/v1) in all namespaces, keyed by
 * `namespace/name`, holding {@link PdbInfo}s. Call `start()`.
 */
export function pdbCache(kube: Kube, options: KubeCacheOptions = {}): WatchCache<PdbInfo> {
  return new WatchCache<PdbInfo>(
    apiListerWatcher(kube, 'poddisruptionbudgets', options),
    { what: 'PodDisruptionBudgets', project: (raw) => projectPdb(raw as V1PodDisruptionBudget), key: podKey },
    options,
  );
}

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
import { ScalewiseError } from '@scalewise/errors';
import { isStatus, type Kube, statusOf, toKubeError } from './client.ts';
import {
  type NodeInfo,
  type PdbInfo,
  type PodInfo,
  podKey,
  projectNode,
  projectPdb,
  projectPod,
} from './projection.ts';
import { apiGet, apiGetJson, type Query, readJsonLines } from './raw-api.ts';
import type { V1Node, V1Pod, V1PodDisruptionBudget } from './types.ts';

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
  /**
   * Optional, a streaming list: a watch that first sends every object as an ADDED event, then
   * a BOOKMARK annotated `k8s.io/initial-events-end` (the API's `sendInitialEvents`, the
   * client-go reflector's WatchList). Resolves when the stream ends (the cache aborts it at
   * that bookmark); rejects when it cannot be opened or breaks.
   */
  watchList?(onEvent: (type: WatchEventType, object: unknown) => void, signal: AbortSignal): Promise<void>;
}

/** The annotation of the BOOKMARK that ends a streaming list's initial events. */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

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
  /** Lists that streamed (`sendInitialEvents`); the others were read in pages. */
  streamedLists: number;
}

export interface Projection<R, T> {
  /** What is cached, for messages ("nodes", "pods"). */
  what: string;
  project: (raw: R) => T;
  key: (object: T) => string;
}

const resourceVersionOf = (raw: unknown): string | undefined =>
  (raw as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;

const isInitialEventsEnd = (raw: unknown): boolean =>
  (raw as { metadata?: { annotations?: Record<string, string> } } | null)?.metadata?.annotations?.[
    INITIAL_EVENTS_END
  ] === 'true';

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
    streamedLists: 0,
  };
  private readonly pageSize: number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<unknown>;
  private readonly random: () => number;

  private readonly source: ListerWatcher<unknown>;
  private readonly projection: Projection<unknown, T>;
  /** Set once a streaming list was refused or never ended its initial events: page lists from then on. */
  private pagedOnly = false;

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
    if (this.source.watchList && !this.pagedOnly) {
      const streamed = await this.streamList(this.source.watchList.bind(this.source), signal);
      if (signal.aborted) return;
      if (streamed) {
        this.counters.streamedLists++;
        this.install(streamed.fresh, streamed.rv);
        return;
      }
      this.pagedOnly = true;
    }
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
    this.install(fresh, rv);
  }

  /**
   * A streaming list: the objects as they come, until the bookmark that ends the initial
   * events. Undefined when the server does not stream lists: it refuses `sendInitialEvents`
   * as invalid (400 or 422), or sends objects and then ends the stream or falls silent
   * without that bookmark (a server that ignores the parameter): the caller lists in pages.
   * @throws what the stream threw (network, 5xx, an ERROR event), to be retried.
   */
  private async streamList(
    watchList: NonNullable<ListerWatcher<unknown>['watchList']>,
    signal: AbortSignal,
  ): Promise<{ fresh: Map<string, T>; rv: string } | undefined> {
    const { project, key } = this.projection;
    const fresh = new Map<string, T>();
    let rv = '';
    let ended = false;
    let received = 0;
    let failure: unknown;
    const stream = new AbortController();
    const stop = () => stream.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await watchList((type, raw) => {
        if (ended || failure !== undefined) return;
        received++;
        switch (type) {
          case 'ADDED':
          case 'MODIFIED': {
            const object = project(raw);
            fresh.set(key(object), object);
            break;
          }
          case 'DELETED':
            fresh.delete(key(project(raw)));
            break;
          case 'BOOKMARK':
            if (isInitialEventsEnd(raw)) {
              ended = true;
              stream.abort();
            }
            break;
          case 'ERROR':
            failure = raw;
            stream.abort();
            return;
          default:
            return;
        }
        rv = resourceVersionOf(raw) ?? rv;
      }, stream.signal);
    } catch (err) {
      if (!ended && failure === undefined && !signal.aborted) {
        // 400 / 422: the request is not valid here (the WatchList feature is off). Objects,
        // then silence without the bookmark: a server that does not know the parameter sent
        // a plain watch. Anything else (401, 403, 5xx, no answer) would fail a page too.
        const status = statusOf(err);
        if (status === 400 || status === 422) return undefined;
        if (received > 0 && (err as { code?: unknown } | null)?.code === 'ETIMEDOUT') return undefined;
        throw err;
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
    if (failure !== undefined) throw statusError(failure);
    return ended ? { fresh, rv } : undefined;
  }

  /** Puts a complete list in place of what the cache held, telling listeners the difference. */
  private install(fresh: Map<string, T>, rv: string): void {
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
   * How long the server keeps one watch open, in seconds. The connection is given up after
   * this plus 10 s without a byte, so that a quiet watch is ended by the server and a timeout
   * always means a dead connection. Reopening from the last resourceVersion is served from the API
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

/**
 * The real list and watch of nodes, pods or PodDisruptionBudgets (all namespaces), over the
 * API server's HTTPS with its JSON parsed as it is ({@link apiGet}): the objects reach the
 * projection as plain JSON (timestamps as RFC 3339 strings), never as typed models. Lists
 * stream (`sendInitialEvents`) where the server allows it, in pages where it does not.
 */
export function apiListerWatcher(
  kube: Kube,
  resource: keyof typeof paths,
  options: ApiWatchOptions = {},
): ListerWatcher<V1Node | V1Pod | V1PodDisruptionBudget> {
  const path = paths[resource];
  const selectors = {
    labelSelector: options.labelSelector,
    fieldSelector: options.fieldSelector,
  };
  const watchSeconds = () => options.timeoutSeconds ?? 20 + Math.floor(Math.random() * 9);
  /** Reads a watch's events until the server ends it; an abort of `signal` ends it quietly. */
  const stream = async (
    query: Query,
    idleMs: number,
    onEvent: (type: WatchEventType, object: unknown) => void,
    signal: AbortSignal,
  ): Promise<void> => {
    try {
      const res = await apiGet(kube, path, { ...selectors, ...query, watch: true }, { signal, idleMs });
      await readJsonLines(res, (line) => {
        const e = line as { type?: unknown; object?: unknown } | null;
        if (typeof e?.type === 'string') onEvent(e.type as WatchEventType, e.object);
      });
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
  };
  return {
    async list({ limit, continue: token }) {
      const list = (await apiGetJson(
        kube,
        path,
        { ...selectors, limit, continue: token },
        { signal: AbortSignal.timeout(LIST_PAGE_TIMEOUT_MS), idleMs: LIST_PAGE_TIMEOUT_MS },
      )) as { items?: unknown[]; metadata?: { resourceVersion?: string; continue?: string } };
      return {
        items: (list.items ?? []) as (V1Node | V1Pod | V1PodDisruptionBudget)[],
        resourceVersion: list.metadata?.resourceVersion ?? '',
        continue: list.metadata?.continue,
      };
    },
    watch(resourceVersion, onEvent, signal) {
      const seconds = watchSeconds();
      // The server ends a quiet watch at `seconds`; silence well past that is a dead connection.
      return stream(
        { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: seconds },
        (seconds + 10) * 1000,
        onEvent,
        signal,
      );
    },
    watchList(onEvent, signal) {
      // The cache ends this stream itself at the bookmark that ends the initial events; the
      // server's own end is only a bound, far beyond any list's time.
      return stream(
        {
          sendInitialEvents: true,
          resourceVersionMatch: 'NotOlderThan',
          allowWatchBookmarks: true,
          timeoutSeconds: WATCH_LIST_TIMEOUT_SECONDS,
        },
        WATCH_LIST_IDLE_MS,
        onEvent,
        signal,
      );
    },
  };
}

/** How long one list page, or a pause in a streaming list, may take before the connection is given up. */
const LIST_PAGE_TIMEOUT_MS = 60_000;
/**
 * Silence in a streaming list before its initial events ended: a server streams a list
 * without pause, so silence means one that sent a plain watch (or a dead connection).
 */
const WATCH_LIST_IDLE_MS = 15_000;
/** The server-side bound of a streaming list (the cache ends it at its initial-events bookmark). */
const WATCH_LIST_TIMEOUT_SECONDS = 600;

export type KubeCacheOptions = ApiWatchOptions & WatchCacheOptions;

/** Nodes as the caches hold them: {@link NodeInfo}s keyed by name. */
export const nodeProjection: Projection<unknown, NodeInfo> = {
  what: 'nodes',
  project: (raw) => projectNode(raw as V1Node),
  key: (n) => n.name,
};

/** Pods as the caches hold them: {@link PodInfo}s keyed by `namespace/name`. */
export const podProjection: Projection<unknown, PodInfo> = {
  what: 'pods',
  project: (raw) => projectPod(raw as V1Pod),
  key: (p) => p.key,
};

/** PodDisruptionBudgets as the caches hold them: {@link PdbInfo}s keyed by `namespace/name`. */
export const pdbProjection: Projection<unknown, PdbInfo> = {
  what: 'PodDisruptionBudgets',
  project: (raw) => projectPdb(raw as V1PodDisruptionBudget),
  key: podKey,
};

/** A watch cache of Nodes, keyed by name, holding {@link NodeInfo}s. Call `start()`. */
export function nodeCache(kube: Kube, options: KubeCacheOptions = {}): WatchCache<NodeInfo> {
  return new WatchCache<NodeInfo>(apiListerWatcher(kube, 'nodes', options), nodeProjection, options);
}

/** A watch cache of Pods in all namespaces, keyed by `namespace/name`, holding {@link PodInfo}s. Call `start()`. */
export function podCache(kube: Kube, options: KubeCacheOptions = {}): WatchCache<PodInfo> {
  return new WatchCache<PodInfo>(apiListerWatcher(kube, 'pods', options), podProjection, options);
}

/**
 * A watch cache of PodDisruptionBudgets (policy/v1) in all namespaces, keyed by
 * `namespace/name`, holding {@link PdbInfo}s. Call `start()`.
 */
export function pdbCache(kube: Kube, options: KubeCacheOptions = {}): WatchCache<PdbInfo> {
  return new WatchCache<PdbInfo>(
    apiListerWatcher(kube, 'poddisruptionbudgets', options),
    pdbProjection,
    options,
  );
}

// The set-up every integration test file wrote out again: the stack (with the Kubernetes API
// when asked), a client of the test's choosing on it, and the things a test makes and must undo
// (a namespace whose default ServiceAccount exists, KWOK nodes, started services, event
// recorders), undone in reverse order once the file's tests ended.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before } from 'node:test';
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { type KubeAdmin, kubeAdmin } from './kube.ts';
import { uniqueName } from './names.ts';
import { connectRedis } from './redis.ts';
import { getStack, type StackEndpoints, type StackOptions } from './stack.ts';
import { waitFor } from './wait.ts';

/** A log destination that drops everything: what services under test log to. */
export const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });

/**
 * Creates the namespace `name` and waits (up to 30 s) for its default ServiceAccount, without
 * which the API server refuses pods; when `scope` ends, deletes it, then (with `podsGone`)
 * waits for its pods to go, then deletes the nodes `nodes` selects. What
 * {@link IntegrationFixture.namespace} does for a file; a test's own context (`t`) as the
 * scope undoes it when that test ends.
 */
export async function testNamespace(
  core: CoreV1Api,
  name: string,
  scope: Scope,
  { nodes, podsGone = false }: NamespaceOptions = {},
): Promise<string> {
  await core.createNamespace({ body: { metadata: { name } } });
  scope.after(async () => {
    await core.deleteNamespace({ name }).catch(() => undefined);
    if (podsGone) {
      await waitFor(async () => (await core.listNamespacedPod({ namespace: name })).items.length === 0, {
        timeoutMs: 30_000,
        what: `the pods of namespace ${name} gone`,
      }).catch(() => undefined);
    }
    if (nodes) await core.deleteCollectionNode({ labelSelector: nodes }).catch(() => undefined);
  });
  await waitFor(
    async () =>
      (await core.listNamespacedServiceAccount({ namespace: name })).items.some(
        (sa) => sa.metadata?.name === 'default',
      ),
    { timeoutMs: 30_000, what: `the default ServiceAccount of ${name}` },
  );
  return name;
}

/** What {@link IntegrationFixture.start} starts and, at the end, stops: a service, a consumer. */
export interface Startable {
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
}

/** What {@link IntegrationFixture.record} returns: anything the fixture stops at the end. */
export interface Stoppable {
  stop(): Promise<unknown>;
}

/** Options of {@link integrationFixture}. */
export interface FixtureOptions<K, R extends Stoppable> extends StackOptions {
  /** Makes the client the tests talk to the cluster with (e.g. `@scalewise/kube`'s `connectKube`). */
  connect?: (options: { kubeconfig: string }) => K;
  /**
   * Starts an event recorder on full topic names with a consumer group of its own (e.g.
   * `@scalewise/bus/test-support/recorder`'s `recordTopics`). Injected: this package sits
   * below the event catalogue and cannot decode events itself.
   */
  recorder?: (brokers: string[], topics: string[], groupId: string) => Promise<R>;
}

/**
 * Where an undo goes: a test's context (`t`, undone when that test ends) instead of the file's
 * end. Anything with node:test's `after(fn)`.
 */
export interface Scope {
  after(fn: () => unknown): void;
}

/** Options of {@link IntegrationFixture.record}. */
export interface RecordOptions {
  /** @default a unique `rec-...` group */
  groupId?: string;
  /** Stop the recorder when this test ends. @default the file's end */
  scope?: Scope;
}

/** Options of {@link IntegrationFixture.namespace}. */
export interface NamespaceOptions {
  /** Label selector of the nodes deleted with the namespace (after it), e.g. `scalewise.io/pool=<pool>`. */
  nodes?: string;
  /**
   * Wait (up to 30 s) for the namespace's pods to be gone before the nodes are deleted: KWOK
   * removes the terminating pods of the nodes it still manages at once; pods left on a deleted
   * node wait for the pod garbage collector (a minute or more). @default false
   */
  podsGone?: boolean;
}

/**
 * A test file's stack and what its tests made. The getters throw before the file's `before`
 * hook ran (use them inside tests and helpers they call, not at module level).
 */
export interface IntegrationFixture<K = never, R extends Stoppable = never> {
  readonly stack: StackEndpoints;
  /** The admin kubeconfig's path. @throws when the fixture was made without `kubernetes: true`. */
  readonly kubeconfig: string;
  /** client-node's typed APIs, for set-up and inspection. @throws as {@link kubeconfig}. */
  readonly admin: KubeAdmin;
  /** The client `connect` made. @throws when no `connect` was given. */
  readonly kube: K;
  /** Runs `cleanup` once the file's tests ended, before what was deferred earlier; its failure is ignored. */
  defer(cleanup: () => unknown): void;
  /**
   * Creates the namespace and waits (up to 30 s) for its default ServiceAccount, without which
   * the API server refuses pods; deleted at the end, then the nodes `options.nodes` selects.
   */
  namespace(name: string, options?: NamespaceOptions): Promise<string>;
  /** Creates a node (KWOK plays its kubelet when it carries the kwok label); one of that name that exists is kept. */
  node(manifest: V1Node): Promise<void>;
  /** Starts the service (or consumer, ...) and stops it at the end (of `scope`, when given). */
  start<S extends Startable>(service: S | Promise<S>, scope?: Scope): Promise<S>;
  /**
   * The stack, once it answered (the `before` hook waits for it too): for another top-level
   * hook, which node:test may start before the fixture's ended.
   */
  ready(): Promise<void>;
  /** A recorder of the full topic names, joined, on a group of its own; stopped at the end. */
  record(topics: string[], options?: RecordOptions): Promise<R>;
  /** A connection of its own to the stack's Redis, closed at the end (of `scope`, when given). */
  redis(scope?: Scope): Promise<Redis>;
}

/**
 * Registers the file's `before` hook (the stack; the admin client and `connect`'s client when
 * `kubernetes` is set) and its `after` hook (everything deferred, newest first) with node:test,
 * and returns the fixture they fill. Call it once, at the top level of a test file.
 */
export function integrationFixture<K = never, R extends Stoppable = never>(
  options: FixtureOptions<K, R> = {},
): IntegrationFixture<K, R> {
  const { connect, recorder, ...stackOptions } = options;
  const cleanups: (() => unknown)[] = [];
  let stack: StackEndpoints | undefined;
  let admin: KubeAdmin | undefined;
  let client: { value: K } | undefined;

  // node:test starts a file's top-level before hooks as they are registered, without waiting
  // for the one before: the fixture's async methods (which another hook may call) wait on this.
  let ready: Promise<void> | undefined;
  const setUp = () => {
    ready ??= (async () => {
      const endpoints = await getStack(stackOptions);
      if (stackOptions.kubernetes) {
        assert.ok(endpoints.kubernetes, 'getStack({ kubernetes: true }) gave no Kubernetes API');
        const kubeconfig = endpoints.kubernetes.kubeconfig;
        admin = kubeAdmin(kubeconfig);
        if (connect) client = { value: connect({ kubeconfig }) };
      }
      stack = endpoints;
    })();
    return ready;
  };
  before(setUp);
  after(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // A test that failed may leave things half made; the others still get undone.
      }
    }
  });

  const fixture: IntegrationFixture<K, R> = {
    get stack() {
      if (!stack) throw new Error('the integration fixture is used before its before hook ran');
      return stack;
    },
    get kubeconfig() {
      const kubernetes = fixture.stack.kubernetes;
      if (!kubernetes) throw new Error('the integration fixture was made without kubernetes: true');
      return kubernetes.kubeconfig;
    },
    get admin() {
      if (!admin) throw new Error('the integration fixture has no Kubernetes API (kubernetes: true)');
      return admin;
    },
    get kube() {
      if (!client) throw new Error('the integration fixture was made without connect');
      return client.value;
    },
    ready: setUp,
    defer(cleanup) {
      cleanups.push(cleanup);
    },
    async namespace(name, options) {
      await setUp();
      return testNamespace(fixture.admin.core, name, { after: (fn) => fixture.defer(fn) }, options);
    },
    async node(manifest) {
      await setUp();
      try {
        await fixture.admin.core.createNode({ body: manifest });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    },
    async start(pending, scope) {
      await setUp();
      const service = await pending;
      if (scope) scope.after(() => service.stop());
      else fixture.defer(() => service.stop());
      await service.start();
      return service;
    },
    async record(topics, { groupId = uniqueName('rec'), scope } = {}) {
      await setUp();
      if (!recorder) throw new Error('the integration fixture was made without a recorder');
      const rec = await recorder(fixture.stack.kafka.brokers, topics, groupId);
      if (scope) scope.after(() => rec.stop());
      else fixture.defer(() => rec.stop());
      return rec;
    },
    async redis(scope) {
      await setUp();
      return connectRedis(fixture.stack.redis.url, scope ?? { after: (fn) => fixture.defer(fn) });
    },
  };
  return fixture;
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import {
  type CacheEvent,
  type ListerWatcher,
  type ListPage,
  WatchCache,
  type WatchEventType,
} from './watch-cache.ts';

// A fake source: scripted list pages and watches. When the scripts run out, a watch stays open
// until the cache stops, and `idle` resolves: the cache has caught up with everything scripted.
interface Raw {
  metadata: { name: string; resourceVersion: string };
  v?: number;
}
interface Item {
  name: string;
  resourceVersion: string;
  v: number;
}
type Emit = (type: WatchEventType, object: unknown) => void;
type WatchScript = (rv: string, emit: Emit) => Promise<void> | void;

const raw = (name: string, rv: number, v = 0): Raw => ({
  metadata: { name, resourceVersion: String(rv) },
  v,
});

class FakeSource implements ListerWatcher<Raw> {
  listCalls: (string | undefined)[] = [];
  watchCalls: string[] = [];
  private idleResolve!: () => void;
  idle: Promise<void>;
  lists: (ListPage<Raw> | Error)[];
  watches: WatchScript[];
  constructor(lists: (ListPage<Raw> | Error)[], watches: WatchScript[]) {
    this.lists = lists;
    this.watches = watches;
    this.idle = new Promise((r) => {
      this.idleResolve = r;
    });
  }
  async list(options: { limit: number; continue?: string | undefined }): Promise<ListPage<Raw>> {
    this.listCalls.push(options.continue);
    const next = this.lists.shift();
    if (!next) throw new Error('no more lists scripted');
    if (next instanceof Error) throw next;
    return next;
  }
  async watch(rv: string, onEvent: Emit, signal: AbortSignal): Promise<void> {
    this.watchCalls.push(rv);
    const script = this.watches.shift();
    if (script) return script(rv, onEvent);
    this.idleResolve();
    if (!signal.aborted)
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
  }
}

/** {@link cache} of `source`, started, once it has synced and played all the source had. */
async function settled(source: FakeSource, sleeps: number[] = []) {
  const started = cache(source, sleeps);
  started.c.start();
  await started.c.synced;
  await source.idle;
  return started;
}

function cache(source: FakeSource, sleeps: number[] = [], random = () => 1) {
  const c = new WatchCache<Item>(
    source,
    {
      what: 'things',
      project: (r) => {
        const x = r as Raw;
        return { name: x.metadata.name, resourceVersion: x.metadata.resourceVersion, v: x.v ?? 0 };
      },
      key: (i) => i.name,
    },
    {
      pageSize: 2,
      backoff: { initialMs: 100, maxMs: 1000 },
      random,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  );
  const events: string[] = [];
  const errors: Error[] = [];
  c.on((e: CacheEvent<Item>) => events.push(`${e.type} ${e.object.name}@${e.object.resourceVersion}`));
  c.onError((e) => errors.push(e));
  return { c, events, errors };
}

const httpError = (statusCode: number) => Object.assign(new Error(`HTTP ${statusCode}`), { statusCode });
const refused = () =>
  new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  });

describe('watch cache', () => {
  test("lists page by page, then watches from the list's resourceVersion; events and bookmarks advance it", async () => {
    const source = new FakeSource(
      [
        { items: [raw('a', 1), raw('b', 2)], resourceVersion: '10', continue: 'page2' },
        { items: [raw('c', 3)], resourceVersion: '10' },
      ],
      [
        (_rv, emit) => {
          emit('ADDED', raw('d', 11));
          emit('MODIFIED', raw('a', 12, 1));
          emit('DELETED', raw('b', 13));
          emit('BOOKMARK', { metadata: { resourceVersion: '20' } });
        },
      ],
    );
    const { c, events, errors } = await settled(source);
    assert.deepEqual(source.listCalls, [undefined, 'page2']);
    assert.deepEqual(source.watchCalls, ['10', '20'], 'reopened at once from the bookmark');
    assert.deepEqual(events, ['add a@1', 'add b@2', 'add c@3', 'add d@11', 'update a@12', 'delete b@2']);
    assert.deepEqual(
      c.list().map((i) => [i.name, i.v]),
      [
        ['a', 1],
        ['c', 0],
        ['d', 0],
      ],
    );
    assert.equal(c.get('a')?.resourceVersion, '12');
    assert.equal(c.size, 3);
    assert.equal(c.resourceVersion, '20');
    assert.deepEqual(errors, []);
    const s = c.stats();
    assert.equal(s.lists, 1);
    assert.equal(s.relists, 0);
    assert.equal(s.events, 3);
    await c.stop();
    assert.equal(c.stats().watching, false);
  });

  test('a watch the server ends is reopened at once from the last resourceVersion, without a list or a pause', async () => {
    const sleeps: number[] = [];
    const source = new FakeSource(
      [{ items: [raw('a', 1)], resourceVersion: '5' }],
      [(_rv, emit) => emit('MODIFIED', raw('a', 6)), (_rv, emit) => emit('MODIFIED', raw('a', 7))],
    );
    const { c } = cache(source, sleeps);
    c.start();
    await source.idle;
    assert.deepEqual(source.watchCalls, ['5', '6', '7']);
    assert.equal(source.listCalls.length, 1);
    assert.deepEqual(sleeps, []);
    await c.stop();
  });

  test('410 Gone: lists again and reports what changed meanwhile as add, update and delete', async () => {
    const source = new FakeSource(
      [
        { items: [raw('a', 1), raw('b', 2)], resourceVersion: '5' },
        { items: [raw('a', 1), raw('b', 9, 1)], resourceVersion: '30', continue: 'more' },
        { items: [raw('c', 8)], resourceVersion: '30' },
      ],
      [
        (_rv, emit) => {
          emit('ADDED', raw('x', 6));
          emit('ERROR', {
            kind: 'Status',
            code: 410,
            reason: 'Expired',
            message: 'too old resource version: 5 (25)',
          });
          emit('ADDED', raw('ignored', 7)); // after the ERROR nothing counts
        },
      ],
    );
    const { c, events, errors } = cache(source);
    c.start();
    await source.idle;
    assert.deepEqual(events, [
      'add a@1',
      'add b@2',
      'add x@6',
      // the relist: a unchanged (no event), b changed, c new, x gone
      'update b@9',
      'add c@8',
      'delete x@6',
    ]);
    assert.deepEqual(source.watchCalls, ['5', '30']);
    assert.deepEqual(
      c.list().map((i) => i.name),
      ['a', 'b', 'c'],
    );
    assert.equal(c.stats().relists, 1);
    assert.deepEqual(errors, [], 'a 410 is routine, not an error');
    await c.stop();
  });

  test('410 when opening the watch also lists again', async () => {
    const source = new FakeSource(
      [
        { items: [raw('a', 1)], resourceVersion: '5' },
        { items: [], resourceVersion: '40' },
      ],
      [
        () => {
          throw httpError(410);
        },
      ],
    );
    const { c, events } = cache(source);
    c.start();
    await source.idle;
    assert.deepEqual(events, ['add a@1', 'delete a@1']);
    assert.deepEqual(source.watchCalls, ['5', '40']);
    assert.equal(c.stats().relists, 1);
    await c.stop();
  });

  test('an API server that does not answer: exponential backoff, bounded, each failure reported as retriable', async () => {
    const sleeps: number[] = [];
    const failures = Array.from({ length: 6 }, refused);
    const source = new FakeSource(
      [...failures, { items: [raw('a', 1)], resourceVersion: '5' }],
      [
        () => {
          throw refused();
        },
        (_rv, emit) => emit('MODIFIED', raw('a', 6)),
        () => {
          throw refused();
        },
      ],
    );
    const { c, errors } = cache(source, sleeps);
    c.start();
    await source.idle;
    // 6 failed lists, then a failed watch: 100, 200, 400, 800, 1000, 1000, 1000;
    // a healthy watch resets the delay: the next failure waits 100 again.
    assert.deepEqual(sleeps, [100, 200, 400, 800, 1000, 1000, 1000, 100]);
    assert.equal(errors.length, 8);
    for (const e of errors) {
      assert.ok(e instanceof ScalewiseError);
      assert.equal(e.code, 'DEPENDENCY_UNAVAILABLE');
      assert.equal(e.retriable, true);
    }
    assert.match(errors[0]?.message ?? '', /^listing things: /);
    assert.match(errors[6]?.message ?? '', /^watching things: /);
    assert.deepEqual(
      source.watchCalls,
      ['5', '5', '6', '6'],
      'the watch resumed from the last resourceVersion',
    );
    assert.equal(source.listCalls.length, 7, 'no list after the first success');
    await c.stop();
  });

  test('the waits are jittered to between half and all of the delay', async () => {
    const sleeps: number[] = [];
    const source = new FakeSource([refused(), refused(), { items: [], resourceVersion: '1' }], []);
    const { c } = cache(source, sleeps, () => 0);
    c.start();
    await source.idle;
    assert.deepEqual(sleeps, [50, 100]);
    await c.stop();
  });

  test('a watch that ends at once with nothing is not reopened in a tight loop', async () => {
    const sleeps: number[] = [];
    const source = new FakeSource([{ items: [], resourceVersion: '1' }], [() => {}, () => {}, () => {}]);
    const { c, errors } = cache(source, sleeps);
    c.start();
    await source.idle;
    assert.deepEqual(sleeps, [100, 200, 400]);
    assert.deepEqual(errors, []);
    await c.stop();
  });

  test('an ERROR event other than 410: reported, then a pause and a fresh list', async () => {
    const sleeps: number[] = [];
    const source = new FakeSource(
      [
        { items: [raw('a', 1)], resourceVersion: '5' },
        { items: [raw('a', 1)], resourceVersion: '50' },
      ],
      [(_rv, emit) => emit('ERROR', { kind: 'Status', code: 500, message: 'etcd leader changed' })],
    );
    const { c, errors } = cache(source, sleeps);
    c.start();
    await source.idle;
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ScalewiseError);
    assert.equal(errors[0].code, 'KUBERNETES_API');
    assert.equal(errors[0].retriable, true);
    assert.match(errors[0].message, /watching things: 500 etcd leader changed/);
    assert.deepEqual(sleeps, [100]);
    assert.deepEqual(source.watchCalls, ['5', '50']);
    await c.stop();
  });

  test('a forbidden list is reported as not retriable, and the cache keeps trying (RBAC may be fixed)', async () => {
    const source = new FakeSource([httpError(403), { items: [], resourceVersion: '1' }], []);
    const { c, errors } = cache(source);
    c.start();
    await c.synced;
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as ScalewiseError).retriable, false);
    await c.stop();
  });

  test('a listener that throws neither stops the cache nor hides: reported as INTERNAL', async () => {
    const source = new FakeSource(
      [{ items: [raw('a', 1)], resourceVersion: '5' }],
      [(_rv, emit) => emit('ADDED', raw('b', 6))],
    );
    const { c, events, errors } = cache(source);
    c.on(() => {
      throw new Error('listener bug');
    });
    c.start();
    await source.idle;
    assert.deepEqual(events, ['add a@1', 'add b@6']);
    assert.equal(errors.length, 2);
    assert.equal((errors[0] as ScalewiseError).code, 'INTERNAL');
    await c.stop();
  });

  test('stopping before the first list rejects synced; start and stop are idempotent', async () => {
    const source = new FakeSource([refused(), refused(), refused()], []);
    const never = new WatchCache<Item>(
      source,
      { what: 'things', project: (r) => r as Item, key: (i) => i.name },
      { sleep: (_ms, signal) => new Promise((r) => signal.addEventListener('abort', r, { once: true })) },
    );
    never.start().start();
    await never.stop();
    await never.stop();
    await assert.rejects(
      never.synced,
      (e: unknown) => e instanceof ScalewiseError && e.code === 'SHUTTING_DOWN',
    );
    assert.equal(source.listCalls.length, 1, 'stopped in the backoff, no further attempt');
  });

  test('unsubscribing stops the events', async () => {
    const source = new FakeSource(
      [{ items: [raw('a', 1)], resourceVersion: '5' }],
      [(_rv, emit) => emit('ADDED', raw('b', 6))],
    );
    const { c } = cache(source);
    const seen: string[] = [];
    const off = c.on((e) => {
      seen.push(e.object.name);
      off();
    });
    c.start();
    await source.idle;
    assert.deepEqual(seen, ['a']);
    await c.stop();
  });
});

// A fake source that also streams lists: each scripted stream emits, then ends (the server's
// end) unless the cache aborts it first; an Error is thrown as the stream's failure.
type StreamScript = ((emit: Emit, signal: AbortSignal) => Promise<void> | void) | Error;
class StreamingSource extends FakeSource {
  streams: StreamScript[];
  streamCalls = 0;
  abortedAtEnd: boolean[] = [];
  constructor(streams: StreamScript[], lists: (ListPage<Raw> | Error)[], watches: WatchScript[]) {
    super(lists, watches);
    this.streams = streams;
  }
  async watchList(onEvent: Emit, signal: AbortSignal): Promise<void> {
    this.streamCalls++;
    const next = this.streams.shift();
    if (!next) throw new Error('no more streams scripted');
    if (next instanceof Error) throw next;
    await next(onEvent, signal);
    this.abortedAtEnd.push(signal.aborted);
  }
}

const endOfInitial = (rv: number) => ({
  metadata: { resourceVersion: String(rv), annotations: { 'k8s.io/initial-events-end': 'true' } },
});
/**
 * A streamed list of `objects` as ADDED events, ended by the initial-events bookmark at
 * `rv`; without `rv`, as a server that ignores the parameter ends it: with no bookmark.
 */
const streamed =
  (objects: Raw[], rv?: number): StreamScript =>
  (emit) => {
    for (const o of objects) emit('ADDED', o);
    if (rv !== undefined) emit('BOOKMARK', endOfInitial(rv));
  };
const statusCoded = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });

describe('watch cache, streaming lists', () => {
  test('objects as ADDED events up to the initial-events bookmark: synced, the stream ended there, the watch from its resourceVersion', async () => {
    const source = new StreamingSource(
      [
        (emit) => {
          emit('ADDED', raw('a', 1));
          emit('ADDED', raw('b', 2));
          emit('BOOKMARK', { metadata: { resourceVersion: '5' } });
          emit('ADDED', raw('c', 3));
          emit('BOOKMARK', endOfInitial(10));
          // Anything the server sends after the end of the initial events is the watch's, not the list's.
          emit('ADDED', raw('late', 11));
        },
      ],
      [],
      [],
    );
    const { c, events, errors } = await settled(source);
    assert.deepEqual(events, ['add a@1', 'add b@2', 'add c@3']);
    assert.equal(c.get('late'), undefined);
    assert.deepEqual(source.abortedAtEnd, [true], 'the cache ended the stream at the bookmark');
    assert.deepEqual(source.listCalls, [], 'no page listed');
    assert.deepEqual(source.watchCalls, ['10']);
    const s = c.stats();
    assert.deepEqual([s.lists, s.streamedLists, s.relists], [1, 1, 0]);
    assert.deepEqual(errors, []);
    await c.stop();
  });

  test('a relist after 410 streams too, and reports the difference as add, update and delete', async () => {
    const source = new StreamingSource(
      [streamed([raw('a', 1), raw('b', 2)], 10), streamed([raw('a', 12, 1), raw('c', 13)], 20)],
      [],
      [(_rv, emit) => emit('ERROR', { code: 410, reason: 'Expired' })],
    );
    const { c, events, errors } = cache(source);
    c.start();
    await source.idle;
    assert.deepEqual(events, ['add a@1', 'add b@2', 'update a@12', 'add c@13', 'delete b@2']);
    assert.deepEqual(source.watchCalls, ['10', '20']);
    assert.deepEqual([c.stats().streamedLists, c.stats().relists], [2, 1]);
    assert.deepEqual(errors, []);
    await c.stop();
  });

  for (const code of [400, 422]) {
    test(`a server that refuses to stream lists (${code}): pages, now and for every later list`, async () => {
      const source = new StreamingSource(
        [statusCoded(code)],
        [
          { items: [raw('a', 1), raw('b', 2)], resourceVersion: '10', continue: 'p2' },
          { items: [raw('c', 3)], resourceVersion: '10' },
          { items: [raw('a', 1)], resourceVersion: '30' },
        ],
        [(_rv, emit) => emit('ERROR', { code: 410 })],
      );
      const { c, events, errors } = await settled(source);
      assert.equal(source.streamCalls, 1, 'asked once');
      assert.deepEqual(source.listCalls, [undefined, 'p2', undefined]);
      assert.deepEqual(events, ['add a@1', 'add b@2', 'add c@3', 'delete b@2', 'delete c@3']);
      assert.deepEqual([c.stats().streamedLists, c.stats().lists], [0, 2]);
      assert.deepEqual(errors, [], 'a refusal is not a failure');
      await c.stop();
    });
  }

  test('a forbidden stream is reported as not retriable, and streamed again after a pause (RBAC may be fixed)', async () => {
    const sleeps: number[] = [];
    const source = new StreamingSource([statusCoded(403), streamed([], 3)], [], []);
    const { c, errors } = cache(source, sleeps);
    c.start();
    await c.synced;
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as ScalewiseError).retriable, false);
    assert.match(errors[0]?.message ?? '', /listing things: 403/);
    assert.deepEqual(source.listCalls, []);
    assert.deepEqual(sleeps, [100]);
    await c.stop();
  });

  test('a stream the server ends without the initial-events bookmark (a server that ignores the parameter): pages, and nothing it sent is kept', async () => {
    const source = new StreamingSource(
      [streamed([raw('a', 1), raw('ghost', 2)])],
      [{ items: [raw('a', 1)], resourceVersion: '7' }],
      [],
    );
    const { c, events, errors } = await settled(source);
    assert.deepEqual(events, ['add a@1']);
    assert.deepEqual(source.watchCalls, ['7']);
    assert.deepEqual(errors, []);
    await c.stop();
  });

  test('objects, then silence without the bookmark (a plain watch from a server that ignores the parameter): pages', async () => {
    const source = new StreamingSource(
      [
        (emit) => {
          emit('ADDED', raw('a', 1));
          throw Object.assign(new Error('no byte from the API server in 15000 ms'), { code: 'ETIMEDOUT' });
        },
      ],
      [{ items: [raw('a', 1)], resourceVersion: '7' }],
      [],
    );
    const { c, errors } = cache(source);
    c.start();
    await c.synced;
    assert.deepEqual(source.listCalls, [undefined]);
    assert.deepEqual(errors, []);
    await c.stop();
  });

  test('a stream that breaks (5xx, no answer, an ERROR event): reported as retriable, backoff, streamed again', async () => {
    const sleeps: number[] = [];
    const source = new StreamingSource(
      [
        statusCoded(503),
        // Silence before any object: a dead connection, not a server that ignores the parameter.
        Object.assign(new Error('no byte from the API server in 15000 ms'), { code: 'ETIMEDOUT' }),
        refused(),
        (emit) => {
          emit('ADDED', raw('a', 1));
          emit('ERROR', { code: 500, message: 'etcd is unhappy' });
        },
        streamed([raw('a', 1)], 9),
      ],
      [],
      [],
    );
    const { c, events, errors } = await settled(source, sleeps);
    assert.equal(source.streamCalls, 5);
    assert.deepEqual(source.listCalls, [], 'a failure is not a refusal: never paged');
    assert.deepEqual(events, ['add a@1']);
    assert.equal(errors.length, 4);
    for (const e of errors) {
      assert.ok(e instanceof ScalewiseError, String(e));
      assert.equal(e.retriable, true, e.message);
      assert.match(e.message, /listing things/);
    }
    assert.match(errors[3]?.message ?? '', /etcd is unhappy/);
    assert.deepEqual(sleeps, [100, 200, 400, 800]);
    await c.stop();
  });
});

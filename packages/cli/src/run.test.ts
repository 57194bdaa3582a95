// The command line end to end without servers: help, usage errors, exit statuses, and the
// REST commands against an in-process fetch stand-in (no sockets).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import type { Io } from './context.ts';
import { getJson } from './http.ts';
import { run } from './run.ts';

function fakeIo(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env,
    signal: new AbortController().signal,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

describe('run', () => {
  test('no command prints the overview and exits 0', async () => {
    const f = fakeIo();
    assert.equal(await run([], f.io), 0);
    assert.match(f.out(), /^Usage: scalewise <command>/);
    for (const c of ['tail', 'trigger', 'explain', 'status', 'replay', 'dlq'])
      assert.match(f.out(), new RegExp(`  ${c} `));
  });

  test('--version, -V and version print the package version on stdout, exit 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V', 'version']) {
      const f = fakeIo();
      assert.equal(await run([flag], f.io), 0, flag);
      // From the sources; a build names its commit instead (pack.int.test.ts).
      assert.equal(f.out(), `scalewise ${version} (from source)\n`, flag);
      assert.equal(f.err(), '');
    }
  });

  test('each command has --help on stdout, exit 0', async () => {
    for (const argv of [
      ['tail', '--help'],
      ['trigger', '--help'],
      ['trigger', 'scale', '-h'],
      ['explain', '-h'],
      ['status', '--help'],
      ['help', 'tail'],
    ]) {
      const f = fakeIo();
      assert.equal(await run(argv, f.io), 0, argv.join(' '));
      assert.match(f.out(), /Usage:/, argv.join(' '));
      assert.equal(f.err(), '');
    }
  });

  test('replay and dlq help comes from the bus commands, without reaching anything', async () => {
    const f = fakeIo();
    assert.equal(await run(['replay', '--help'], f.io), 0);
    assert.match(f.out(), /Usage: scalewise replay \[options\]/);
    assert.match(f.out(), /--from-offset <offset>/);
    const g = fakeIo();
    assert.equal(await run(['dlq', '--help'], g.io), 0);
    assert.match(g.out(), /list \[options\]/);
  });

  test('a bad flag exits 2 with one line naming it, then the synopsis', async () => {
    const f = fakeIo();
    assert.equal(await run(['tail', '--types', 'X'], f.io), 2);
    const [first, second] = f.err().split('\n');
    assert.equal(first, "scalewise tail: Unknown option '--types'");
    assert.match(second as string, /^Usage: scalewise tail /);
    assert.match(f.err(), /\(more: scalewise tail --help\)/);
    assert.equal(f.out(), '');
  });

  test('an unknown command exits 2', async () => {
    const f = fakeIo();
    assert.equal(await run(['scale'], f.io), 2);
    assert.match(f.err(), /^scalewise: unknown command 'scale'\n/);
  });

  test("a bad replay flag is the bus parser's usage error, exit 2", async () => {
    const f = fakeIo({ KAFKA_BROKERS: '127.0.0.1:1' });
    assert.equal(await run(['replay', '--topic', 'nodes', '--to', 'soon'], f.io), 2);
    assert.match(f.err(), /'soon' is not a time/);
  });

  test('an invalid configuration from the environment is one error naming the key, exit 1', async () => {
    const f = fakeIo({ KAFKA_BROKERS: 'not a broker' });
    assert.equal(await run(['trigger', 'pause', '--pool', 'w'], f.io), 1);
    assert.match(
      f.err(),
      /^scalewise trigger: INVALID_CONFIG: .*\n.*kafka\.brokers\[0\]: host:port \(from KAFKA_BROKERS\)/,
    );
  });
});

describe('getJson', () => {
  const answer = (status: number, body: unknown) =>
    (async () =>
      new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      })) as typeof fetch;

  test('sends the bearer token and returns the body', async () => {
    let auth: string | null = null;
    const fetchStub = (async (_url: string | URL | Request, init?: RequestInit) => {
      auth = new Headers(init?.headers).get('authorization');
      return new Response('{"pools":[]}', { status: 200 });
    }) as typeof fetch;
    const body = await getJson('http://127.0.0.1:1/v1/pools', {
      service: 'decision-engine',
      token: 'tok',
      timeoutMs: 1000,
      fetch: fetchStub,
    });
    assert.deepEqual(body, { pools: [] });
    assert.equal(auth, 'Bearer tok');
  });

  test("a 404 is the service's NOT_FOUND with its message", async () => {
    const p = getJson('http://127.0.0.1:1/v1/pools/x', {
      service: 'decision-engine',
      timeoutMs: 1000,
      fetch: answer(404, { error: { code: 'NOT_FOUND', message: "no pool named 'x' in the configuration" } }),
    });
    await assert.rejects(
      p,
      (e: unknown) =>
        e instanceof ScalewiseError &&
        e.code === 'NOT_FOUND' &&
        e.message === "decision-engine: no pool named 'x' in the configuration",
    );
  });

  test('a 401 says how to give a token', async () => {
    const p = getJson('http://127.0.0.1:1/v1/events', {
      service: 'alert-manager',
      timeoutMs: 1000,
      fetch: answer(401, { error: { code: 'UNAUTHORIZED', message: 'a bearer token is required' } }),
    });
    await assert.rejects(p, /pass --token or --token-file, or set SCALEWISE_API_TOKEN/);
  });

  test('a network failure names the service and its address', async () => {
    const refused = (async () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      });
    }) as typeof fetch;
    await assert.rejects(
      getJson('http://127.0.0.1:1/v1/explain/a', {
        service: 'alert-manager',
        timeoutMs: 1000,
        fetch: refused,
      }),
      (e: unknown) =>
        e instanceof ScalewiseError &&
        e.code === 'DEPENDENCY_UNAVAILABLE' &&
        /alert-manager at http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/.test(e.message),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError, createApi, errorMessage } from './api.ts';

type Call = { url: string; init: RequestInit | undefined };

function fakeFetch(status: number, body: unknown, calls: Call[] = []) {
  return async (url: string, init?: RequestInit) => {
    calls.push({ url, init });
    return new Response(status === 204 ? null : JSON.stringify(body), { status });
  };
}

describe('the console API client', () => {
  test('every call carries the bearer token; bodies are JSON', async () => {
    const calls: Call[] = [];
    const api = createApi('http://am', 'tok', fakeFetch(201, { id: 's1' }, calls));
    await api.addSilence({ pools: ['gpu'], endsAt: '2026-11-22T12:00:00Z', comment: 'upgrade' });
    assert.equal(calls[0]?.url, 'http://am/v1/silences');
    assert.equal(calls[0]?.init?.method, 'POST');
    assert.deepEqual(calls[0]?.init?.headers, {
      authorization: 'Bearer tok',
      'content-type': 'application/json',
    });
    assert.deepEqual(JSON.parse(String(calls[0]?.init?.body)), {
      pools: ['gpu'],
      endsAt: '2026-11-22T12:00:00Z',
      comment: 'upgrade',
    });
  });

  test('an empty token sends no Authorization header (the probe of a server that asks for none)', async () => {
    const calls: Call[] = [];
    await createApi('', '', fakeFetch(200, { alerts: [] }, calls)).alerts();
    assert.deepEqual(calls[0]?.init?.headers, {});
  });

  test('answers are unwrapped; ids are escaped in paths', async () => {
    const calls: Call[] = [];
    const api = createApi('', 't', fakeFetch(200, { events: [{ id: 'e1' }], alerts: [], pools: [] }, calls));
    assert.deepEqual(await api.events('limit=1'), [{ id: 'e1' }]);
    assert.deepEqual(await api.alerts(), []);
    await api.explain('a/b');
    assert.equal(calls[2]?.url, '/v1/explain/a%2Fb');
    await createApi('', 't', fakeFetch(204, undefined)).removeSilence('s1');
  });

  test('a refused token is a 401 ApiError that says to check the token', async () => {
    const api = createApi(
      '',
      'wrong',
      fakeFetch(401, { error: { code: 'UNAUTHORIZED', message: 'a bearer token is required' } }),
    );
    await assert.rejects(api.alerts(), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.match(err.message, /token was refused \(401\)/);
      return true;
    });
  });

  test('other failures name the server message; an unreachable server says so', async () => {
    const notFound = createApi(
      '',
      't',
      fakeFetch(404, { error: { code: 'NOT_FOUND', message: "no event with id 'x' in the history" } }),
    );
    await assert.rejects(notFound.explain('x'), /no event with id 'x' in the history \(404\)/);
    const down = createApi('', 't', async () => {
      throw new TypeError('Failed to fetch');
    });
    await assert.rejects(down.silences(), (err: unknown) => err instanceof ApiError && err.status === 0);
    assert.match(errorMessage(0, 'Failed to fetch'), /did not answer: Failed to fetch/);
    assert.match(errorMessage(403, 'silences need http.api_token'), /^Not allowed \(403\)/);
  });
});

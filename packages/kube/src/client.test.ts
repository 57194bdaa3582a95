import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isRetriable, ScalewiseError } from '@scalewise/errors';
import { isNetworkError, isStatus, kubeCall, statusOf, toKubeError } from './client.ts';
import { ApiStatusError } from './raw-api.ts';

const api = (code: number, message = 'nope') =>
  new ApiStatusError(code, { kind: 'Status', code, message }, 'GET /api/v1/nodes/a');
const refused = () =>
  new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
  });

describe('API errors in the catalogue', () => {
  test("answers: 410, 429 and 5xx are retriable; other 4xx are not; the server's message is kept", () => {
    const cases: [number, boolean][] = [
      [400, false],
      [401, false],
      [403, false],
      [404, false],
      [409, false],
      [410, true],
      [422, false],
      [429, true],
      [500, true],
      [503, true],
      [504, true],
    ];
    for (const [code, retriable] of cases) {
      const e = toKubeError('reading node a', api(code, 'the reason'));
      assert.ok(e instanceof ScalewiseError);
      assert.equal(e.code, 'KUBERNETES_API');
      assert.equal(e.retriable, retriable, String(code));
      assert.equal(isRetriable(e), retriable);
      assert.equal(e.message, `reading node a: ${code} the reason`);
      assert.equal(e.details.status, code);
      assert.ok(isStatus(e, code));
    }
  });

  test('no answer (refused, reset, timed out) is DEPENDENCY_UNAVAILABLE, retriable, even though undici throws a TypeError', () => {
    const e = toKubeError('listing nodes', refused());
    assert.ok(e instanceof ScalewiseError);
    assert.equal(e.code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(e.retriable, true);
    assert.equal(
      e.message,
      'listing nodes: the API server did not answer (connect ECONNREFUSED 127.0.0.1:6443)',
    );
    assert.ok(isNetworkError(new DOMException('aborted', 'TimeoutError')));
    assert.ok(isNetworkError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
  });

  test('a programming error stays what it is, so it is never retried', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'items')");
    assert.equal(toKubeError('x', bug), bug);
    assert.equal(isRetriable(toKubeError('x', bug)), false);
    assert.equal(isNetworkError(bug), false);
  });

  test('the status of an ApiStatusError (code) and of errors that say statusCode', () => {
    assert.equal(statusOf(api(404)), 404);
    assert.equal(statusOf(Object.assign(new Error('Gone'), { statusCode: 410 })), 410);
    assert.equal(statusOf(new Error('x')), undefined);
    assert.equal(statusOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), undefined);
  });

  test('kubeCall passes results through and classes failures', async () => {
    assert.equal(await kubeCall('x', async () => 7), 7);
    await assert.rejects(
      kubeCall('creating node a', async () => {
        throw api(409, 'nodes "a" already exists');
      }),
      (e: unknown) =>
        e instanceof ScalewiseError && e.code === 'KUBERNETES_API' && isStatus(e, 409) && !e.retriable,
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorOfAnswer, parseWorkers, provisionerErrors } from './external-contract.ts';

const context = { provisioner: 'http://127.0.0.1:1', pool: 'vms', operation: 'create' };

describe('provisioner errors to ScalingActionFailed reasons', () => {
  test('given each contract code, then its reason is PROVISIONER_<code> and its retriability the catalogue’s', () => {
    for (const [code, { status, retriable }] of Object.entries(provisionerErrors)) {
      const e = errorOfAnswer(status, { error: { code, message: 'm' } }, context);
      assert.equal(e.code, 'PROVISIONER_API');
      assert.equal(e.details.reason, `PROVISIONER_${code}`);
      assert.equal(e.retriable, retriable, code);
    }
  });

  test('given QUOTA_EXCEEDED, then not retriable; given CAPACITY_UNAVAILABLE, then retriable', () => {
    assert.equal(
      errorOfAnswer(422, { error: { code: 'QUOTA_EXCEEDED', message: 'm' } }, context).retriable,
      false,
    );
    assert.equal(
      errorOfAnswer(503, { error: { code: 'CAPACITY_UNAVAILABLE', message: 'm' } }, context).retriable,
      true,
    );
  });

  test('given the provisioner’s own retriable flag, then it wins over the code', () => {
    const e = errorOfAnswer(
      422,
      { error: { code: 'QUOTA_EXCEEDED', message: 'm', retriable: true } },
      context,
    );
    assert.equal(e.retriable, true);
  });

  test('given an unknown code or no contract body, then judged by the status: 5xx, 408, 429 retriable, other 4xx not', () => {
    assert.equal(errorOfAnswer(500, 'oops', context).details.reason, 'PROVISIONER_HTTP_500');
    assert.equal(errorOfAnswer(500, undefined, context).retriable, true);
    assert.equal(errorOfAnswer(408, undefined, context).retriable, true);
    assert.equal(errorOfAnswer(418, { error: { code: 'TEAPOT', message: 'm' } }, context).retriable, false);
    assert.equal(
      errorOfAnswer(418, { error: { code: 'TEAPOT', message: 'm' } }, context).details.reason,
      'PROVISIONER_TEAPOT',
    );
    assert.equal(
      errorOfAnswer(400, { error: { code: 'not a code!', message: 'm' } }, context).details.reason,
      'PROVISIONER_HTTP_400',
    );
  });
});

describe('answers outside the contract', () => {
  const worker = {
    name: 'w-1',
    provider_id: 'vm://1',
    state: 'running',
    idempotency_key: 'a',
    created_at: '2026-01-01T00:00:00Z',
  };
  test('given contract workers, then parsed as they are', () => {
    assert.deepEqual(parseWorkers({ workers: [worker] }, context), [worker]);
  });
  test('given a worker without a provider id or with an unknown state, then PROVISIONER_BAD_RESPONSE naming the field, not retriable', () => {
    for (const [bad, field] of [
      [{ ...worker, provider_id: '' }, 'workers[0].provider_id'],
      [{ ...worker, state: 'booting' }, 'workers[0].state'],
      [undefined, 'no workers array'],
    ] as const) {
      assert.throws(
        () => parseWorkers(bad === undefined ? {} : { workers: [bad] }, context),
        (e: Error & { details?: Record<string, unknown>; retriable?: boolean }) =>
          e.details?.reason === 'PROVISIONER_BAD_RESPONSE' &&
          e.retriable === false &&
          e.message.includes(field),
      );
    }
  });
});

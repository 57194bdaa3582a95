import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorCatalogue, errorCode, isRetriable, ScalewiseError } from './index.ts';

describe('ScalewiseError', () => {
  test('takes retriability and HTTP status from the catalogue', () => {
    const e = new ScalewiseError('SCHEMA_VIOLATION', 'data.count must be a number');
    assert.equal(e.retriable, false);
    assert.equal(e.status, 400);
    const d = new ScalewiseError('DEPENDENCY_UNAVAILABLE', 'redis down');
    assert.equal(d.retriable, true);
    assert.equal(d.status, 503);
  });

  test('a caller may override retriability, and the cause is kept', () => {
    const cause = new Error('boom');
    const e = new ScalewiseError('HANDLER_FAILED', 'x', { retriable: false, cause });
    assert.equal(e.retriable, false);
    assert.equal(e.cause, cause);
  });

  test('every catalogue entry has a 4xx or 5xx status', () => {
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      assert.ok(entry.status >= 400 && entry.status < 600, code);
    }
  });
});

describe('isRetriable', () => {
  test('never retries a programming error', () => {
    assert.equal(isRetriable(new TypeError('x is undefined')), false);
    assert.equal(isRetriable(new RangeError('bad')), false);
    assert.equal(errorCode(new TypeError('x')), 'INTERNAL');
  });

  test('honours a retriable flag on foreign errors (kafkajs style) and retries the unknown', () => {
    assert.equal(isRetriable(Object.assign(new Error('leader not available'), { retriable: true })), true);
    assert.equal(isRetriable(Object.assign(new Error('invalid topic'), { retriable: false })), false);
    assert.equal(isRetriable(new Error('ECONNREFUSED')), true);
    assert.equal(errorCode(new Error('x')), 'HANDLER_FAILED');
  });
});

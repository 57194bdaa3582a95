import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { budgetInRefusal } from './drain.ts';

describe('the budget named in a refused eviction', () => {
  const status = {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message: "Cannot evict pod as it would violate the pod's disruption budget.",
    reason: 'TooManyRequests',
    details: {
      causes: [
        {
          reason: 'DisruptionBudget',
          message: 'The disruption budget web-pdb needs 2 healthy pods and has 2 currently',
        },
      ],
    },
    code: 429,
  };

  test('read from the 429 Status, as text or parsed', () => {
    const want = {
      name: 'web-pdb',
      message: 'The disruption budget web-pdb needs 2 healthy pods and has 2 currently',
    };
    assert.deepEqual(budgetInRefusal(JSON.stringify(status)), want);
    assert.deepEqual(budgetInRefusal(status), want);
  });

  test('nothing when the body names no budget (rate limiting, another cause, no body)', () => {
    assert.equal(
      budgetInRefusal({ ...status, details: { causes: [{ reason: 'Other', message: 'x' }] } }),
      undefined,
    );
    assert.equal(budgetInRefusal('Too many requests, please try again later.'), undefined);
    assert.equal(budgetInRefusal(undefined), undefined);
  });
});

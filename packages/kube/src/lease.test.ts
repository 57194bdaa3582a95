import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { leaseStep, leaseView } from './lease.ts';

const T0 = Date.parse('2026-11-23T12:00:00Z');

describe('leaseStep', () => {
  test('no Lease: create it; ours: renew; another held within its duration: follow; past it: acquire', () => {
    assert.equal(leaseStep(null, 'a', T0), 'create');
    assert.equal(leaseStep({ holder: 'a', renewedAt: T0 - 60_000, durationSeconds: 15 }, 'a', T0), 'renew');
    assert.equal(leaseStep({ holder: 'b', renewedAt: T0 - 14_999, durationSeconds: 15 }, 'a', T0), 'follow');
    assert.equal(leaseStep({ holder: 'b', renewedAt: T0 - 15_000, durationSeconds: 15 }, 'a', T0), 'acquire');
  });

  test('a released Lease (no holder) is taken at once', () => {
    assert.equal(leaseStep({ holder: null, renewedAt: T0, durationSeconds: 15 }, 'a', T0), 'acquire');
  });

  test('two candidates reading the same Lease at the same time never both keep or take it without a write', () => {
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom('a', 'b', 'c'), { nil: null }),
        fc.integer({ min: 0, max: 120_000 }),
        fc.integer({ min: 1, max: 60 }),
        (holder, age, duration) => {
          const lease = { holder, renewedAt: T0 - age, durationSeconds: duration };
          const steps = ['a', 'b'].map((me) => leaseStep(lease, me, T0));
          // At most one renews (the holder); when the Lease is valid and held by another, the rest follow.
          assert.ok(steps.filter((s) => s === 'renew').length <= 1);
          if (holder !== null && age < duration * 1000) {
            for (const [i, me] of ['a', 'b'].entries()) {
              assert.equal(steps[i], me === holder ? 'renew' : 'follow');
            }
          }
        },
      ),
    );
  });
});

describe('leaseView', () => {
  test('reads holder, renewal time (or acquisition) and duration; an empty holder is none', () => {
    assert.deepEqual(
      leaseView({
        spec: { holderIdentity: 'a', renewTime: new Date(T0).toISOString(), leaseDurationSeconds: 10 },
      }),
      { holder: 'a', renewedAt: T0, durationSeconds: 10 },
    );
    assert.deepEqual(leaseView({ spec: { holderIdentity: '', acquireTime: new Date(T0).toISOString() } }), {
      holder: null,
      renewedAt: T0,
      durationSeconds: 15,
    });
  });
});

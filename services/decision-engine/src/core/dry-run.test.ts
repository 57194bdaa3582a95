import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { names, one, pool, quiet, validateAll, when } from './fixtures.ts';
import { GiB, pending, pressure, underutilized } from './inputs.ts';
import { definePoolPolicy } from './policy.ts';

describe('dry_run pools', () => {
  test('Given a dry-run pool with pods pending, When it decides, Then the decision is marked and explained as a dry run', () => {
    const { state } = quiet(3, pool({ dryRun: true }));
    const { events, state: after } = when(state, pending(3, 6000, 3 * GiB), 1);
    const d = one(events, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.dry_run, true);
    assert.equal(d.count, 2);
    assert.match(d.explanation.summary, /^Dry run, nothing is done: /);
    validateAll(events);
    // Nothing will carry it out: it is not in flight, so it does not block what follows.
    assert.equal(after.pools.workers?.inFlight.length, 0);
  });

  test('Given a dry-run pool, When pods stay pending, Then every report says again what it would do', () => {
    const { state } = quiet(3, pool({ dryRun: true }));
    const first = when(state, pending(3, 6000, 3 * GiB), 1);
    const second = when(first.state, pending(3, 6000, 3 * GiB), 2);
    assert.equal(one(second.events, 'io.scalewise.ScaleUpDecision').desired_workers, 5);
  });

  test('Given a dry-run pool, When pressure repeats, Then the cooldown still spaces the decisions', () => {
    const { state } = quiet(3, pool({ dryRun: true }));
    const first = when(state, pressure(3, 90, 50), 1);
    assert.equal(one(first.events, 'io.scalewise.ScaleUpDecision').dry_run, true);
    assert.deepEqual(names(when(first.state, pressure(3, 90, 50), 30).events), []);
    assert.equal(
      one(when(first.state, pressure(3, 90, 50), 62).events, 'io.scalewise.ScaleUpDecision').dry_run,
      true,
    );
  });

  test('Given a dry-run pool idle for 300 s, When it scales down, Then the ScaleDownDecision is marked too', () => {
    const { state } = quiet(4, pool({ dryRun: true }));
    const { events } = when(state, underutilized(4, 10, 10), 400);
    assert.equal(one(events, 'io.scalewise.ScaleDownDecision').dry_run, true);
    validateAll(events);
  });

  test('Given an ordinary pool, Then decisions carry no dry_run field and are tracked in flight', () => {
    const { state } = quiet(3);
    const { events, state: after } = when(state, pending(3, 6000, 3 * GiB), 1);
    assert.equal(one(events, 'io.scalewise.ScaleUpDecision').dry_run, undefined);
    assert.equal(after.pools.workers?.inFlight.length, 1);
  });

  test('definePoolPolicy: dryRun defaults to false and must be a boolean', () => {
    assert.equal(definePoolPolicy({ name: 'p', min: 0, max: 2 }).dryRun, false);
    assert.throws(
      () => definePoolPolicy({ name: 'p', min: 0, max: 2, dryRun: 'yes' as unknown as boolean }),
      /pool 'p': dryRun must be a boolean/,
    );
  });
});

// The periodic floor check against a fake clock: the interval is stepped, never slept through.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { AnyScalewiseEvent } from '@scalewise/events';
import { defineFloorPolicy, type EnforcerInput } from '../core/index.ts';
import { createFloorCheck, type FloorCheckDeps } from './floor-check.ts';

const INTERVAL = 10_000;
const policies = new Map(['a', 'b'].map((name) => [name, defineFloorPolicy({ name, min: 1, max: 3 })]));
const event = (id: string) => ({ id }) as AnyScalewiseEvent;
/** Lets every promise callback queued so far run (setImmediate is not faked). */
const settle = () => new Promise((r) => setImmediate(r));

function harness(overrides: Partial<FloorCheckDeps> = {}) {
  const ticks: string[] = [];
  const published: string[][] = [];
  const deps: FloorCheckDeps = {
    policies,
    intervalMs: INTERVAL,
    now: () => Date.now(),
    log: { error: () => undefined },
    records: {
      apply: async (_policy, input: EnforcerInput) => {
        ticks.push(input.id);
        return { outputs: [event(`${input.id}/out`)], replayed: false, attempts: 1, ledger: {} as never };
      },
    },
    publish: async (...events) => {
      published.push(events.map((e) => e.id));
    },
    ...overrides,
  };
  return { loop: createFloorCheck(deps), ticks, published };
}

describe('the floor check loop', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'Date'], now: 25_000 }));
  afterEach(() => mock.timers.reset());

  test('each interval checks every pool, under a tick named after the interval', async () => {
    const { loop, ticks, published } = harness();
    loop.start();
    mock.timers.tick(INTERVAL);
    await settle();
    assert.deepEqual(ticks, ['check/a/3', 'check/b/3']);
    assert.deepEqual(published, [['check/a/3/out', 'check/b/3/out']]);
    mock.timers.tick(INTERVAL);
    await settle();
    assert.deepEqual(ticks.slice(2), ['check/a/4', 'check/b/4']);
    await loop.stop();
  });

  test('a slow check is never overlapped by the next', async () => {
    let active = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const { loop } = harness({
      records: {
        apply: async () => {
          active += 1;
          most = Math.max(most, active);
          await new Promise<void>((r) => gates.push(r));
          active -= 1;
          return { outputs: [], replayed: false, attempts: 1, ledger: {} as never };
        },
      },
    });
    loop.start();
    mock.timers.tick(INTERVAL * 3);
    for (let i = 0; i < 6; i++) {
      await settle();
      gates.shift()?.();
    }
    await settle();
    assert.equal(most, 1);
    await loop.stop();
  });

  test('what could not be published goes first at the next check', async () => {
    let fail = true;
    const published: string[][] = [];
    const { loop } = harness({
      publish: async (...events) => {
        if (fail) throw new Error('broker down');
        published.push(events.map((e) => e.id));
      },
    });
    await loop.check();
    fail = false;
    mock.timers.tick(INTERVAL);
    await loop.check();
    assert.deepEqual(published, [['check/a/2/out', 'check/b/2/out', 'check/a/3/out', 'check/b/3/out']]);
  });

  test('a pool whose check fails leaves the others checked', async () => {
    const { loop, published } = harness({
      records: {
        apply: async (policy, input) => {
          if (policy.name === 'a') throw new Error('redis down');
          return { outputs: [event(`${input.id}/out`)], replayed: false, attempts: 1, ledger: {} as never };
        },
      },
    });
    assert.deepEqual(
      (await loop.check()).map((e) => e.id),
      ['check/b/2/out'],
    );
    assert.deepEqual(published, [['check/b/2/out']]);
  });
});

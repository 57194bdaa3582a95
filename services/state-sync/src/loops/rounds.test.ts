import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRounds } from './rounds.ts';

const unexpected = (err: unknown) => assert.fail(`a round threw: ${String(err)}`);

/** A round that ends when the test says so. */
function gated() {
  const gates: (() => void)[] = [];
  let runs = 0;
  const run = () => {
    runs += 1;
    return new Promise<void>((resolve) => gates.push(resolve));
  };
  return {
    run,
    runs: () => runs,
    open: () => gates.shift()?.(),
  };
}

describe('coalesced rounds', () => {
  test('Given 5,000 requests while a round runs, Then exactly one more round runs after it', async () => {
    const g = gated();
    const rounds = createRounds(g.run, unexpected);
    rounds.request();
    for (let i = 0; i < 5_000; i++) rounds.request();
    assert.equal(g.runs(), 1);
    g.open();
    await new Promise((r) => setImmediate(r));
    assert.equal(g.runs(), 2, 'the queued one');
    g.open();
    await rounds.idle();
    assert.equal(g.runs(), 2);
  });

  test('Given no round running, Then a request runs one at once', async () => {
    let runs = 0;
    const rounds = createRounds(async () => {
      runs += 1;
    }, unexpected);
    rounds.request();
    await rounds.idle();
    rounds.request();
    await rounds.idle();
    assert.equal(runs, 2);
  });

  test('Given a round that throws, Then the error is told and the next request runs again', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const rounds = createRounds(
      async () => {
        runs += 1;
        if (runs === 1) throw new Error('redis down');
      },
      (err) => errors.push(err),
    );
    rounds.request();
    await rounds.idle();
    rounds.request();
    await rounds.idle();
    assert.deepEqual([runs, errors.length], [2, 1]);
  });

  test('Given stop while a round runs with one queued, Then stop waits for the running one and the queued one never runs', async () => {
    const g = gated();
    const rounds = createRounds(g.run, unexpected);
    rounds.request();
    rounds.request();
    const stopped = rounds.stop();
    g.open();
    await stopped;
    rounds.request();
    await rounds.idle();
    assert.equal(g.runs(), 1);
  });
});

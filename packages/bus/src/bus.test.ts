import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { createEvent, sampleData } from '@scalewise/events';
import fc from 'fast-check';
import kafkajs from 'kafkajs';
import { createBreaker } from './breaker.ts';
import { deadLetterKey } from './dlq.ts';
import { asReplay, replayMatches } from './replay.ts';
import { backoffMs, withRetry } from './retry.ts';
import { isDependencyFailure, isFenced } from './subscriber.ts';

const { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;
const policy = { maxAttempts: 4, baseMs: 100, maxMs: 1000 };
const noSleep = async () => {};

describe('retry', () => {
  test('property: the wait is within [0, min(max, base * 2^(n-1)))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (n, r) => {
          const ms = backoffMs(n, policy, () => r);
          assert.ok(ms >= 0 && ms < Math.min(1000, 100 * 2 ** (n - 1)));
        },
      ),
    );
  });

  test('a retriable failure is retried until it succeeds', async () => {
    let calls = 0;
    const r = await withRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw new ScalewiseError('DEPENDENCY_UNAVAILABLE', 'down');
        return 'ok';
      },
      policy,
      { sleep: noSleep },
    );
    assert.deepEqual(r, { value: 'ok', attempts: 3 });
  });

  test('a TypeError or a schema violation is not retried', async () => {
    for (const err of [new TypeError('x is undefined'), new ScalewiseError('SCHEMA_VIOLATION', 'bad')]) {
      let calls = 0;
      await assert.rejects(
        withRetry(
          async () => {
            calls += 1;
            throw err;
          },
          policy,
          { sleep: noSleep },
        ),
        (e) => e === err,
      );
      assert.equal(calls, 1);
    }
  });

  test('the last failed attempt gives RETRIES_EXHAUSTED with the cause and the count', async () => {
    const waits: number[] = [];
    await assert.rejects(
      withRetry(
        async () => {
          throw new Error('flaky');
        },
        policy,
        { sleep: noSleep, random: () => 0.5, beforeWait: (_a, ms) => void waits.push(ms) },
      ),
      (e: unknown) =>
        e instanceof ScalewiseError && e.code === 'RETRIES_EXHAUSTED' && e.details.attempts === 4,
    );
    assert.deepEqual(waits, [50, 100, 200]);
  });
});

describe('dead letters', () => {
  test('the key is dlq/<topic>/<yyyy>/<mm>/<dd>/<id>-p<partition>-o<offset>.json', () => {
    assert.equal(
      deadLetterKey({
        topic: 'scalewise.triggers',
        partition: 2,
        offset: '42',
        event_id: 'abc',
        last_failure_at: '2026-11-02T03:04:05Z',
      }),
      'dlq/scalewise.triggers/2026/11/02/abc-p2-o42.json',
    );
    assert.equal(
      deadLetterKey({
        topic: 't',
        partition: 0,
        offset: '7',
        event_id: null,
        last_failure_at: '2026-01-31T00:00:00Z',
      }),
      'dlq/t/2026/01/31/p0-o7.json',
    );
  });

  test('an id with slashes or spaces cannot escape its folder', () => {
    const key = deadLetterKey({
      topic: 't',
      partition: 0,
      offset: '1',
      event_id: '../../etc passwd',
      last_failure_at: '2026-01-01T00:00:00Z',
    });
    assert.equal(key, 'dlq/t/2026/01/01/.._.._etc_passwd-p0-o1.json');
  });
});

describe('replay filters', () => {
  const e = createEvent('io.scalewise.NodeReady', sampleData['io.scalewise.NodeReady'], {
    source: '/t',
    clusterid: 'c',
  });
  test('types match by full or short name, pools by partition key', () => {
    assert.equal(replayMatches({ types: ['NodeReady'] }, e as never), true);
    assert.equal(replayMatches({ types: ['io.scalewise.NodeCreated'] }, e as never), false);
    assert.equal(replayMatches({ pools: ['workers'] }, e as never), true);
    assert.equal(replayMatches({ pools: ['gpu'] }, e as never), false);
  });
  test('a replayed copy has a new id and points at the original, even replayed twice', () => {
    const once = asReplay(e as never, 'r1');
    const twice = asReplay(once, 'r2');
    assert.equal(once.replayof, e.id);
    assert.equal(twice.replayof, e.id);
    assert.equal(twice.id, 'r2');
  });
});

describe('breaker', () => {
  test('opens after failures, fails fast with CIRCUIT_OPEN, reports state', async () => {
    const states: string[] = [];
    const b = createBreaker(
      'dep',
      { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
      undefined,
      (_n, s) => states.push(s),
    );
    const fail = () => Promise.reject(new ScalewiseError('DEPENDENCY_UNAVAILABLE', 'down'));
    await assert.rejects(b.call(fail));
    await assert.rejects(b.call(fail));
    await assert.rejects(
      b.call(() => Promise.resolve(1)),
      (e: unknown) => e instanceof ScalewiseError && e.code === 'CIRCUIT_OPEN',
    );
    assert.equal(b.state(), 'open');
    assert.deepEqual(states, ['closed', 'open']);
    b.shutdown();
  });

  test('non-retriable errors (bad input) do not count against the dependency', async () => {
    const b = createBreaker('dep2', { volumeThreshold: 1, errorThresholdPercentage: 1 });
    for (let i = 0; i < 5; i++) {
      await assert.rejects(b.call(() => Promise.reject(new ScalewiseError('SCHEMA_VIOLATION', 'bad'))));
    }
    assert.equal(b.state(), 'closed');
    b.shutdown();
  });

  test('dependency failures pause; bad records do not', () => {
    assert.equal(isDependencyFailure(new ScalewiseError('CIRCUIT_OPEN', 'x')), true);
    assert.equal(isDependencyFailure(new ScalewiseError('MALFORMED_RECORD', 'x')), false);
    assert.equal(isDependencyFailure(new Error('x')), false);
  });

  test("a fenced consumer is recognised however kafkajs wraps the broker's error", () => {
    const fenced = new KafkaJSProtocolError({
      type: 'FENCED_INSTANCE_ID',
      code: 82,
      retriable: false,
      message:
        'The broker rejected this static consumer since another consumer with the same group instance id has registered with a different member id',
    } as unknown as Error);
    assert.equal(isFenced(fenced), true);
    // Re-wrapped with the message only, and with the cause after the retries.
    assert.equal(isFenced(new KafkaJSNonRetriableError(fenced)), true);
    assert.equal(
      isFenced(new KafkaJSNumberOfRetriesExceeded(fenced, { retryCount: 3, retryTime: 100 })),
      true,
    );
    const other = new KafkaJSProtocolError({
      type: 'UNKNOWN_MEMBER_ID',
      code: 25,
      retriable: true,
      message: 'The coordinator is not aware of this member',
    } as unknown as Error);
    assert.equal(isFenced(other), false);
    assert.equal(isFenced(new KafkaJSNonRetriableError(other)), false);
    assert.equal(isFenced(new Error('connection closed')), false);
    assert.equal(isFenced(undefined), false);
  });
});

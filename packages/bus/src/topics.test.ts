import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { whileSettling } from './topics.ts';

const kafkaError = (type: string) => Object.assign(new Error(type), { type });

/** A clock that stands still but for the pauses it is asked for: no test waits on real time. */
function steppedClock() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

describe('whileSettling', () => {
  test('a partition that answers NOT_LEADER_FOR_PARTITION, then serves: the answer, after retries', async () => {
    let calls = 0;
    const got = await whileSettling(
      async () => {
        calls++;
        if (calls < 3) throw kafkaError('NOT_LEADER_FOR_PARTITION');
        return 'offsets';
      },
      30_000,
      steppedClock(),
    );
    assert.equal(got, 'offsets');
    assert.equal(calls, 3);
  });

  test('an error that is not a settling partition is thrown at once', async () => {
    let calls = 0;
    await assert.rejects(
      whileSettling(async () => {
        calls++;
        throw kafkaError('TOPIC_AUTHORIZATION_FAILED');
      }),
      /TOPIC_AUTHORIZATION_FAILED/,
    );
    assert.equal(calls, 1);
  });

  test('still settling at the deadline: the last error is thrown', async () => {
    let calls = 0;
    await assert.rejects(
      whileSettling(
        async () => {
          calls++;
          throw kafkaError('LEADER_NOT_AVAILABLE');
        },
        200,
        steppedClock(),
      ),
      /LEADER_NOT_AVAILABLE/,
    );
    assert.ok(calls >= 2 && calls <= 5, `${calls} calls within 200 ms`);
  });
});

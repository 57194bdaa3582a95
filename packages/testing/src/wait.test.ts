import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { uniqueName } from './names.ts';
import { parseEnvLines } from './stack.ts';
import { waitFor } from './wait.ts';

describe('waitFor', () => {
  test('returns the first truthy value of the probe', async () => {
    let n = 0;
    const v = await waitFor(() => (++n >= 3 ? `done after ${n}` : undefined), { intervalMs: 1 });
    assert.equal(v, 'done after 3');
  });

  test('treats a throwing probe as not yet and keeps trying', async () => {
    let n = 0;
    const v = await waitFor(
      () => {
        if (++n < 2) throw new Error('not ready');
        return n;
      },
      { intervalMs: 1 },
    );
    assert.equal(v, 2);
  });

  test('fails after the deadline naming what it waited for, with the last error as cause', async () => {
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('broker down');
        },
        { timeoutMs: 30, intervalMs: 5, what: 'the broker' },
      ),
      (err: Error) => {
        assert.match(err.message, /timed out after 30 ms waiting for the broker/);
        assert.equal((err.cause as Error).message, 'broker down');
        return true;
      },
    );
  });
});

describe('uniqueName', () => {
  test('is lowercase, dash-separated and different every call', () => {
    const a = uniqueName('My_Topic');
    const b = uniqueName('My_Topic');
    assert.match(a, /^my-topic-[a-z0-9]+-[0-9a-f]{6}$/);
    assert.notEqual(a, b);
  });
});

describe('parseEnvLines', () => {
  test('reads KEY=VALUE lines and keeps "=" inside values', () => {
    assert.deepEqual(parseEnvLines('A=1\nURL=redis://h:1/?a=b\n\nnoise\n'), {
      A: '1',
      URL: 'redis://h:1/?a=b',
    });
  });
});

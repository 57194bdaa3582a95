import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { S3Error } from '@scalewise/bus';
import { ScalewiseError } from '@scalewise/errors';
import { firstSighting, startBackoffMs, startFailureKind, startWithRetry } from './start-retry.ts';

const refused = (message: string) =>
  new ScalewiseError('DEPENDENCY_UNAVAILABLE', message, {
    retriable: false,
    details: { problem: 'authentication' },
  });

function recorder() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: object, msg: string) => lines.push({ level, msg });
  return { lines, log: { error: at('error'), info: at('info'), debug: at('debug') } };
}

describe('startFailureKind', () => {
  test('a refused credential or certificate, a server down, S3 and network errors are retried', () => {
    assert.equal(startFailureKind(refused('Kafka b:9094: SASL authentication failed')), 'retry');
    assert.equal(startFailureKind(new ScalewiseError('CIRCUIT_OPEN', 'open')), 'retry');
    assert.equal(startFailureKind(new ScalewiseError('KUBERNETES_API', 'HTTP 500')), 'retry');
    assert.equal(startFailureKind(new S3Error('refused', 403, 'SignatureDoesNotMatch')), 'retry');
    const econn = Object.assign(new Error('connect ECONNREFUSED'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    assert.equal(startFailureKind(econn), 'retry');
    const tls = new Error('wrapped', {
      cause: Object.assign(new Error('self-signed'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
    });
    assert.equal(startFailureKind(tls), 'retry');
  });

  test('a bad configuration is config; a programming error, INTERNAL and an unknown error are fatal', () => {
    assert.equal(startFailureKind(new ScalewiseError('INVALID_CONFIG', 'bad')), 'config');
    assert.equal(startFailureKind(new TypeError('x is undefined')), 'fatal');
    assert.equal(startFailureKind(new ScalewiseError('INTERNAL', 'bug')), 'fatal');
    assert.equal(startFailureKind(new ScalewiseError('FORBIDDEN', 'no')), 'fatal');
    assert.equal(startFailureKind(new Error('something else')), 'fatal');
  });
});

describe('startBackoffMs', () => {
  const b = { initialMs: 2000, maxMs: 60_000 };
  test('doubles from initialMs up to maxMs, jittered between half and all of it', () => {
    const top = () => 0.999_999;
    const bottom = () => 0;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 20].map((n) => startBackoffMs(n, b, top)),
      [1999, 3999, 7999, 15_999, 31_999, 59_999, 59_999, 59_999],
    );
    assert.deepEqual(
      [1, 2, 6, 20].map((n) => startBackoffMs(n, b, bottom)),
      [1000, 2000, 30_000, 30_000],
    );
  });
});

describe('firstSighting', () => {
  test('each distinct message passes once', () => {
    const fresh = firstSighting();
    assert.deepEqual(
      ['a', 'a', 'b', 'a', 'b', 'c'].map((m) => fresh(m)),
      [true, false, true, false, false, true],
    );
  });
  test('past its capacity it forgets, so it stays bounded', () => {
    const fresh = firstSighting(2);
    assert.deepEqual(
      ['a', 'b', 'c', 'a'].map((m) => fresh(m)),
      [true, true, true, true],
    );
  });
});

describe('startWithRetry', () => {
  const fast = { initialMs: 1, maxMs: 4 };

  test('Given a start refused four times then accepted, it is called five times and the error is logged once', async () => {
    const { lines, log } = recorder();
    let calls = 0;
    const result = await startWithRetry(
      async () => {
        calls += 1;
        if (calls < 5) throw refused('SASL authentication failed');
      },
      { ...fast, log },
    );
    assert.equal(result, 'started');
    assert.equal(calls, 5);
    assert.equal(lines.filter((l) => l.level === 'error').length, 1);
    assert.equal(lines.filter((l) => l.msg === 'start failed again').length, 3);
    assert.equal(lines.filter((l) => l.msg === 'started after failed attempts').length, 1);
  });

  test('a new cause is logged again', async () => {
    const { lines, log } = recorder();
    const errors = [
      refused('SASL authentication failed'),
      refused('SASL authentication failed'),
      refused('TLS'),
    ];
    await startWithRetry(
      async () => {
        const e = errors.shift();
        if (e) throw e;
      },
      { ...fast, log },
    );
    assert.equal(lines.filter((l) => l.level === 'error').length, 2);
  });

  test('a bad configuration and a programming error are thrown at once', async () => {
    const { log } = recorder();
    for (const err of [new ScalewiseError('INVALID_CONFIG', 'bad'), new TypeError('bug')]) {
      let calls = 0;
      await assert.rejects(
        startWithRetry(
          async () => {
            calls += 1;
            throw err;
          },
          { ...fast, log },
        ),
        err,
      );
      assert.equal(calls, 1);
    }
  });

  test('a start that is no longer resumable is not tried again', async () => {
    const { log } = recorder();
    let calls = 0;
    await assert.rejects(
      startWithRetry(
        async () => {
          calls += 1;
          throw refused('down');
        },
        { ...fast, log, resumable: () => false },
      ),
      /down/,
    );
    assert.equal(calls, 1);
  });

  test('an abort during the wait ends the loop at once', async (t) => {
    // The clock is mocked and never moves: the 60 s wait cannot end by itself, so a loop that
    // resolves did so on the abort (one that did not would hold the test to its timeout).
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { log } = recorder();
    const stop = new AbortController();
    let calls = 0;
    const loop = startWithRetry(
      async () => {
        calls += 1;
        throw refused('down');
      },
      { initialMs: 60_000, maxMs: 60_000, log, signal: stop.signal },
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls, 1, 'the first attempt failed and the loop waits');
    stop.abort();
    assert.equal(await loop, 'aborted');
    assert.equal(calls, 1);
  });
});

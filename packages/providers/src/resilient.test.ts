import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { fakeProvider } from './fake.ts';
import { lastError, type ResilientProvider, resilient } from './resilient.ts';

const pool = { name: 'workers', provider: 'kwok' } as PoolConfig;
const retry = { maxAttempts: 3, baseMs: 1, maxMs: 1 };
const sleep = async () => undefined;
const down = () => new ScalewiseError('DEPENDENCY_UNAVAILABLE', 'connect ECONNREFUSED');
const made: ResilientProvider[] = [];
after(() => {
  for (const p of made) p.shutdown();
});
const guarded = (...args: Parameters<typeof resilient>) => {
  const p = resilient(...args);
  made.push(p);
  return p;
};

describe('a provider behind the decorator', () => {
  test('Given a create that fails once, When called, Then it is retried and succeeds', async () => {
    const fake = fakeProvider();
    fake.failNext('create', down());
    const made = await guarded(fake, { retry, sleep }).create(pool, ['w-1'], 'a-1');
    assert.deepEqual(made, [{ node: 'w-1', providerId: 'fake://w-1' }]);
    assert.equal(fake.calls.filter((c) => c.op === 'create').length, 2);
  });

  test('Given a TypeError, When called, Then it is not retried', async () => {
    const fake = fakeProvider();
    fake.failNext('remove', new TypeError('x is undefined'));
    await assert.rejects(guarded(fake, { retry, sleep }).remove(pool, 'w-1'), TypeError);
    assert.equal(fake.calls.length, 1);
  });

  test('Given an error the provider retried already, When called, Then it is thrown as it is, once', async () => {
    const fake = fakeProvider();
    const err = new ScalewiseError('DEPENDENCY_UNAVAILABLE', 'provisioner down', {
      details: { reason: 'PROVISIONER_UNREACHABLE', retried: true },
    });
    fake.failNext('create', err);
    await assert.rejects(guarded(fake, { retry, sleep }).create(pool, ['w-1'], 'a-1'), (e) => e === err);
    assert.equal(fake.calls.length, 1);
  });

  test('Given a provider down, When the attempts run out, Then RETRIES_EXHAUSTED with the last error behind it', async () => {
    const fake = fakeProvider();
    for (let i = 0; i < 3; i++) fake.failNext('list', down());
    const err = await guarded(fake, { retry, sleep })
      .list(pool)
      .catch((e: unknown) => e);
    assert.equal((err as ScalewiseError).code, 'RETRIES_EXHAUSTED');
    assert.equal((lastError(err) as ScalewiseError).code, 'DEPENDENCY_UNAVAILABLE');
  });

  test('Given a breaker, When the provider keeps failing, Then it opens under its use name and fails fast without a call', async () => {
    const fake = fakeProvider('docker');
    for (let i = 0; i < 10; i++) fake.failNext('list', down());
    const states: string[] = [];
    const p = guarded(fake, {
      name: 'k3s-docker',
      retry,
      sleep,
      breaker: { errorThresholdPercentage: 50, resetTimeoutMs: 60_000, volumeThreshold: 3 },
      onBreakerState: (name, s) => states.push(`${name}:${s}`),
    });
    await p.list(pool).catch(() => undefined);
    assert.deepEqual(states, ['provider-k3s-docker:closed', 'provider-k3s-docker:open']);
    const calls = fake.calls.length;
    await assert.rejects(p.list(pool), { code: 'CIRCUIT_OPEN', retriable: false });
    assert.equal(fake.calls.length, calls, 'no call while open');
  });

  test('Given a provider with a worker watch, Then the decorated one passes it through', () => {
    const fake = fakeProvider('pods', { workers: true });
    assert.equal(guarded(fake, { retry }).workers, fake.workers);
  });
});

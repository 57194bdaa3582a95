import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import type { Instance, Provider } from '@scalewise/providers';
import { createInstanceSource } from './instances.ts';

const pool = { name: 'workers', provider: 'docker' } as PoolConfig;
const instances: Instance[] = [{ id: 'docker://1', node: 'workers-1', alive: true, createdAt: 0 }];

/** A provider whose list() answers from a script: an error to throw, or the instances. */
function scripted(answers: (Error | Instance[])[]): Provider & { calls: number } {
  const p = {
    name: 'docker',
    calls: 0,
    create: async () => [],
    remove: async () => ({ existed: false }),
    async list() {
      const a = answers[Math.min(p.calls, answers.length - 1)];
      p.calls++;
      if (a instanceof Error) throw a;
      return a ?? [];
    },
  };
  return p;
}
const down = () => new ScalewiseError('DOCKER_API', 'connect ECONNREFUSED /var/run/docker.sock');
const made: ReturnType<typeof createInstanceSource>[] = [];
after(() => {
  for (const s of made) s.shutdown();
});
const source = (provider: Provider, states: string[] = []) => {
  const s = createInstanceSource({
    providers: { docker: provider },
    breaker: { errorThresholdPercentage: 50, resetTimeoutMs: 60_000, volumeThreshold: 3 },
    retry: { maxAttempts: 3, baseMs: 1, maxMs: 1 },
    onBreakerState: (name, s) => states.push(`${name}:${s}`),
    sleep: async () => undefined,
  });
  made.push(s);
  return s;
};

describe('listing a pool through its provider', () => {
  test('Given a provider that fails once, Then the retry lists its instances', async () => {
    const p = scripted([down(), instances]);
    assert.deepEqual(await source(p).list(pool), instances);
    assert.equal(p.calls, 2);
  });

  test('Given a provider down, Then unavailable with the error after the retries, never an empty list', async () => {
    const p = scripted([down()]);
    const view = await source(p).list(pool);
    assert.deepEqual(view, {
      unavailable: true,
      code: 'RETRIES_EXHAUSTED',
      message: 'gave up after 3 attempts: connect ECONNREFUSED /var/run/docker.sock',
    });
    assert.equal(p.calls, 3);
  });

  test('Given the provider keeps failing, Then its breaker opens (a state change reported) and the next listing fails fast without a call', async () => {
    const p = scripted([down()]);
    const states: string[] = [];
    const s = source(p, states);
    await s.list(pool);
    assert.deepEqual(states, ['provider-docker:closed', 'provider-docker:open']);
    const calls = p.calls;
    const view = await s.list(pool);
    assert.equal(p.calls, calls, 'no call while open');
    assert.deepEqual(view, {
      unavailable: true,
      code: 'CIRCUIT_OPEN',
      message: "circuit breaker 'provider-docker' is open",
    });
  });

  test('Given a non-retriable error, Then unavailable at once with its code', async () => {
    const p = scripted([
      new ScalewiseError('INVALID_CONFIG', "pool 'workers': provider_options.namespace: bad"),
    ]);
    const view = await source(p).list(pool);
    assert.deepEqual(
      [!Array.isArray(view) && 'code' in view ? view.code : 'listed', p.calls],
      ['INVALID_CONFIG', 1],
    );
  });

  test('Given a pool whose provider state-sync does not have, Then unavailable, naming it', async () => {
    const view = await source(scripted([instances])).list({
      name: 'otto',
      provider: 'external',
    } as PoolConfig);
    assert.deepEqual(view, {
      unavailable: true,
      code: 'INVALID_CONFIG',
      message: "provider 'external' of pool 'otto' is not available in state-sync",
    });
  });
});

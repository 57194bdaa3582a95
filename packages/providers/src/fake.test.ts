import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PoolConfig } from '@scalewise/config';
import { fakeProvider } from './fake.ts';

const pool = { name: 'workers', provider: 'kwok' } as PoolConfig;

describe('the in-memory fake provider', () => {
  test('creates once by name, lists what it has, removes what it has', async () => {
    const p = fakeProvider('fake', { now: () => 42 });
    await p.create(pool, ['w-1', 'w-2'], 'a-1');
    await p.create(pool, ['w-1'], 'a-1');
    assert.deepEqual(
      (await p.list(pool)).map((i) => [i.id, i.node, i.alive, i.createdAt]),
      [
        ['fake://w-1', 'w-1', true, 42],
        ['fake://w-2', 'w-2', true, 42],
      ],
    );
    assert.deepEqual(await p.remove(pool, 'w-1'), { existed: true });
    assert.deepEqual(await p.remove(pool, 'w-1'), { existed: false });
    assert.deepEqual(
      p.calls.map((c) => c.op),
      ['create', 'create', 'list', 'remove', 'remove'],
    );
  });

  test('throws the scripted errors, one per call', async () => {
    const p = fakeProvider();
    p.failNext('list', new Error('first'));
    await assert.rejects(p.list(pool), /first/);
    assert.deepEqual(await p.list(pool), []);
  });

  test('its worker watch tells the listeners and remembers Ready', async () => {
    const p = fakeProvider('pods', { workers: true });
    const heard: string[] = [];
    p.workers?.on((c) => void heard.push(`${c.kind}:${c.worker}`));
    await p.workers?.emit({ kind: 'ready', pool: 'workers', worker: 'w-1' });
    assert.deepEqual(heard, ['ready:w-1']);
    assert.equal(p.workers?.isReady('w-1'), true);
  });
});

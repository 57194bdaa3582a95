// The bus CLI's parsing and output, with fake clients: no broker, no S3.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { type BusCliDeps, replayRange, resolveTopic, runBusCli } from './cli.ts';
import type { DeadLetterStore } from './dlq.ts';

function fakeDeps(store: Partial<DeadLetterStore> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const deps: BusCliDeps = {
    kafka: () => {
      throw new Error('no Kafka in a unit test');
    },
    deadLetters: () => ({ bucket: 'dlq-bucket', ...store }) as DeadLetterStore,
    topicPrefix: 'p.',
    topicNames: { dlq: 'custom-dlq' },
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
  };
  return { deps, out, err };
}

test('a topic key resolves with the prefix or its configured name; a full name stays as it is', () => {
  const deps = { topicPrefix: 'p.', topicNames: { dlq: 'custom-dlq' } };
  assert.equal(resolveTopic('signals', deps), 'p.signals');
  assert.equal(resolveTopic('dlq', deps), 'custom-dlq');
  assert.equal(resolveTopic('other.topic', deps), 'other.topic');
});

test('replay options become a range: an offset start wins over a time start', () => {
  const range = replayRange(
    { topic: 'nodes', from: 5, fromOffset: '12', to: 9, type: ['NodeReady'], pool: ['a', 'b'] },
    { topicPrefix: 'scalewise.' },
  );
  assert.deepEqual(range, {
    topic: 'scalewise.nodes',
    from: { offset: '12' },
    to: 9,
    types: ['NodeReady'],
    pools: ['a', 'b'],
  });
});

test('dlq list prints one line per dead letter and a count on stderr', async () => {
  const asked: unknown[] = [];
  const { deps, out, err } = fakeDeps({
    list: async (o) => {
      asked.push(o);
      return [{ key: 'dlq/custom-dlq/2026/11/22/a.json', size: 42, lastModified: new Date(0) }];
    },
  });
  const status = await runBusCli(['dlq', 'list', '--topic', 'dlq', '-n', '5'], deps);
  assert.equal(status, 0);
  assert.deepEqual(asked, [{ topic: 'custom-dlq', limit: 5 }]);
  assert.deepEqual(out, ['1970-01-01T00:00:00.000Z\t42\tdlq/custom-dlq/2026/11/22/a.json\n']);
  assert.deepEqual(err, ['1 dead letter(s) in dlq-bucket\n']);
});

test('a bad time is a usage error (status 2) that names the value', async () => {
  const { deps, err } = fakeDeps();
  const status = await runBusCli(['replay', '--topic', 'nodes', '--from', 'yesterday'], deps);
  assert.equal(status, 2);
  assert.match(err.join(''), /'yesterday' is not a time/);
});

test('a failing command exits 1 with one line naming the error code', async () => {
  const { deps, err } = fakeDeps();
  deps.kafka = () => ({}) as Kafka;
  const { ScalewiseError } = await import('@scalewise/errors');
  deps.deadLetters = () => {
    throw new ScalewiseError('NOT_FOUND', 'no such dead letter');
  };
  const status = await runBusCli(['dlq', 'show', 'dlq/x.json'], deps);
  assert.equal(status, 1);
  assert.deepEqual(err, ['scalewise: NOT_FOUND: no such dead letter\n']);
});

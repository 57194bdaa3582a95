// Static group membership (events.group_instance_id, the pod name) on the real broker, with
// every replica a process of its own. The session timeout is 60 s throughout: a replica that
// had to wait out its dead predecessor's session could not consume before it ends, so each
// test's 30 s wait can only be met by the protocol doing what is claimed, never by luck.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { createEvent, sampleData } from '@scalewise/events';
import { getStack, type StackEndpoints, uniqueName, waitFor } from '@scalewise/testing';
import { Redis } from 'ioredis';
import { logLevel } from 'kafkajs';
import { createBus } from './bus.ts';
import type { MemberOptions } from './test-support/member.ts';

const SESSION_MS = 60_000;
const WITHIN_MS = 30_000;

interface Member {
  name: string;
  child: ChildProcess;
  /** The lines it printed, in order. */
  states: { state: string; why?: string }[];
}

function group(stack: StackEndpoints) {
  const base = {
    brokers: stack.kafka.brokers,
    redisUrl: stack.redis.url,
    s3: stack.s3,
    bucket: uniqueName('dlq'),
    topicPrefix: `${uniqueName('member')}.`,
    groupId: uniqueName('g'),
    sessionTimeoutMs: SESSION_MS,
    heartbeatIntervalMs: 1_000,
    effects: uniqueName('effects'),
  };
  const members: Member[] = [];
  const start = (name: string, groupInstanceId?: string): Member => {
    const options: MemberOptions = { ...base, name, ...(groupInstanceId ? { groupInstanceId } : {}) };
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=TimeoutNegativeWarning',
        join(import.meta.dirname, 'test-support', 'member.ts'),
        JSON.stringify(options),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const m: Member = { name, child, states: [] };
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          m.states.push(JSON.parse(line));
        } catch {
          // not a state line
        }
      });
    }
    members.push(m);
    return m;
  };
  return { base, members, start };
}

const has = (m: Member, state: string) => m.states.find((s) => s.state === state);

test('static membership: restarted, fenced, and leaving replicas', { timeout: 300_000 }, async (t) => {
  const stack = await getStack();
  const redis = new Redis(stack.redis.url);
  const g = group(stack);
  const publisher = createBus({
    service: 'membership-test',
    clusterid: 'local',
    kafka: { clientId: uniqueName('p'), brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING },
    redis: { url: stack.redis.url },
    s3: { ...stack.s3, bucket: g.base.bucket },
    topicPrefix: g.base.topicPrefix,
    partitions: 3,
  });
  t.after(async () => {
    for (const m of g.members) m.child.kill('SIGKILL');
    await publisher.stop(5_000).catch(() => undefined);
    await redis.del(g.base.effects).catch(() => undefined);
    redis.disconnect();
  });
  await publisher.start();
  let n = 0;
  /** Publishes one event per partition key and returns their ids. */
  const publish = async (count = 6): Promise<string[]> => {
    const events = Array.from({ length: count }, () => {
      n += 1;
      return createEvent(
        'io.scalewise.PoolMetricsObserved',
        { ...sampleData['io.scalewise.PoolMetricsObserved'], pool: `pool-${n % 6}` },
        { source: '/membership-test', clusterid: 'local', id: `evt-${n}` },
      );
    });
    await publisher.publisher.publish(...events);
    return events.map((e) => e.id);
  };
  /** Which member handled each of `ids`, once all of them are handled. */
  const handlers = async (ids: string[], what: string): Promise<Map<string, string[]>> =>
    waitFor(
      async () => {
        const effects = await redis.smembers(g.base.effects);
        const by = new Map<string, string[]>();
        for (const e of effects) {
          const [name, id] = e.split(':') as [string, string];
          if (ids.includes(id)) by.set(id, [...(by.get(id) ?? []), name]);
        }
        return by.size === ids.length ? by : undefined;
      },
      { timeoutMs: WITHIN_MS, intervalMs: 200, what },
    );

  await t.test(
    'SIGKILLed and started again under its name, it consumes before its old session ends',
    async () => {
      const first = g.start('first', 'replica-0');
      await publish();
      await waitFor(() => has(first, 'handled'), {
        timeoutMs: WITHIN_MS,
        what: 'the first replica consuming',
      });
      first.child.kill('SIGKILL');
      g.start('again', 'replica-0');
      const by = await handlers(await publish(), 'events after the SIGKILL handled by the restarted replica');
      for (const [id, names] of by)
        assert.deepEqual(names, ['again'], `${id} handled by the restarted replica`);
    },
  );

  await t.test(
    'a second live replica under the same name fences the first, which stops and says why',
    async () => {
      const [current] = g.members.slice(-1) as [Member];
      const twin = g.start('twin', 'replica-0');
      const fenced = await waitFor(() => has(current, 'failed'), {
        timeoutMs: WITHIN_MS,
        what: 'the older replica reporting that it is fenced',
      });
      assert.match(fenced.why ?? '', /replica-0/);
      assert.match(fenced.why ?? '', /fenced/);
      assert.match(fenced.why ?? '', /SCALEWISE_INSTANCE_ID/);
      const by = await handlers(await publish(), 'events after the fence handled by the newer replica');
      for (const [id, names] of by)
        assert.deepEqual(names, ['twin'], `${id} handled by the newer replica only`);
      // The fenced one stays down: it does not come back and fence the newer one in turn.
      await new Promise((r) => setTimeout(r, 3_000));
      assert.equal(
        twin.states.filter((s) => s.state === 'failed').length,
        0,
        'the newer replica is not fenced',
      );
      assert.equal(current.states.filter((s) => s.state === 'failed').length, 1);
    },
  );

  await t.test('a replica stopped gracefully leaves at once: another name gets its partitions', async () => {
    const live = g.members.filter(
      (m) => !has(m, 'failed') && m.child.exitCode === null && m.child.signalCode === null,
    );
    for (const m of live) m.child.kill('SIGTERM');
    await waitFor(() => live.every((m) => has(m, 'stopped')), {
      timeoutMs: WITHIN_MS,
      what: 'graceful stops',
    });
    g.start('other', 'replica-1');
    const by = await handlers(await publish(), 'events handled by a replica of another name');
    for (const [id, names] of by) assert.deepEqual(names, ['other'], `${id} handled by the new replica`);
  });
});

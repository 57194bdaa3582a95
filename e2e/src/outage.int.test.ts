// A dependency outage stops only what depends on it, on the real servers with all six
// services: with S3 (the dead-letter store) cut off, bad records wait in their partition
// while everything else goes on, the floor is restored, the services say they are degraded
// (not unready), and once S3 is back every bad record has exactly one dead letter; each
// service SIGKILLed in the middle of its part of an action: no node made twice, none missing,
// and the work resumed within seconds of the restart.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createBreaker, createS3Client, createS3DeadLetterStore } from '@scalewise/bus';
import { testKafka, waitFor } from '@scalewise/testing';
import { dataOf, eventsOf, waitForEvent, waitForSynced } from './expect.ts';
import { type ServiceName, type System, startSystem } from './harness.ts';
import { sendTrigger } from './triggers.ts';

const systems: System[] = [];
after(async () => {
  await Promise.all(systems.map((s) => s.stop()));
});

/** Produces `n` records on the system's triggers topic that are not CloudEvents (not even JSON). */
async function produceMalformed(s: System, n: number): Promise<void> {
  const producer = testKafka(s.stack).producer();
  await producer.connect();
  try {
    await producer.send({
      topic: s.topic('triggers'),
      acks: -1,
      messages: Array.from({ length: n }, (_, i) => ({
        key: `${s.pool}-${i % 3}`,
        value: Buffer.from(`{"pool": "${s.pool}", "action": `),
        headers: { ce_id: `bad-${i}`, ce_type: 'io.scalewise.trigger.scale' },
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

async function readyz(s: System, service: 'decision-engine' | 'min-enforcer' | 'node-manager') {
  const port = s.services.get(service)?.port;
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; degraded: string[] } };
}

describe('outages', () => {
  test('S3 cut off, 21 malformed triggers, two floor nodes lost: the floor is restored while S3 is down; once back, one dead letter per record', async () => {
    const s = await startSystem({
      label: 'outage-s3',
      pool: { min: 3, max: 6, underutilizedForSeconds: 3600 },
      initialWorkers: 3,
      // An ordinary repair back to the minimum: the emergency rule is not what is tested here.
      emergencyScaleThreshold: 5,
      s3Proxy: true,
    });
    systems.push(s);
    const proxy = s.s3Proxy;
    assert.ok(proxy);
    await waitForSynced(s, 3);
    await proxy.cut();
    await produceMalformed(s, 21);
    const t0 = Date.now();
    const [a, b] = (await s.workers()).map((n) => n.metadata?.name as string);
    await Promise.all(
      [a, b].map((name) => s.kube.core.deleteNode({ name: name as string, gracePeriodSeconds: 0 })),
    );

    const violation = dataOf(
      await waitForEvent(s, 'MinimumNodesViolation', () => true, { since: t0 - 1000 }),
      'io.scalewise.MinimumNodesViolation',
    );
    // One loss or both, as state-sync saw them.
    assert.ok(violation.current_workers < 3, `violation at ${violation.current_workers} workers`);
    await waitFor(async () => (await s.workers()).length === 3, { timeoutMs: 60_000, what: '3 nodes again' });
    const restored = dataOf(
      await waitForEvent(
        s,
        'MinimumNodesRestored',
        (e) => dataOf(e, 'io.scalewise.MinimumNodesRestored').current_workers === 3,
        {
          since: t0,
        },
      ),
      'io.scalewise.MinimumNodesRestored',
    );
    assert.equal(restored.min_workers, 3);
    const floorSeconds = (Date.now() - t0) / 1000;
    console.log(`floor restored ${floorSeconds.toFixed(1)} s after the losses, S3 still down`);
    await waitForSynced(s, 3, { since: t0 });
    assert.equal(eventsOf(s, 'DeadLetterRecorded').length, 0, 'no dead letter can be stored yet');

    // Degraded, not unready: the services do their job without the dead-letter store.
    await waitFor(
      async () => {
        const r = await readyz(s, 'decision-engine');
        return r.status === 200 && r.body.status === 'degraded';
      },
      { timeoutMs: 20_000, what: 'decision-engine degraded' },
    );
    for (const service of ['min-enforcer', 'node-manager'] as const) {
      const r = await readyz(s, service);
      assert.deepEqual([r.status, r.body.status, r.body.degraded], [200, 'degraded', ['s3']], service);
    }

    await proxy.restore();
    await waitFor(() => eventsOf(s, 'DeadLetterRecorded').length >= 21, {
      timeoutMs: 90_000,
      what: '21 dead letters',
    });
    // Time for a second copy from another consumer group, were there one.
    await new Promise((r) => setTimeout(r, 3000));
    const letters = eventsOf(s, 'DeadLetterRecorded').map((e) =>
      dataOf(e, 'io.scalewise.DeadLetterRecorded'),
    );
    assert.equal(letters.length, 21, 'one dead letter per record');
    assert.deepEqual([...new Set(letters.map((l) => l.service))], ['decision-engine']);
    assert.equal(new Set(letters.map((l) => `${l.partition}/${l.offset}`)).size, 21);
    const bucket = letters[0]?.bucket as string;
    const store = createS3DeadLetterStore(createS3Client(s.stack.s3), bucket, createBreaker('s3-check', {}));
    const objects = await store.list({ topic: s.topic('triggers') });
    assert.equal(objects.length, 21);
    const one = await store.get(letters[0]?.key as string);
    assert.equal(one.error.code, 'MALFORMED_RECORD');
    await waitFor(
      async () => {
        const r = await readyz(s, 'decision-engine');
        return r.status === 200 && r.body.status === 'ready';
      },
      { timeoutMs: 30_000, what: 'decision-engine ready again' },
    );
  });

  test('each service SIGKILLed mid-action and restarted: no node made twice or missing, the action completes', async () => {
    const s = await startSystem({
      label: 'outage-kill',
      // Six +2 steps back to back, faster than 10 per 15 s now that a restarted replica takes
      // its partitions back at once: the rate policy is not what this test is about.
      pool: { min: 2, max: 20, underutilizedForSeconds: 3600, scaleUpPodsPer15s: 20 },
      initialWorkers: 2,
      emergencyScaleThreshold: 5,
    });
    systems.push(s);
    await waitForSynced(s, 2);
    const count = async () => (await s.workers()).length;
    let expected = 2;
    const resumed: string[] = [];

    /** Kills `victim` once `when` has happened for a trigger of +2, restarts it, and checks the outcome. */
    const step = async (victim: ServiceName, when: 'sent' | 'decided') => {
      const t0 = Date.now();
      const id = await sendTrigger(s, { action: 'scale_up', count: 2, reason: `kill ${victim}` });
      const decided = (e: { causationid?: string }) => e.causationid === id;
      if (when === 'decided') await waitForEvent(s, 'ScaleUpDecision', decided, { since: t0 - 1000 });
      const killedAt = Date.now();
      await s.kill(victim);
      await s.restart(victim);
      expected += 2;
      const decisions = () => eventsOf(s, 'ScaleUpDecision', { since: t0 - 1000, where: decided });
      await waitFor(() => decisions().length > 0, {
        timeoutMs: 60_000,
        what: `the trigger decided (${victim})`,
      });
      const actionId = decisions()[0]?.id;
      const done = await waitForEvent(
        s,
        'ScalingActionCompleted',
        (e) => dataOf(e, 'io.scalewise.ScalingActionCompleted').action_id === actionId,
        { since: t0 - 1000, timeoutMs: 90_000, what: `the action completed (${victim})` },
      );
      resumed.push(
        `${victim} killed ${when === 'sent' ? 'with the trigger sent' : `after ${when}`}: the action completed ${((Date.parse(done.time) - killedAt) / 1000).toFixed(1)} s after the kill`,
      );
      await waitFor(async () => (await count()) === expected, {
        timeoutMs: 30_000,
        what: `${expected} nodes (${victim})`,
      });
      await waitForSynced(s, expected, { since: Date.parse(done.time) });
      // A redelivered trigger publishes its stored decision again, under the same id: one decision.
      const ids = [...new Set(decisions().map((e) => e.id))];
      assert.equal(ids.length, 1, `the trigger decided once (${victim}): ${ids.join(', ')}`);
      assert.deepEqual(
        dataOf(done, 'io.scalewise.ScalingActionCompleted').new_workers,
        expected,
        `the completion states the nodes there are (${victim})`,
      );
    };

    await step('decision-engine', 'sent');
    await step('node-manager', 'decided');
    await step('state-sync', 'decided');
    await step('min-enforcer', 'decided');
    await step('metrics-listener', 'decided');
    await step('alert-manager', 'decided');
    console.log(resumed.join('\n'));
    // Nothing more appears later: no node made twice.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await count(), expected);
    const names = (await s.workers()).map((n) => n.metadata?.name);
    assert.equal(new Set(names).size, names.length);
  });
});

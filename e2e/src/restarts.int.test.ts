// The broker SIGKILLed, or Redis restarted, while an external system keeps producing
// triggers, with all six services on a Kafka (or Redis) of the test's own: every trigger is
// answered exactly once (one decision or one TriggerRejected), and the pool ends with as many
// nodes as the decisions asked for, none made twice.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type PrivateServer, startPrivateKafka, startPrivateRedis } from '@scalewise/bus/test-support';
import { createEvent, type EventData, toKafkaMessage } from '@scalewise/events';
import { testKafka, waitFor } from '@scalewise/testing';
import { dataOf, eventsOf, waitForSynced } from './expect.ts';
import { type System, type SystemOptions, startSystem } from './harness.ts';

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

type ScaleData = EventData<'io.scalewise.trigger.scale'>;

/**
 * Produces `plan` one by one, `gapMs` apart, as an external producer that retries until the
 * broker acknowledges (the same event, same id: a resend is the same trigger). `during(i)`
 * runs before the i-th send, unawaited (the fault). Returns the ids sent.
 */
async function produce(
  s: System,
  plan: unknown[],
  gapMs: number,
  during: (i: number) => void,
): Promise<string[]> {
  const ids: string[] = [];
  const kafka = testKafka(s.stack);
  let producer = kafka.producer();
  await producer.connect();
  for (const [i, data] of plan.entries()) {
    during(i);
    // Built from valid data and then given the planned data as sent: a bad trigger on purpose.
    const event = createEvent(
      'io.scalewise.trigger.scale',
      { pool: s.pool, action: 'scale_up', count: 1 },
      { source: '/e2e/chaos', clusterid: s.clusterId },
    );
    const m = toKafkaMessage({ ...event, data: data as ScaleData });
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await producer.send({
          topic: s.topic('triggers'),
          acks: -1,
          messages: [{ key: s.pool, value: m.value, headers: m.headers }],
        });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await producer.disconnect().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 500));
        producer = kafka.producer();
        await producer.connect().catch(() => undefined);
      }
    }
    ids.push(event.id);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await producer.disconnect().catch(() => undefined);
  return ids;
}

/** 12 triggers of +1, with a bad one (count 0) every fourth: 9 decisions or refusals of range, 3 invalid. */
const plan = (pool: string) =>
  Array.from({ length: 12 }, (_, i) =>
    i % 4 === 3
      ? { pool, action: 'scale_up', count: 0, reason: `bad ${i}` }
      : { pool, action: 'scale_up', count: 1, reason: `chaos ${i}` },
  );

/**
 * Every trigger answered exactly once (one distinct event: a ScaleUpDecision caused by it or a
 * TriggerRejected naming it); the pool ends at the last decision's size, no node made twice.
 */
async function answeredOnce(s: System, ids: string[], what: string): Promise<void> {
  const answers = (id: string) => {
    const decisions = eventsOf(s, 'ScaleUpDecision', { where: (e) => e.causationid === id });
    const rejections = eventsOf(s, 'TriggerRejected', {
      where: (e) => (e.data as { trigger_id?: string }).trigger_id === id,
    });
    return new Set([...decisions, ...rejections].map((e) => e.id));
  };
  await waitFor(() => ids.every((id) => answers(id).size > 0), {
    timeoutMs: 120_000,
    what: `an answer to each of the ${ids.length} triggers (${what})`,
  });
  for (const [i, id] of ids.entries()) {
    assert.equal(answers(id).size, 1, `trigger ${i} (${id}) answered once (${what})`);
  }
  const invalid = eventsOf(s, 'TriggerRejected', {
    where: (e) => ids.includes((e.data as { trigger_id: string }).trigger_id),
  }).filter((e) => dataOf(e, 'io.scalewise.TriggerRejected').reason === 'invalid');
  assert.equal(
    new Set(invalid.map((e) => e.id)).size,
    3,
    `the three bad triggers refused as invalid (${what})`,
  );
  const decisions = eventsOf(s, 'ScaleUpDecision');
  assert.ok(decisions.length > 0, `some triggers decided (${what})`);
  // A trigger's, or its held target pursued (caused by the event it was decided on, naming it).
  const triggerOf = (e: (typeof decisions)[number]) => {
    const x = dataOf(e, 'io.scalewise.ScaleUpDecision').explanation as {
      rule?: string;
      inputs?: Record<string, unknown>;
    };
    return x.rule === 'trigger_hold' ? String(x.inputs?.trigger_id) : (e.causationid ?? '');
  };
  assert.ok(
    decisions.every((e) => ids.includes(triggerOf(e))),
    `every scale-up was a trigger's (${what}): ${decisions.map((e) => `${e.id} ${triggerOf(e)}`).join(', ')}`,
  );
  const target = Math.max(...decisions.map((e) => dataOf(e, 'io.scalewise.ScaleUpDecision').desired_workers));
  await waitFor(async () => (await s.workers()).length === target, {
    timeoutMs: 60_000,
    what: `${target} nodes, the last decision's (${what})`,
  });
  await waitForSynced(s, target);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal((await s.workers()).length, target, `no node made later (${what})`);
  assert.equal(eventsOf(s, 'MinimumNodesViolation').length, 0, `the floor never broken (${what})`);
}

/**
 * A system on `servers` (with the test's own `server` among them), 12 triggers produced while
 * `server` goes down (SIGKILLed with `kill`, stopped with `stop`) and starts again 3 s later
 * (from the fifth trigger on), then every trigger answered once. The server is destroyed at
 * the file's end.
 */
async function underFault(
  label: string,
  server: PrivateServer,
  servers: SystemOptions['servers'],
  down: 'kill' | 'stop',
  what: string,
): Promise<void> {
  cleanup.push(() => server.destroy());
  const s = await startSystem({
    label,
    pool: { min: 1, max: 30, underutilizedForSeconds: 3600 },
    initialWorkers: 1,
    ...(servers ? { servers } : {}),
  });
  cleanup.push(() => s.stop());
  await waitForSynced(s, 1);
  let done: Promise<void> = Promise.resolve();
  const ids = await produce(s, plan(s.pool), 400, (i) => {
    if (i !== 4) return;
    done = (async () => {
      await server[down]();
      await new Promise((r) => setTimeout(r, 3000));
      await server.start();
    })();
  });
  await done;
  await answeredOnce(s, ids, what);
}

describe('restarts of a server under load', () => {
  test('the broker SIGKILLed and restarted while triggers are produced: each answered once, no node twice', async () => {
    const kafka = await startPrivateKafka();
    await underFault('chaos-broker', kafka, { kafkaBrokers: kafka.brokers }, 'kill', 'broker SIGKILLed');
  });

  test('Redis restarted while triggers are produced: each answered once, no duplicate decision', async () => {
    // As docker-compose.yml runs it: the append-only file keeps the data across the restart.
    const redis = await startPrivateRedis({ appendOnly: true });
    await underFault('chaos-redis', redis, { redisUrl: redis.url }, 'stop', 'Redis restarted');
  });
});

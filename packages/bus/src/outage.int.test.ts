// The broker stops (or is SIGKILLed) and restarts while 10,000 events flow: every event is
// handled and its side effect happens exactly once. The broker is a private one (the shared
// one stays up). After a SIGKILL the broker may have lost the idempotent producer's session:
// the publisher renews its producer (publisher.ts, lostProducerState).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEvent, sampleData } from '@scalewise/events';
import { getStack, uniqueName, waitFor } from '@scalewise/testing';
import { Redis } from 'ioredis';
import { logLevel } from 'kafkajs';
import { createBus } from './bus.ts';
import { startPrivateKafka } from './test-support/private-kafka.ts';

const TOTAL = 10_000;
const BATCH = 100;
/** Publishing is paced so that it spans the outage: the producer sees it as well as the consumer. */
const PACE_MS = 100;

for (const fault of ['stopped', 'SIGKILLed'] as const)
  test(`broker ${fault} and restarted while 10,000 events flow: all handled, side effects once`, {
    timeout: 600_000,
  }, async (t) => {
    const stack = await getStack();
    const kafka = await startPrivateKafka();
    const redis = new Redis(stack.redis.url);
    const effects = uniqueName('effects');
    // What the consumer went through, for the message of a timeout: the bus's own lines and
    // kafkajs' crashes (kafkajs' log is off).
    const seen: string[] = [];
    const note = (level: string) => (obj: object, msg?: string) => {
      seen.push(`${level} ${msg ?? ''} ${JSON.stringify(obj).slice(0, 300)}`);
    };
    const cleanup: (() => Promise<unknown>)[] = [];
    // One ordered cleanup: the bus first, then the broker, then the side-effect keys.
    t.after(async () => {
      for (const step of cleanup) await step().catch(() => undefined);
      await redis.del(effects, `${effects}:count`).catch(() => undefined);
      redis.disconnect();
      await kafka.destroy();
    });

    const bus = createBus({
      service: 'outage-test',
      clusterid: 'local',
      kafka: {
        clientId: uniqueName('c'),
        brokers: kafka.brokers,
        logLevel: logLevel.NOTHING,
        retry: { retries: 30, initialRetryTime: 300, maxRetryTime: 5_000 },
      },
      redis: { url: stack.redis.url },
      s3: { ...stack.s3, bucket: uniqueName('dlq') },
      topicPrefix: `${uniqueName('outage')}.`,
      partitions: 3,
      breakers: { resetTimeoutMs: 1_000 },
      logger: { info: note('info'), warn: note('warn'), error: note('error') },
    });
    cleanup.push(() => bus.stop(20_000));
    await bus.start();
    const sub = bus.subscribe({
      groupId: uniqueName('g'),
      fromBeginning: true,
      handlers: {
        // The side effect: a counter. The set tells duplicates apart from missing events.
        'io.scalewise.PoolMetricsObserved': async (e) => {
          await redis.multi().sadd(effects, e.id).incr(`${effects}:count`).exec();
        },
      },
    });
    sub.consumer.on(sub.consumer.events.CRASH, (e) => {
      seen.push(
        `kafkajs crash (restart: ${e.payload.restart}): ${e.payload.error.name}: ${e.payload.error.message}`,
      );
    });
    await sub.start();

    const events = Array.from({ length: TOTAL }, (_, i) =>
      createEvent(
        'io.scalewise.PoolMetricsObserved',
        { ...sampleData['io.scalewise.PoolMetricsObserved'], pool: `pool-${i % 7}`, workers: i % 50 },
        { source: '/outage-test', clusterid: 'local', id: `evt-${i}` },
      ),
    );
    let sent = 0;
    let publishFailures = 0;
    const producing = (async () => {
      for (let i = 0; i < TOTAL; i += BATCH) {
        const batch = events.slice(i, i + BATCH);
        // A failed batch is sent again, as any producer would: duplicates are the bus's to absorb.
        for (;;) {
          try {
            await bus.publisher.publish(...batch);
            break;
          } catch {
            publishFailures += 1;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
        sent += batch.length;
        await new Promise((r) => setTimeout(r, PACE_MS));
      }
    })();

    await waitFor(async () => Number(await redis.get(`${effects}:count`)) >= 2_000, {
      timeoutMs: 120_000,
      what: '2,000 handled before the outage',
    });
    assert.ok(sent < TOTAL, 'publishing is still going on when the broker stops');
    await (fault === 'stopped' ? kafka.stop() : kafka.kill());
    await new Promise((r) => setTimeout(r, 3_000));
    await kafka.start();
    await producing;
    assert.equal(sent, TOTAL);
    await waitFor(async () => (await redis.scard(effects)) >= TOTAL, {
      timeoutMs: 300_000,
      intervalMs: 500,
      what: 'every event handled',
    }).catch(async (err: Error) => {
      const state = {
        handled: await redis.scard(effects),
        failure: sub.failure(),
        paused: sub.paused(),
        seen: seen.slice(-30),
      };
      throw new Error(`${err.message}: ${JSON.stringify(state, null, 1)}`);
    });
    // Let redeliveries, if any, arrive before counting the side effects.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(await redis.scard(effects), TOTAL);
    assert.equal(Number(await redis.get(`${effects}:count`)), TOTAL, 'each side effect happened once');
    t.diagnostic(`publish batches retried after the outage: ${publishFailures}`);
  });

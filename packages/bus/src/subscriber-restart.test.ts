// A consumer kafkajs gives up on: started again when the cause is an outage, stopped for good
// (and said so) when Kafka refused it. kafkajs' consumer is replaced by a recording fake; the
// restart timer runs on node:test's mock clock.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { beforeEach, describe, test } from 'node:test';
import kafkajs, { type Kafka } from 'kafkajs';
import { createSubscriber, type Subscriber } from './subscriber.ts';
import {
  connectionClosed,
  coordinatorNotFound,
  groupAuthorizationFailed,
} from './test-support/kafkajs-errors.ts';

const { KafkaJSNonRetriableError, KafkaJSConnectionError } = kafkajs;
/** A kafkajs error by its name (the typings give some constructors no message). */
const kafkajsError = (name: string, message: string) => Object.assign(new Error(message), { name });

/** kafkajs' consumer as far as the subscriber uses it: the calls made, a crash on demand. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const calls: string[] = [];
  let connectFailures: Error[] = [];
  const consumer = {
    events: { CRASH: 'consumer.crash', END_BATCH_PROCESS: 'consumer.end_batch_process' },
    on: (event: string, listener: (e: unknown) => void) => emitter.on(event, listener),
    async connect() {
      calls.push('connect');
      const failure = connectFailures.shift();
      if (failure) throw failure;
    },
    async subscribe() {
      calls.push('subscribe');
    },
    async run() {
      calls.push('run');
    },
    async disconnect() {
      calls.push('disconnect');
    },
  };
  return {
    consumer,
    calls,
    crash: (error: Error, restart: boolean) =>
      emitter.emit('consumer.crash', { payload: { error, groupId: 'g', restart } }),
    failNextConnects: (...errors: Error[]) => {
      connectFailures = errors;
    },
  };
}

let fake: ReturnType<typeof fakeConsumer>;
let subscriber: Subscriber;

beforeEach(async () => {
  fake = fakeConsumer();
  subscriber = createSubscriber({
    kafka: { consumer: () => fake.consumer } as unknown as Kafka,
    groupId: 'g',
    service: 'test',
    clusterid: 'local',
    handlers: { 'io.scalewise.PoolMetricsObserved': async () => [] },
    publisher: {} as never,
    dlq: {} as never,
    idempotency: {} as never,
    restartBackoff: { baseMs: 1_000, maxMs: 4_000 },
    // The top of each jittered wait, so the test knows when each attempt comes.
    random: () => 1,
  });
  await subscriber.start();
  fake.calls.length = 0;
});

/** Lets the restart's promise chain run after the mock clock fired its timer. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('a consumer kafkajs gave up on', () => {
  test('an outage error: started again after the backoff, and not reported as failed', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    fake.crash(new KafkaJSNonRetriableError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), false);
    t.mock.timers.tick(999);
    await settle();
    assert.deepEqual(fake.calls, [], 'nothing before the backoff');
    t.mock.timers.tick(1);
    await settle();
    assert.deepEqual(fake.calls, ['connect', 'subscribe', 'run']);
    assert.equal(subscriber.failure(), undefined);
  });

  test('a restart that fails is tried again, the wait doubling up to its bound', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const refused = () => new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
    fake.failNextConnects(refused(), refused(), refused());
    fake.crash(new KafkaJSNonRetriableError('Connection error'), false);
    const attempts: number[] = [];
    for (let ms = 0; ms < 20_000; ms += 500) {
      t.mock.timers.tick(500);
      await settle();
      const n = fake.calls.filter((c) => c === 'connect').length;
      if (n > attempts.length) attempts.push(ms + 500);
    }
    // 1 s, then 2 s, 4 s, and 4 s (the bound) after each failed attempt.
    assert.deepEqual(attempts, [1_000, 3_000, 7_000, 11_000]);
    assert.deepEqual(fake.calls.slice(-3), ['connect', 'subscribe', 'run']);
    assert.equal(subscriber.failure(), undefined);
  });

  test('a refusal: stopped for good, failure() names the cause, no restart', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    fake.crash(
      kafkajsError('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed'),
      false,
    );
    t.mock.timers.tick(60_000);
    await settle();
    assert.deepEqual(fake.calls, []);
    assert.match(subscriber.failure() ?? '', /consumer group g stopped: SASL authentication failed/);
  });

  test('a coordinator lookup refused to the end (a group without an ACL): stopped, no restart', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    fake.crash(coordinatorNotFound(groupAuthorizationFailed()), false);
    t.mock.timers.tick(60_000);
    await settle();
    assert.deepEqual(fake.calls, []);
    assert.match(subscriber.failure() ?? '', /consumer group g stopped: GROUP_AUTHORIZATION_FAILED/);
  });

  test('a coordinator lookup cut short by a broker going away: started again', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    fake.crash(coordinatorNotFound(connectionClosed()), false);
    t.mock.timers.tick(1_000);
    await settle();
    assert.deepEqual(fake.calls, ['connect', 'subscribe', 'run']);
    assert.equal(subscriber.failure(), undefined);
  });

  test('a crash kafkajs restarts itself, or one while stopping: nothing of ours', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    fake.crash(new KafkaJSConnectionError('Connection error'), true);
    t.mock.timers.tick(60_000);
    await settle();
    assert.deepEqual(fake.calls, []);
    fake.crash(new KafkaJSNonRetriableError('Connection error'), false);
    await subscriber.stop(1_000);
    t.mock.timers.tick(60_000);
    await settle();
    assert.deepEqual(fake.calls, ['disconnect'], 'stopped: the pending restart is cancelled');
    assert.equal(subscriber.failure(), undefined);
  });
});

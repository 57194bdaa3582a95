import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { freshGroupId, freshTopic, testKafka } from './kafka.ts';
import { uniqueName } from './names.ts';
import { getStack, type StackEndpoints } from './stack.ts';
import { waitFor } from './wait.ts';

let stack: StackEndpoints;
before(async () => {
  stack = await getStack();
});
after(async () => {
  await stack?.stop();
});

describe('the harness gives real servers', () => {
  test('kafka: records produced with keys are consumed from the partition their key chose', async () => {
    const topic = await freshTopic(stack, { partitions: 3 });
    const kafka = testKafka(stack);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const keys = ['pool-a', 'pool-b', 'pool-c', 'pool-d'];
    const sent = await producer.send({
      topic,
      acks: -1,
      messages: keys.flatMap((key) => [0, 1, 2].map((i) => ({ key, value: `${key}#${i}` }))),
    });
    await producer.disconnect();
    assert.equal(
      sent.reduce((n, r) => n + (r.errorCode === 0 ? 1 : 0), 0),
      sent.length,
    );

    const consumer = kafka.consumer({ groupId: freshGroupId() });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: { key: string; value: string; partition: number }[] = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ key: String(message.key), value: String(message.value), partition });
      },
    });
    try {
      await waitFor(() => seen.length >= 12, { timeoutMs: 30_000, what: '12 records consumed' });
    } finally {
      await consumer.disconnect();
    }
    assert.equal(seen.length, 12);
    for (const key of keys) {
      const mine = seen.filter((r) => r.key === key);
      assert.equal(new Set(mine.map((r) => r.partition)).size, 1, `all records of ${key} in one partition`);
      assert.deepEqual(
        mine.map((r) => r.value),
        [`${key}#0`, `${key}#1`, `${key}#2`],
        `records of ${key} in order`,
      );
    }
    assert.ok(
      new Set(seen.map((r) => r.partition)).size > 1,
      'four keys spread over more than one partition',
    );
  });

  test('redis: a stream entry added with XADD is read once through a consumer group', async () => {
    const redis = new Redis(stack.redis.url);
    const stream = uniqueName('stream');
    try {
      await redis.xgroup('CREATE', stream, 'workers', '$', 'MKSTREAM');
      const id = await redis.xadd(stream, '*', 'type', 'scale_up', 'pod_count', '3', 'task_id', 'task-123');
      const first = (await redis.xreadgroup('GROUP', 'workers', 'w1', 'COUNT', 10, 'STREAMS', stream, '>')) as
        | [string, [string, string[]][]][]
        | null;
      assert.ok(first);
      const [, entries] = first[0]!;
      assert.equal(entries.length, 1);
      assert.equal(entries[0]![0], id);
      assert.deepEqual(entries[0]![1], ['type', 'scale_up', 'pod_count', '3', 'task_id', 'task-123']);
      assert.equal(await redis.xack(stream, 'workers', id!), 1);
      const again = await redis.xreadgroup('GROUP', 'workers', 'w1', 'COUNT', 10, 'STREAMS', stream, '>');
      assert.equal(again, null, 'an acknowledged entry is not delivered again');
    } finally {
      await redis.del(stream);
      redis.disconnect();
    }
  });

  test('s3: an object put into a new bucket is listed and read back byte for byte', async () => {
    const s3 = new S3Client({
      endpoint: stack.s3.endpoint,
      region: stack.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: stack.s3.accessKeyId, secretAccessKey: stack.s3.secretAccessKey },
    });
    const bucket = uniqueName('bucket');
    const body = JSON.stringify({ hello: 'scalewise', n: 42 });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'dlq/t/2026/11/22/a.json',
          Body: body,
          ContentType: 'application/json',
        }),
      );
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'dlq/' }));
      assert.deepEqual(
        listed.Contents?.map((o) => o.Key),
        ['dlq/t/2026/11/22/a.json'],
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dlq/t/2026/11/22/a.json' }));
      assert.equal(await got.Body?.transformToString(), body);
    } finally {
      s3.destroy();
    }
  });
});

// Services start together and each makes sure the dead-letter bucket exists: on the real S3
// server, six at once on a bucket nobody created all succeed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getStack, uniqueName } from '@scalewise/testing';
import { createBreaker } from './breaker.ts';
import { createS3DeadLetterStore } from './dlq.ts';
import { createS3Client } from './s3.ts';

test('six stores creating the same missing bucket at once all succeed, and it exists', async () => {
  const stack = await getStack();
  const bucket = uniqueName('bucket-race');
  const store = () =>
    createS3DeadLetterStore(
      createS3Client({
        endpoint: stack.s3.endpoint,
        region: stack.s3.region,
        accessKeyId: stack.s3.accessKeyId,
        secretAccessKey: stack.s3.secretAccessKey,
        forcePathStyle: true,
      }),
      bucket,
      createBreaker('s3'),
    );
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => store().ensureBucket()));
  assert.deepEqual(
    results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
    [],
  );
  assert.deepEqual(await store().list(), []);
});

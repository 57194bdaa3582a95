/**
 * The dead-letter store on S3 (DESIGN.md section 6): one JSON object per record at
 * `dlq/<topic>/<yyyy>/<mm>/<dd>/<event-id or partition-offset>.json`, with the original
 * record byte for byte (value in base64), where it came from, and why it failed.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ScalewiseError } from '@scalewise/errors';
import type { Breaker } from './breaker.ts';

export interface DeadLetter {
  version: 1;
  service: string;
  consumer_group: string;
  topic: string;
  partition: number;
  offset: string;
  record: {
    key: string | null;
    /** base64 of the value bytes; null for a null value. */
    value_base64: string | null;
    headers: Record<string, string>;
    timestamp: string | null;
  };
  event_id: string | null;
  event_type: string | null;
  error: { code: string; message: string; stack: string | null; retriable: boolean };
  attempts: number;
  first_failure_at: string;
  last_failure_at: string;
}

/** Characters safe in an S3 key segment; others become `_`. */
function segment(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200) || '_';
}

/** The object key of a dead letter. Pure. */
export function deadLetterKey(
  d: Pick<DeadLetter, 'topic' | 'partition' | 'offset' | 'event_id' | 'last_failure_at'>,
): string {
  const t = new Date(d.last_failure_at);
  const yyyy = String(t.getUTCFullYear());
  const mm = String(t.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(t.getUTCDate()).padStart(2, '0');
  // The id alone may repeat (a producer bug, a replay); partition and offset make it unique.
  const id = d.event_id
    ? `${segment(d.event_id)}-p${d.partition}-o${d.offset}`
    : `p${d.partition}-o${d.offset}`;
  return `dlq/${segment(d.topic)}/${yyyy}/${mm}/${dd}/${id}.json`;
}

export interface DeadLetterStore {
  readonly bucket: string;
  ensureBucket(): Promise<void>;
  /** Stores a dead letter; resolves with its key. @throws DEPENDENCY_UNAVAILABLE/CIRCUIT_OPEN when S3 fails. */
  put(d: DeadLetter): Promise<string>;
  get(key: string): Promise<DeadLetter>;
  list(options?: {
    topic?: string;
    limit?: number;
  }): Promise<{ key: string; size: number; lastModified?: Date }[]>;
}

export function createS3DeadLetterStore(s3: S3Client, bucket: string, breaker: Breaker): DeadLetterStore {
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await breaker.call(fn);
    } catch (err) {
      if (err instanceof ScalewiseError) throw err;
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (err as { name?: string }).name === 'NoSuchKey') {
        throw new ScalewiseError('NOT_FOUND', `${what}: not found in bucket ${bucket}`, { cause: err });
      }
      throw new ScalewiseError('DEPENDENCY_UNAVAILABLE', `${what}: S3 failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  };
  return {
    bucket,
    async ensureBucket() {
      await wrap(`bucket ${bucket}`, async () => {
        try {
          await s3.send(new HeadBucketCommand({ Bucket: bucket }));
        } catch (err) {
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status !== 404) throw err;
          await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        }
      });
    },
    async put(d) {
      const key = deadLetterKey(d);
      await wrap(`storing ${key}`, () =>
        s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: JSON.stringify(d, null, 2),
            ContentType: 'application/json',
          }),
        ),
      );
      return key;
    },
    async get(key) {
      const out = await wrap(`reading ${key}`, () =>
        s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })),
      );
      const text = (await out.Body?.transformToString('utf8')) ?? '';
      try {
        return JSON.parse(text) as DeadLetter;
      } catch (err) {
        throw new ScalewiseError('MALFORMED_RECORD', `${key} is not a dead letter (not JSON)`, {
          cause: err,
        });
      }
    },
    async list(options = {}) {
      const prefix = options.topic ? `dlq/${segment(options.topic)}/` : 'dlq/';
      const limit = options.limit ?? 1000;
      const out: { key: string; size: number; lastModified?: Date }[] = [];
      let token: string | undefined;
      do {
        const page = await wrap('listing dead letters', () =>
          s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key)
            out.push({
              key: o.Key,
              size: o.Size ?? 0,
              ...(o.LastModified ? { lastModified: o.LastModified } : {}),
            });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token && out.length < limit);
      return out.slice(0, limit);
    },
  };
}

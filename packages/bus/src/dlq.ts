/**
 * The dead-letter store on S3 (DESIGN.md section 6): one JSON object per record at
 * `dlq/<topic>/<yyyy>/<mm>/<dd>/<event-id or partition-offset>.json`, with the original
 * record byte for byte (value in base64), where it came from, and why it failed.
 */
import { ScalewiseError } from '@scalewise/errors';
import type { Breaker } from './breaker.ts';
import { createS3Client, type S3Api, S3Error } from './s3.ts';

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

/**
 * The parts of an `@aws-sdk/client-s3` S3Client's resolved configuration the store reads when
 * a caller still hands it one (packages/cli): region, endpoint, path style and credentials.
 * The requests themselves go through {@link createS3Client}; the SDK's `send` is not used.
 */
export interface SdkS3ClientLike {
  send: unknown;
  config: {
    region: () => Promise<string>;
    credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
    forcePathStyle?: boolean | undefined;
    endpoint?: unknown;
  };
}

/** Our client with the region, endpoint, path style and credentials of an SDK client. */
function fromSdkClient(sdk: SdkS3ClientLike): S3Api {
  let client: Promise<S3Api> | undefined;
  const resolve = () =>
    (client ??= (async () => {
      const region = await sdk.config.region();
      const ep =
        typeof sdk.config.endpoint === 'function'
          ? ((await sdk.config.endpoint()) as {
              protocol: string;
              hostname: string;
              port?: number;
              path?: string;
            })
          : undefined;
      const endpoint = ep
        ? `${ep.protocol.replace(/:?$/, ':')}//${ep.hostname}${ep.port ? `:${ep.port}` : ''}${ep.path ?? ''}`
        : undefined;
      return createS3Client({
        region,
        ...(endpoint ? { endpoint } : {}),
        forcePathStyle: sdk.config.forcePathStyle ?? false,
        credentials: async () => {
          const c = await sdk.config.credentials();
          return {
            accessKeyId: c.accessKeyId,
            secretAccessKey: c.secretAccessKey,
            sessionToken: c.sessionToken,
          };
        },
      });
    })());
  return {
    headBucket: async (...a) => (await resolve()).headBucket(...a),
    createBucket: async (...a) => (await resolve()).createBucket(...a),
    putObject: async (...a) => (await resolve()).putObject(...a),
    getObject: async (...a) => (await resolve()).getObject(...a),
    listObjects: async (...a) => (await resolve()).listObjects(...a),
    destroy: () => void client?.then((c) => c.destroy()),
  };
}

/**
 * The dead-letter store on the bucket, every call through the S3 breaker.
 * @param s3 our S3 client ({@link createS3Client}), or an `@aws-sdk/client-s3` S3Client whose configuration is reused
 */
export function createS3DeadLetterStore(
  s3In: S3Api | SdkS3ClientLike,
  bucket: string,
  breaker: Breaker,
): DeadLetterStore {
  const s3: S3Api = 'send' in s3In ? fromSdkClient(s3In) : s3In;
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await breaker.call(fn);
    } catch (err) {
      if (err instanceof ScalewiseError) throw err;
      if (err instanceof S3Error && err.status === 404) {
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
          await s3.headBucket(bucket);
        } catch (err) {
          if (!(err instanceof S3Error) || err.status !== 404) throw err;
          try {
            await s3.createBucket(bucket);
          } catch (e) {
            // Another service created it between our HEAD and our PUT: the bucket is there.
            if (
              !(
                e instanceof S3Error &&
                (e.code === 'BucketAlreadyOwnedByYou' || e.code === 'BucketAlreadyExists')
              )
            )
              throw e;
          }
        }
      });
    },
    async put(d) {
      const key = deadLetterKey(d);
      await wrap(`storing ${key}`, () =>
        s3.putObject(bucket, key, JSON.stringify(d, null, 2), 'application/json'),
      );
      return key;
    },
    async get(key) {
      const out = await wrap(`reading ${key}`, () => s3.getObject(bucket, key));
      const text = out.toString('utf8');
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
          s3.listObjects(bucket, { prefix, continuationToken: token }),
        );
        // Every dead letter's key ends in .json. Some S3 servers (s3proxy's filesystem backend)
        // list an upload in progress under a temporary name (<key>-<uuid>); leave those out.
        out.push(...page.contents.filter((o) => o.key.endsWith('.json')));
        token = page.nextContinuationToken;
      } while (token && out.length < limit);
      return out.slice(0, limit);
    },
  };
}

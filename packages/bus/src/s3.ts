/**
 * A small S3 client for the five calls the dead-letter store makes (HEAD/PUT bucket, PUT/GET
 * object, ListObjectsV2), signed with AWS Signature Version 4 over node:http(s).
 *
 * Why not @aws-sdk/client-s3: every service loads the bus, and the SDK cost each of them
 * about 25 MiB of idle RSS and 1.4 MiB of bundle (bench/README.md) for calls that, in a
 * healthy system, happen only at start (the bucket check) and on /readyz. The SDK's credential
 * chain (IRSA web identity, SSO, instance metadata) is still used when no static keys are
 * configured: it is imported only then.
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { certificateProblem } from '@scalewise/errors';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface S3ClientOptions {
  /** @default `https://s3.<region>.amazonaws.com` */
  endpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint host>/<key>`. @default true */
  forcePathStyle?: boolean;
  /**
   * PEM of the CA(s) that signed an https endpoint's certificate, trusted instead of Node's
   * bundled roots (a private CA, the native stack's). @default Node's roots
   */
  ca?: string;
  /** A request that takes longer is aborted. @default 10000 */
  timeoutMs?: number;
  /** Where credentials come from when no static keys are given. @default the AWS SDK's node chain, imported on first use */
  credentials?: () => Promise<S3Credentials>;
}

/** An S3 error answer (or a transport failure, status 0), with S3's error code. */
export class S3Error extends Error {
  override name = 'S3Error';
  /** The HTTP status; 0 when no answer came (refused, reset, timed out). */
  readonly status: number;
  /** S3's error code (NoSuchKey, AccessDenied, ...) or the transport's (ECONNREFUSED, ABORT_ERR). */
  readonly code: string;
  constructor(message: string, status: number, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.code = code;
  }
}

export interface S3ObjectInfo {
  key: string;
  size: number;
  lastModified?: Date;
}

/** The calls of S3 the bus makes. */
export interface S3Api {
  /** @throws S3Error, status 404 when the bucket does not exist. */
  headBucket(bucket: string, options?: { signal?: AbortSignal }): Promise<void>;
  createBucket(bucket: string): Promise<void>;
  putObject(bucket: string, key: string, body: string | Buffer, contentType?: string): Promise<void>;
  /** @throws S3Error, status 404 code NoSuchKey when the object does not exist. */
  getObject(bucket: string, key: string): Promise<Buffer>;
  listObjects(
    bucket: string,
    options?: { prefix?: string; continuationToken?: string | undefined },
  ): Promise<{ contents: S3ObjectInfo[]; nextContinuationToken?: string }>;
  /** Closes idle keep-alive connections. */
  destroy(): void;
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept; `/` kept in paths). */
export function uriEncode(s: string, keepSlash = false): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(keepSlash ? /%2F/g : /$^/, '/');
}

export interface SignInput {
  method: string;
  /** The already-encoded path, e.g. `/bucket/dlq/a.json`. */
  path: string;
  query: Record<string, string>;
  /** Headers to sign besides host, x-amz-date, x-amz-content-sha256 and the session token. */
  headers: Record<string, string>;
  host: string;
  payloadHash: string;
  region: string;
  credentials: S3Credentials;
  now: Date;
}

/**
 * The headers of a SigV4-signed S3 request (`Authorization`, `x-amz-date`,
 * `x-amz-content-sha256`, the session token when there is one, and the given ones). Pure.
 */
export function signS3Request(r: SignInput): Record<string, string> {
  const amzDate = r.now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v])),
    host: r.host,
    'x-amz-content-sha256': r.payloadHash,
    'x-amz-date': amzDate,
    ...(r.credentials.sessionToken ? { 'x-amz-security-token': r.credentials.sessionToken } : {}),
  };
  const names = Object.keys(headers).sort();
  const canonicalQuery = Object.entries(r.query)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonical = [
    r.method,
    r.path,
    canonicalQuery,
    ...names.map((n) => `${n}:${String(headers[n]).trim().replace(/\s+/g, ' ')}`),
    '',
    names.join(';'),
    r.payloadHash,
  ].join('\n');
  const scope = `${day}/${r.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${r.credentials.secretAccessKey}`, day), r.region), 's3'),
    'aws4_request',
  );
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${r.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeXml = (s: string) =>
  s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (m, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(Number.parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number(e.slice(1)))
        : (entities[e] ?? m),
  );
const tag = (xml: string, name: string) => {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1] === undefined ? undefined : unescapeXml(m[1]);
};

/** A ListObjectsV2 answer. Pure. */
export function parseListObjects(xml: string): { contents: S3ObjectInfo[]; nextContinuationToken?: string } {
  const contents: S3ObjectInfo[] = [];
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const body = m[1] ?? '';
    const key = tag(body, 'Key');
    if (key === undefined) continue;
    const modified = tag(body, 'LastModified');
    contents.push({
      key,
      size: Number(tag(body, 'Size') ?? 0),
      ...(modified ? { lastModified: new Date(modified) } : {}),
    });
  }
  const token = tag(xml, 'IsTruncated') === 'true' ? tag(xml, 'NextContinuationToken') : undefined;
  return { contents, ...(token ? { nextContinuationToken: token } : {}) };
}

/** The AWS SDK's default credential chain, loaded only by a client without static keys. */
async function sdkCredentialChain(): Promise<() => Promise<S3Credentials>> {
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  return defaultProvider();
}

export function createS3Client(options: S3ClientOptions): S3Api {
  const endpoint = new URL(options.endpoint ?? `https://s3.${options.region}.amazonaws.com`);
  const pathStyle = options.forcePathStyle ?? true;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const request = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
  const agent =
    endpoint.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: true, maxSockets: 8, ...(options.ca ? { ca: options.ca } : {}) })
      : new HttpAgent({ keepAlive: true, maxSockets: 8 });
  let credentials: Promise<() => Promise<S3Credentials>> | undefined;
  const credentialsNow = (): Promise<S3Credentials> => {
    if (options.accessKeyId && options.secretAccessKey)
      return Promise.resolve({ accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey });
    credentials ??= options.credentials ? Promise.resolve(options.credentials) : sdkCredentialChain();
    return credentials.then((provider) => provider());
  };

  async function send(
    method: string,
    bucket: string,
    key: string | undefined,
    opts: { query?: Record<string, string>; body?: Buffer; contentType?: string; signal?: AbortSignal } = {},
  ): Promise<{ status: number; body: Buffer }> {
    const keyPath = key === undefined ? '' : `/${uriEncode(key, true)}`;
    const base = endpoint.pathname.replace(/\/$/, '');
    const host = pathStyle ? endpoint.host : `${bucket}.${endpoint.host}`;
    const path = pathStyle ? `${base}/${uriEncode(bucket)}${keyPath}` : `${base}${keyPath || '/'}`;
    const query = opts.query ?? {};
    const body = opts.body ?? Buffer.alloc(0);
    const headers = signS3Request({
      method,
      path,
      query,
      headers: {
        ...(opts.body ? { 'content-length': String(body.length) } : {}),
        ...(opts.contentType ? { 'content-type': opts.contentType } : {}),
      },
      host,
      payloadHash: sha256Hex(body),
      region: options.region,
      credentials: await credentialsNow(),
      now: new Date(),
    });
    const qs = new URLSearchParams(query).toString();
    const signal = opts.signal
      ? AbortSignal.any([opts.signal, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          protocol: endpoint.protocol,
          hostname: pathStyle ? endpoint.hostname : `${bucket}.${endpoint.hostname}`,
          port: endpoint.port || undefined,
          method,
          path: qs ? `${path}?${qs}` : path,
          headers,
          agent,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', (err) =>
        reject(
          new S3Error(
            `${method} ${path}: ${certificateProblem(err) ?? err.message}`,
            0,
            (err as { code?: string }).code ?? 'NetworkError',
            { cause: err },
          ),
        ),
      );
      req.end(opts.body);
    });
  }

  /** The answer, or an S3Error with S3's code and message for a status >= 300. */
  async function call(...args: Parameters<typeof send>): Promise<Buffer> {
    const [method, bucket, key] = args;
    let res: { status: number; body: Buffer };
    try {
      res = await send(...args);
    } catch (err) {
      // One more try on a fresh connection: a kept-alive socket the server closed meanwhile
      // fails the first request on it. Every call the bus makes is idempotent.
      if (!(err instanceof S3Error) || err.status !== 0 || err.code === 'ABORT_ERR') throw err;
      res = await send(...args);
    }
    if (res.status >= 200 && res.status < 300) return res.body;
    const xml = res.body.toString('utf8');
    // A HEAD answer has no body: name the usual causes of its status ourselves.
    const code =
      tag(xml, 'Code') ??
      (res.status === 404
        ? key === undefined
          ? 'NotFound'
          : 'NoSuchKey'
        : res.status === 403
          ? 'Forbidden'
          : `HTTP${res.status}`);
    const message =
      tag(xml, 'Message') ??
      (res.status === 403
        ? 'HTTP 403: the server refused the request (a wrong access key id or secret key, or no permission on the bucket)'
        : `HTTP ${res.status}`);
    throw new S3Error(
      `${method} ${bucket}${key === undefined ? '' : `/${key}`}: ${code}: ${message}`,
      res.status,
      code,
    );
  }

  return {
    async headBucket(bucket, opts = {}) {
      await call('HEAD', bucket, undefined, opts.signal ? { signal: opts.signal } : {});
    },
    async createBucket(bucket) {
      // Outside us-east-1 S3 wants the region named in the body.
      const body =
        options.region === 'us-east-1'
          ? undefined
          : Buffer.from(
              `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>${options.region}</LocationConstraint></CreateBucketConfiguration>`,
            );
      await call('PUT', bucket, undefined, body ? { body, contentType: 'application/xml' } : {});
    },
    async putObject(bucket, key, body, contentType) {
      await call('PUT', bucket, key, {
        body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
        ...(contentType ? { contentType } : {}),
      });
    },
    getObject: (bucket, key) => call('GET', bucket, key),
    async listObjects(bucket, opts = {}) {
      const query: Record<string, string> = { 'list-type': '2' };
      if (opts.prefix) query.prefix = opts.prefix;
      if (opts.continuationToken) query['continuation-token'] = opts.continuationToken;
      return parseListObjects((await call('GET', bucket, undefined, { query })).toString('utf8'));
    },
    destroy() {
      agent.destroy();
    },
  };
}

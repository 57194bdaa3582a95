/**
 * Requests to the API server over `node:https` (or `node:http` for an http:// server), JSON in
 * and out, on one keep-alive agent. An object is one `JSON.parse` of the answer and goes to
 * its caller as it is (timestamps as RFC 3339 strings: types.ts): no model classes, no
 * serializer walking every field.
 *
 * Failures, for `statusOf` / `toKubeError` / `isNetworkError` in client.ts:
 * - an answer other than 2xx: an {@link ApiStatusError} with `.code` (the HTTP status) and
 *   `.body` (the Status object the server sent);
 * - no answer: the socket's error with its `.code` (ECONNREFUSED, ECONNRESET, ...); silence for
 *   `idleMs`, or a request past its `timeoutMs`, an error with code ETIMEDOUT.
 * A 401 makes the credentials be read again (a rotated token file, an exec plugin run again).
 */
import { Buffer } from 'node:buffer';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { CredentialSource } from './credentials.ts';
import type { KubeTarget } from './kubeconfig.ts';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

/** An answer of the API server other than 2xx, carrying its status (for {@link statusOf}) and Status body. */
export class ApiStatusError extends Error {
  readonly code: number;
  readonly body: unknown;
  constructor(code: number, body: unknown, what: string) {
    const message = (body as { message?: unknown } | null)?.message;
    super(typeof message === 'string' ? message : `${what}: HTTP ${code}`);
    this.name = 'ApiStatusError';
    this.code = code;
    this.body = body;
  }
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The API path, `/api/v1/nodes`; the server URL's own path (a proxy's prefix) goes before it. */
  path: string;
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** @default 'application/json' (with a body) */
  contentType?: string;
  /** Silence (no byte either way) for this long fails the request with ETIMEDOUT. @default 30000 */
  idleMs?: number;
  /** The whole request, its answer read to the end included; none by default. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Transport {
  /**
   * Sends a request and resolves with the open response once its status is 2xx (a watch reads
   * it as it comes).
   * @throws ApiStatusError for any other status; the socket's error (ECONNREFUSED, ...) when
   *   the server cannot be reached; an AbortError when `signal` aborts; what the credentials throw.
   */
  open(req: KubeRequest): Promise<IncomingMessage>;
  /**
   * Sends a request and resolves with its answer's JSON (undefined for an empty body).
   * @throws as {@link open}; an error with code ETIMEDOUT past `timeoutMs`.
   */
  request<T = unknown>(req: KubeRequest): Promise<T>;
  /** Closes the agent's idle connections (and any open ones). */
  close(): void;
}

/** Silence on a request (no byte sent or received) before it is given up. */
export const DEFAULT_IDLE_MS = 30_000;

const pathWith = (path: string, query: Query | undefined): string => {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
};

const timedOut = (message: string): Error => Object.assign(new Error(message), { code: 'ETIMEDOUT' });

/** Requests to `target`, authenticated by `credentials`. */
export function createTransport(target: KubeTarget, credentials: CredentialSource): Transport {
  const base = new URL(target.server);
  const secure = base.protocol === 'https:';
  const prefix = base.pathname.replace(/\/+$/, '');
  const hostname = base.hostname.replace(/^\[|\]$/g, '');
  const port = base.port || (secure ? 443 : 80);
  // Free connections close after 30 s, before the API server's own idle timeout can race a
  // reuse. TLS settings go with each request: the agent keeps a pool per certificate, so a
  // client certificate an exec plugin renews gets new connections.
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, timeout: 30_000 })
    : new HttpAgent({ keepAlive: true, timeout: 30_000 });
  const send = secure ? httpsRequest : httpRequest;

  async function open(req: KubeRequest): Promise<IncomingMessage> {
    const creds = await credentials.get();
    const path = pathWith(prefix + req.path, req.query);
    const what = `${req.method} ${req.path}`;
    const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const options: RequestOptions = {
      method: req.method,
      hostname,
      port,
      path,
      agent,
      headers: {
        accept: 'application/json',
        'user-agent': 'scalewise',
        ...(creds.authorization ? { authorization: creds.authorization } : {}),
        ...(body
          ? { 'content-type': req.contentType ?? 'application/json', 'content-length': body.length }
          : {}),
      },
      ...(req.signal ? { signal: req.signal } : {}),
    };
    if (secure) {
      const cert = creds.cert ?? target.cert;
      const key = creds.key ?? target.key;
      Object.assign(options, {
        rejectUnauthorized: !target.insecure,
        ...(target.ca ? { ca: target.ca } : {}),
        ...(cert && key ? { cert, key } : {}),
        ...(target.serverName ? { servername: target.serverName } : {}),
      });
    }
    const idleMs = req.idleMs ?? DEFAULT_IDLE_MS;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const r = send(options, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(res);
          return;
        }
        if (status === 401) credentials.invalidate();
        readAll(res).then(
          (text) => reject(new ApiStatusError(status, parseOr(text), what)),
          (err: unknown) => reject(err),
        );
      });
      r.setTimeout(idleMs, () => r.destroy(timedOut(`${what}: no byte from the API server in ${idleMs} ms`)));
      r.on('error', reject);
      r.end(body);
    });
  }

  async function request<T>(req: KubeRequest): Promise<T> {
    const what = `${req.method} ${req.path}`;
    if (req.timeoutMs === undefined) return parseBody<T>(await readAll(await open(req)), what);
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(timedOut(`${what}: no answer from the API server within ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    const signal = req.signal ? AbortSignal.any([req.signal, deadline.signal]) : deadline.signal;
    try {
      return parseBody<T>(await readAll(await open({ ...req, signal })), what);
    } catch (err) {
      // The deadline's error, not the abort it caused: it carries ETIMEDOUT.
      if (deadline.signal.aborted) throw deadline.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    open,
    request,
    close: () => agent.destroy(),
  };
}

function parseBody<T>(text: string, what: string): T {
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new SyntaxError(
      `${what}: the API server's answer is not JSON (${(err as Error).message}): ${text.slice(0, 200)}`,
    );
  }
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Opens a GET on the API server and resolves with the response once its status is 2xx.
 * `idleMs`: the connection is destroyed (an ETIMEDOUT error) after that long without a byte.
 * @throws as {@link Transport.open}.
 */
export function apiGet(
  kube: Pick<Transport, 'open'>,
  path: string,
  query: Query,
  options: { signal: AbortSignal; idleMs: number },
): Promise<IncomingMessage> {
  return kube.open({ method: 'GET', path, query, signal: options.signal, idleMs: options.idleMs });
}

/** GETs a JSON document (a list page) and parses it. */
export async function apiGetJson(
  kube: Pick<Transport, 'open'>,
  path: string,
  query: Query,
  options: { signal: AbortSignal; idleMs: number },
): Promise<unknown> {
  const res = await apiGet(kube, path, query, options);
  return JSON.parse(await readAll(res));
}

/**
 * Reads a stream of newline-delimited JSON (a watch) and calls `onLine` with each value, in
 * order, as the bytes arrive. Resolves when the server ends the stream.
 * @throws the socket's error, or a SyntaxError naming the line that is not JSON.
 */
export async function readJsonLines(res: IncomingMessage, onLine: (value: unknown) => void): Promise<void> {
  res.setEncoding('utf8');
  let rest = '';
  for await (const chunk of res) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (nl > start) onLine(parseLine(text, start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.trim()) onLine(parseLine(rest, 0, rest.length));
}

function parseLine(text: string, start: number, end: number): unknown {
  const line = text.slice(start, end);
  try {
    return JSON.parse(line);
  } catch (err) {
    throw new SyntaxError(`a watch line is not JSON (${(err as Error).message}): ${line.slice(0, 200)}`);
  }
}

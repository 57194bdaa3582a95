/**
 * Lists and watches over the API server's HTTPS, decoded straight from its JSON. The typed
 * client turns every object into a model (its serializer walks each field, dates become Date
 * objects) that a watch cache projects down and drops at once: at 150,000 pods that model was
 * most of a resync's time in this process. Here an object is one `JSON.parse` of one line
 * and goes to the projection as it is.
 *
 * The kubeconfig's TLS, client certificate, token (and its exec or file refresh) and proxy are
 * applied by client-node's `applyToHTTPSOptions`, per request, so a rotated token is read again.
 */
import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { Kube } from './client.ts';

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

const pathWith = (path: string, query: Query): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
};

/**
 * Opens a GET on the API server and resolves with the response once its status is 2xx.
 * `idleMs`: the connection is destroyed (an ETIMEDOUT error) after that long without a byte.
 * @throws ApiStatusError for any other status; the socket's error (ECONNREFUSED, ...) when it
 * cannot be reached; an AbortError when `signal` aborts.
 */
export async function apiGet(
  kube: Kube,
  path: string,
  query: Query,
  options: { signal: AbortSignal; idleMs: number },
): Promise<IncomingMessage> {
  const server = kube.kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no cluster server');
  const url = new URL(pathWith(path, query), server);
  const opts: RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
  await kube.kc.applyToHTTPSOptions(opts);
  const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { ...opts, signal: options.signal }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        resolve(res);
        return;
      }
      readAll(res).then(
        (text) => reject(new ApiStatusError(status, parseOr(text), `GET ${path}`)),
        (err: unknown) => reject(err),
      );
    });
    req.setTimeout(options.idleMs, () =>
      req.destroy(
        Object.assign(new Error(`no byte from the API server in ${options.idleMs} ms`), {
          code: 'ETIMEDOUT',
        }),
      ),
    );
    req.on('error', reject);
    req.end();
  });
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

/** GETs a JSON document (a list page) and parses it. */
export async function apiGetJson(
  kube: Kube,
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

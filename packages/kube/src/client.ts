/**
 * The Kubernetes API as the services use it: a kubeconfig (a file, or the in-cluster service
 * account: kubeconfig.ts), the calls they make (api.ts) over `node:https` (raw-api.ts), and API
 * errors turned into the error catalogue.
 */
import { ScalewiseError } from '@scalewise/errors';
import { apis, type CoordinationApi, type CoreApi, type CustomObjectsApi, type PolicyApi } from './api.ts';
import { type CredentialOptions, credentialSource } from './credentials.ts';
import { type LoadOptions, loadKubeTarget } from './kubeconfig.ts';
import { createTransport, type Transport } from './raw-api.ts';

/** A connection to one API server as one identity. */
export interface Kube extends Transport {
  /** The API server's URL. */
  readonly server: string;
  /** Where the configuration came from, for messages ("context 'x' of <file>", "the in-cluster service account"). */
  readonly source: string;
  readonly core: CoreApi;
  readonly policy: PolicyApi;
  readonly coordination: CoordinationApi;
  readonly custom: CustomObjectsApi;
}

/** The calls of {@link Kube} over a transport (a fake one in tests). */
export function kubeOver(transport: Transport, about: { server: string; source: string }): Kube {
  return { ...about, ...transport, ...apis(transport.request) };
}

/**
 * Connects to the API server of `kubeconfig` (its current context, or `context`), or, without
 * one, to the pod's own with its service account. Nothing is sent until the first call.
 * @throws ScalewiseError INVALID_CONFIG naming what is missing or not supported (kubeconfig.ts).
 */
export function connectKube(
  options: LoadOptions & Pick<CredentialOptions, 'now' | 'execTimeoutMs'> = {},
): Kube {
  // The one read of the process's environment: the in-cluster variables, and what an exec plugin inherits.
  const env = options.env ?? process.env;
  const target = loadKubeTarget({ ...options, env });
  const credentials = credentialSource(target, {
    env,
    ...(options.now ? { now: options.now } : {}),
    ...(options.execTimeoutMs !== undefined ? { execTimeoutMs: options.execTimeoutMs } : {}),
  });
  return kubeOver(createTransport(target, credentials), { server: target.server, source: target.source });
}

/** The HTTP status of an API error (`ApiStatusError`'s `code`), or undefined. */
export function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  // ApiStatusError (and client-node's ApiException) have `code`; some errors say `statusCode`.
  const c = typeof e?.code === 'number' ? e.code : e?.statusCode;
  return typeof c === 'number' ? c : undefined;
}

/** The API server's message, from the Status body when there is one. */
function messageOf(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const s = JSON.parse(body) as { message?: string };
      if (s.message) return s.message;
    } catch {}
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return (err as Error)?.message ?? String(err);
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * The TLS handshake failed: the server's certificate not trusted or not for this name, a
 * client certificate refused. Classed as no answer, as before (fetch reported these as "fetch
 * failed" too): a server's certificate rotated mid-way heals by itself, a wrong CA is in the message.
 */
const isTlsCode = (code: string): boolean =>
  code.startsWith('ERR_TLS_') ||
  code.startsWith('ERR_SSL_') ||
  code === 'EPROTO' ||
  code.endsWith('_CERT') ||
  code.includes('CERT_') ||
  code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE';

/**
 * Whether an error says the API server could not be reached or stopped answering (refused,
 * reset, timed out, aborted by a timeout), as opposed to an answer. The causes are followed:
 * an aborted request's AbortError carries the deadline's ETIMEDOUT as its cause (and undici,
 * which fetch uses, reports these as a TypeError "fetch failed" whose cause has the code).
 */
export function isNetworkError(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && (networkCodes.has(code) || isTlsCode(code))) return true;
    if (name === 'TimeoutError' || name === 'ConnectTimeoutError' || name === 'SocketError') return true;
    if (e instanceof TypeError && e.message === 'fetch failed') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * An error of the Kubernetes API in the error catalogue, naming what was being done:
 * - an answer with a status: KUBERNETES_API, retriable for 410 (relist), 429 and 5xx, not for
 *   other 4xx (forbidden, not found, invalid: the same request fails the same way);
 * - no answer (refused, reset, timed out, a failed TLS handshake): DEPENDENCY_UNAVAILABLE, retriable;
 * - anything else (a bug, a bad argument) is returned as it is, so it is never retried.
 * `details.status` holds the HTTP status (null without an answer).
 */
export function toKubeError(what: string, err: unknown): Error {
  if (err instanceof ScalewiseError) return err;
  const status = statusOf(err);
  if (status !== undefined) {
    const retriable = status === 410 || status === 429 || status >= 500;
    return new ScalewiseError('KUBERNETES_API', `${what}: ${status} ${messageOf(err)}`.trim(), {
      cause: err,
      retriable,
      details: { status },
    });
  }
  if (isNetworkError(err)) {
    const code = codeIn(err);
    const tls = code !== undefined && isTlsCode(code);
    const said = code ? messageWith(err, code) : String((err as Error).message ?? '');
    const detail = code && !said.includes(code) ? `${code}${said ? `: ${said}` : ''}` : said;
    return new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `${what}: ${tls ? 'the TLS handshake with the API server failed' : 'the API server did not answer'} (${detail})`,
      {
        cause: err,
        details: { status: null },
      },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The first string `code` along the causes (the socket's, under an AbortError or fetch's TypeError). */
function codeIn(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'ABORT_ERR') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The message of the error along the causes that carries `code`. */
function messageWith(err: unknown, code: string): string {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if ((e as { code?: unknown }).code === code) return (e as Error).message;
    e = (e as { cause?: unknown }).cause;
  }
  return '';
}

/**
 * Runs an API call; an error becomes {@link toKubeError}'s.
 * @throws ScalewiseError KUBERNETES_API or DEPENDENCY_UNAVAILABLE; a programming error as it is.
 */
export async function kubeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toKubeError(what, err);
  }
}

/** Whether an error (or the one it wraps) is an API answer with this HTTP status. */
export const isStatus = (err: unknown, status: number): boolean =>
  statusOf(err) === status ||
  (err instanceof ScalewiseError && err.details.status === status) ||
  statusOf((err as { cause?: unknown } | null)?.cause) === status;

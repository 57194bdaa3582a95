/**
 * The Kubernetes API as the services use it: a kubeconfig (a file, or the in-cluster service
 * account), typed clients, and API errors turned into the error catalogue.
 */
import { AppsV1Api, CoreV1Api, KubeConfig, PolicyV1Api } from '@kubernetes/client-node';
import { ScalewiseError } from '@scalewise/errors';

export interface Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
}

export function connectKube(
  options: { kubeconfig?: string | undefined; context?: string | undefined } = {},
): Kube {
  const kc = new KubeConfig();
  if (options.kubeconfig) {
    kc.loadFromFile(options.kubeconfig);
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    // Outside a pod there is no service account to fall back on: say so, instead of letting
    // every request fail later against https://undefined:undefined.
    throw new ScalewiseError(
      'INVALID_CONFIG',
      'kubernetes.kubeconfig (or KUBECONFIG) is not set, and this is not a pod (KUBERNETES_SERVICE_HOST is unset): no Kubernetes API to talk to',
      { details: { key: 'kubernetes.kubeconfig' } },
    );
  }
  if (options.context) kc.setCurrentContext(options.context);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
  };
}

/** The HTTP status of an API error (client-node's ApiException has `code`), or undefined. */
export function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  // ApiException has `code`; the Watch's errors have `statusCode`.
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
 * Whether an error says the API server could not be reached or stopped answering (refused,
 * reset, timed out, aborted by a timeout), as opposed to an answer. undici reports these as a
 * TypeError "fetch failed" whose cause carries the code, so the causes are followed.
 */
export function isNetworkError(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && networkCodes.has(code)) return true;
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
 * - no answer (refused, reset, timed out): DEPENDENCY_UNAVAILABLE, retriable;
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
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail = typeof cause?.code === 'string' ? cause.code : (err as Error).message;
    return new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `${what}: the API server did not answer (${detail})`,
      {
        cause: err,
        details: { status: null },
      },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
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

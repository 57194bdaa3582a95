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
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromCluster();
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
  const c = (err as { code?: unknown } | null)?.code;
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

/**
 * Runs an API call; an error becomes KUBERNETES_API naming what was being done, retriable for
 * 429, 5xx and network errors, not for other 4xx.
 */
export async function kubeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const status = statusOf(err);
    const retriable = status === undefined || status === 429 || status >= 500;
    throw new ScalewiseError('KUBERNETES_API', `${what}: ${status ?? 'no answer'} ${messageOf(err)}`.trim(), {
      cause: err,
      retriable,
      details: { status: status ?? null },
    });
  }
}

export const isStatus = (err: unknown, status: number): boolean =>
  statusOf(err) === status || statusOf((err as { cause?: unknown } | null)?.cause) === status;

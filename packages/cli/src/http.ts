/**
 * GET JSON from a Scalewise service's REST API (alert-manager, decision-engine), with a
 * bearer token and a deadline. The services answer errors as `{ error: { code, message } }`.
 */
import { type ErrorCode, errorCatalogue, ScalewiseError } from '@scalewise/errors';
import { causeOf } from './context.ts';

export interface GetJsonOptions {
  /** Which service, for messages: `alert-manager`. */
  service: string;
  token?: string | undefined;
  timeoutMs: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

const codeOfStatus = (status: number): ErrorCode =>
  status === 401
    ? 'UNAUTHORIZED'
    : status === 403
      ? 'FORBIDDEN'
      : status === 404
        ? 'NOT_FOUND'
        : status >= 500
          ? 'DEPENDENCY_UNAVAILABLE'
          : 'BAD_REQUEST';

/**
 * @throws ScalewiseError DEPENDENCY_UNAVAILABLE when the service cannot be reached, TIMEOUT
 *   past the deadline, and the service's own code (NOT_FOUND, BAD_REQUEST, UNAUTHORIZED, ...)
 *   with its message for an error answer.
 */
export async function getJson<T>(url: string, options: GetJsonOptions): Promise<T> {
  const doFetch = options.fetch ?? fetch;
  const origin = new URL(url).origin;
  let res: Response;
  try {
    res = await doFetch(url, {
      headers: {
        accept: 'application/json',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new ScalewiseError(
        'TIMEOUT',
        `${options.service} at ${origin} did not answer within ${options.timeoutMs / 1000} s`,
        { cause: err },
      );
    }
    throw new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `cannot reach ${options.service} at ${origin}: ${causeOf(err)}`,
      { cause: err },
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code =
      e?.code && Object.hasOwn(errorCatalogue, e.code) ? (e.code as ErrorCode) : codeOfStatus(res.status);
    let message = e?.message ?? `${res.status} ${res.statusText}`.trim();
    if (res.status === 401) message += ' (pass --token or set SCALEWISE_API_TOKEN)';
    throw new ScalewiseError(code, `${options.service}: ${message}`, { details: { status: res.status } });
  }
  if (body === undefined) {
    throw new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `${options.service} at ${origin} answered without JSON`,
    );
  }
  return body as T;
}

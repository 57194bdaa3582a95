/**
 * One call to a Scalewise service's REST API, for every client of it (the CLI in Node, the
 * console in the browser): the bearer token, JSON in and out, and the services' error answer
 * `{ error: { code, message } }` read into fields. How a failure reaches a person is the
 * client's: the CLI throws a ScalewiseError, the console shows a sentence. No import but
 * types: the console bundles this file (`@scalewise/events/api-client`) and nothing else of
 * the package.
 */

/** `fetch`, or a stand-in of the tests. */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** One request. */
export interface ApiRequest {
  /** Sent as `Authorization: Bearer <token>`; no header at all when absent or empty. */
  token?: string | undefined;
  /** @default 'GET' */
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** More headers, e.g. `accept`. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
}

/** What the service answered: the parsed body (undefined when empty or not JSON), or its error. */
export type ApiAnswer<T> =
  | { ok: true; status: number; body: T | undefined }
  | {
      ok: false;
      status: number;
      statusText: string;
      /** The service's error code (`NOT_FOUND`, `UNAUTHORIZED`, ...), when it sent one. */
      code?: string;
      /** The service's message, when it sent one. */
      message?: string;
    };

/**
 * Sends the request and reads the answer, success or error.
 * @throws what `fetch` throws: the service could not be reached, or `signal` aborted the call.
 */
export async function callApi<T>(url: string, request: ApiRequest = {}): Promise<ApiAnswer<T>> {
  const doFetch = request.fetch ?? fetch;
  const res = await doFetch(url, {
    ...(request.method ? { method: request.method } : {}),
    headers: {
      ...request.headers,
      ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
      ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const text = res.status === 204 ? '' : await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (res.ok) return { ok: true, status: res.status, body: body as T | undefined };
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return {
    ok: false,
    status: res.status,
    statusText: res.statusText,
    ...(typeof error?.code === 'string' ? { code: error.code } : {}),
    ...(typeof error?.message === 'string' ? { message: error.message } : {}),
  };
}

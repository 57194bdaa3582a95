/**
 * alert-manager's REST API as the console uses it, through the one client of the services' API
 * (@scalewise/events/api-client), with the bearer token on every call (no Authorization header
 * at all when the token is empty: a server that asks for none).
 * `fetch` is injected so the error mapping is tested without a server.
 */
import { type ApiAnswer, callApi, type FetchLike } from '@scalewise/events/api-client';
import type { AnyScalewiseEvent, ExplainResponse, OpenAlert, PoolLimits, Silence } from './types.ts';

/** A failed call: its HTTP status (0 when the server was not reached) and a sentence to show. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export type { FetchLike };

export interface Api {
  events(query: string): Promise<AnyScalewiseEvent[]>;
  explain(id: string): Promise<ExplainResponse>;
  alerts(): Promise<OpenAlert[]>;
  silences(): Promise<Silence[]>;
  addSilence(s: { pools?: string[]; types?: string[]; endsAt: string; comment: string }): Promise<Silence>;
  removeSilence(id: string): Promise<void>;
  pools(): Promise<PoolLimits[]>;
}

/** The message a person sees for a failed call. */
export function errorMessage(status: number, serverMessage: string): string {
  if (status === 401) return 'The token was refused (401): check the bearer token and sign in again.';
  if (status === 403) return `Not allowed (403): ${serverMessage}`;
  if (status === 0) return `alert-manager did not answer: ${serverMessage}`;
  return `${serverMessage} (${status})`;
}

export function createApi(base: string, token: string, fetchFn: FetchLike = fetch): Api {
  async function call<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    let answer: ApiAnswer<T>;
    try {
      answer = await callApi<T>(`${base}${path}`, { ...init, token, fetch: fetchFn });
    } catch (err) {
      throw new ApiError(0, 'UNREACHABLE', errorMessage(0, (err as Error).message));
    }
    if (!answer.ok) {
      throw new ApiError(
        answer.status,
        answer.code ?? 'HTTP',
        errorMessage(answer.status, answer.message ?? answer.statusText),
      );
    }
    return answer.body as T;
  }
  const enc = encodeURIComponent;
  return {
    events: async (query) => (await call<{ events: AnyScalewiseEvent[] }>(`/v1/events?${query}`)).events,
    explain: (id) => call<ExplainResponse>(`/v1/explain/${enc(id)}`),
    alerts: async () => (await call<{ alerts: OpenAlert[] }>('/v1/alerts')).alerts,
    silences: async () => (await call<{ silences: Silence[] }>('/v1/silences')).silences,
    addSilence: (s) => call<Silence>('/v1/silences', { method: 'POST', body: s }),
    removeSilence: (id) => call<void>(`/v1/silences/${enc(id)}`, { method: 'DELETE' }),
    pools: async () => (await call<{ pools: PoolLimits[] }>('/console/api/pools')).pools,
  };
}

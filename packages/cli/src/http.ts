/**
 * GET JSON from a Scalewise service's REST API (alert-manager, decision-engine), with a
 * bearer token and a deadline, through the one client the console uses too
 * (@scalewise/events/api-client); its failures as ScalewiseErrors a person can act on.
 * Every route but the probes needs the token (docs/security.md): it comes from --token,
 * --token-file, SCALEWISE_API_TOKEN or SCALEWISE_API_TOKEN_FILE, the first given.
 */
import { readFileSync } from 'node:fs';
import { type ErrorCode, errorCatalogue, ScalewiseError } from '@scalewise/errors';
import { type ApiAnswer, callApi } from '@scalewise/events/api-client';
import { intFlag, urlFlag } from './args.ts';
import { type Context, causeOf } from './context.ts';
import { UsageError } from './errors.ts';

/** A service whose REST API a command calls: its URL flag (its name), variable and default. */
export interface ServiceApi {
  service: 'alert-manager' | 'decision-engine';
  /** The environment variable of its URL: `SCALEWISE_ALERT_MANAGER_URL`. */
  urlEnv: string;
  defaultUrl: string;
}

export const alertManagerApi: ServiceApi = {
  service: 'alert-manager',
  urlEnv: 'SCALEWISE_ALERT_MANAGER_URL',
  defaultUrl: 'http://127.0.0.1:8086',
};

export const decisionEngineApi: ServiceApi = {
  service: 'decision-engine',
  urlEnv: 'SCALEWISE_DECISION_ENGINE_URL',
  defaultUrl: 'http://127.0.0.1:8082',
};

/** What the flags of a command that calls a REST API say: where, with which token, how long. */
export interface HttpOptions extends TokenSource {
  baseUrl: string;
  timeoutMs?: number;
}

/**
 * The help lines of those flags (the service's URL, the token, the timeout, help), the text
 * of each starting `width` characters after the flag's indent.
 */
export function httpUsage(api: ServiceApi, width: number): string {
  const line = (flag: string, text: string) => `  ${flag.padEnd(width)}${text}`;
  return [
    line(`--${api.service} URL`, `default $${api.urlEnv} or ${api.defaultUrl}`),
    line('--token T', 'bearer token (default $SCALEWISE_API_TOKEN)'),
    line('--token-file F', 'a file holding it (default $SCALEWISE_API_TOKEN_FILE)'),
    line('--timeout MS', 'per request (default 8000)'),
    line('-h, --help', 'this help'),
  ].join('\n');
}

/**
 * The {@link HttpOptions} of `command`'s parsed flags: the URL from its flag, else the
 * environment, else the default; the token's source ({@link tokenSourceOf}); the timeout.
 * @throws UsageError
 */
export function httpOptionsOf(
  command: string,
  api: ServiceApi,
  v: { [F in ServiceApi['service'] | 'token' | 'token-file' | 'timeout']?: string | undefined },
  env: Record<string, string | undefined>,
): HttpOptions {
  const token = tokenSourceOf(command, v, env);
  const timeout = v.timeout !== undefined ? intFlag(command, 'timeout', v.timeout, 1) : undefined;
  return {
    baseUrl: urlFlag(command, api.service, v[api.service] ?? env[api.urlEnv] ?? api.defaultUrl),
    ...token,
    ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
  };
}

/** The {@link getJson} options of a command's calls: its token, read now; its timeout or the context's. */
export function callOptions(o: HttpOptions, api: ServiceApi, ctx: Context): GetJsonOptions {
  return { service: api.service, token: bearerToken(o), timeoutMs: o.timeoutMs ?? ctx.connectTimeoutMs };
}

/** Where a command's bearer token comes from: the token itself, or a file holding it. */
export interface TokenSource {
  token?: string;
  tokenFile?: string;
}

/**
 * The token's source, the first given of --token, --token-file, SCALEWISE_API_TOKEN,
 * SCALEWISE_API_TOKEN_FILE. Pure.
 * @throws UsageError when both flags are given.
 */
export function tokenSourceOf(
  command: string,
  v: { token?: string | undefined; 'token-file'?: string | undefined },
  env: Record<string, string | undefined>,
): TokenSource {
  if (v.token !== undefined && v['token-file'] !== undefined) {
    throw new UsageError('give --token or --token-file, not both', command);
  }
  if (v.token !== undefined) return { token: v.token };
  if (v['token-file'] !== undefined) return { tokenFile: v['token-file'] };
  if (env.SCALEWISE_API_TOKEN) return { token: env.SCALEWISE_API_TOKEN };
  if (env.SCALEWISE_API_TOKEN_FILE) return { tokenFile: env.SCALEWISE_API_TOKEN_FILE };
  return {};
}

/**
 * The token to send: as given, or read from its file (trimmed); undefined when none is given.
 * @throws ScalewiseError INVALID_CONFIG naming a file that cannot be read or is empty.
 */
export function bearerToken(
  source: TokenSource,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): string | undefined {
  if (source.token !== undefined) return source.token;
  if (source.tokenFile === undefined) return undefined;
  let text: string;
  try {
    text = readFile(source.tokenFile).trim();
  } catch (err) {
    throw new ScalewiseError(
      'INVALID_CONFIG',
      `cannot read the token file ${source.tokenFile}: ${(err as Error).message}`,
    );
  }
  if (!text) throw new ScalewiseError('INVALID_CONFIG', `the token file ${source.tokenFile} is empty`);
  return text;
}

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
  const origin = new URL(url).origin;
  let answer: ApiAnswer<T>;
  try {
    answer = await callApi<T>(url, {
      headers: { accept: 'application/json' },
      token: options.token,
      signal: AbortSignal.timeout(options.timeoutMs),
      ...(options.fetch ? { fetch: options.fetch } : {}),
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
  if (!answer.ok) {
    const code =
      answer.code && Object.hasOwn(errorCatalogue, answer.code)
        ? (answer.code as ErrorCode)
        : codeOfStatus(answer.status);
    let message = answer.message ?? `${answer.status} ${answer.statusText}`.trim();
    if (answer.status === 401) message += ' (pass --token or --token-file, or set SCALEWISE_API_TOKEN)';
    throw new ScalewiseError(code, `${options.service}: ${message}`, { details: { status: answer.status } });
  }
  if (answer.body === undefined) {
    throw new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `${options.service} at ${origin} answered without JSON`,
    );
  }
  return answer.body;
}

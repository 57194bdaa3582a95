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
import { causeOf } from './context.ts';
import { UsageError } from './errors.ts';

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

/**
 * The HTTP API's bearer tokens, read from where the configuration says (docs/security.md):
 * `http.tokens[]` (a file or an environment variable each) and the `http.api_token` shorthand
 * (one write token named `api`, inline, from SCALEWISE_API_TOKEN, or from a file). Values are
 * never put in a message; names are.
 */
import { ScalewiseError } from '@scalewise/errors';
import type { ConfigProblem } from './load.ts';
import { API_TOKEN_NAME, type Config } from './schema.ts';

export type TokenScope = 'read' | 'write';

/** A token the HTTP API accepts. */
export interface HttpToken {
  name: string;
  scope: TokenScope;
  value: string;
  /** Where it was read from; a service re-reads it when it changes (rotation). */
  file?: string;
  /** Its configuration key, for messages: `http.tokens[1]`, `http.api_token`. */
  key: string;
}

/** Shorter tokens are refused: 16 printable characters is the least worth guessing against. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * What is wrong with a token's value, or undefined when nothing is. A bearer token is sent in
 * an `Authorization` header, so it is printable ASCII without spaces. Never names the value.
 */
export function tokenValueProblem(name: string, value: string): string | undefined {
  if (value.length < MIN_TOKEN_LENGTH) {
    return `token '${name}' is ${value.length} characters long: at least ${MIN_TOKEN_LENGTH}`;
  }
  if (!/^[\x21-\x7e]+$/.test(value)) {
    return `token '${name}' has a space or a character that is not printable ASCII`;
  }
  return undefined;
}

export interface ResolveTokensOptions {
  /** token_env's variables. */
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
  /** Where a key's value came from, for messages. @default 'in the file' */
  sourceOf?: (key: string) => string;
}

/**
 * Reads every configured token: files and environment variables, trimmed, each checked for
 * length and characters, no two alike.
 * @throws ScalewiseError INVALID_CONFIG listing every problem, each naming its key and the token.
 */
export function resolveHttpTokens(config: Pick<Config, 'http'>, options: ResolveTokensOptions): HttpToken[] {
  const sourceOf = options.sourceOf ?? (() => 'in the file');
  const problems: ConfigProblem[] = [];
  const add = (key: string, message: string) => problems.push({ key, message, source: sourceOf(key) });
  const tokens: HttpToken[] = [];
  const take = (t: Omit<HttpToken, 'value'>, value: string | undefined, at: string) => {
    if (value === undefined) return;
    const problem = tokenValueProblem(t.name, value);
    if (problem) add(at, problem);
    else tokens.push({ ...t, value });
  };
  const readTokenFile = (name: string, file: string, at: string): string | undefined => {
    try {
      return options.readFile(file).trim();
    } catch (err) {
      add(at, `token '${name}': cannot read ${file}: ${(err as Error).message}`);
      return undefined;
    }
  };

  const http = config.http;
  if (http.api_token !== undefined) {
    take(
      { name: API_TOKEN_NAME, scope: 'write', key: 'http.api_token' },
      http.api_token.trim(),
      'http.api_token',
    );
  } else if (http.api_token_file !== undefined) {
    const at = 'http.api_token_file';
    take(
      { name: API_TOKEN_NAME, scope: 'write', key: at, file: http.api_token_file },
      readTokenFile(API_TOKEN_NAME, http.api_token_file, at),
      at,
    );
  }
  http.tokens.forEach((t, i) => {
    const key = `http.tokens[${i}]`;
    if (t.token_file !== undefined) {
      const at = `${key}.token_file`;
      take(
        { name: t.name, scope: t.scope, key, file: t.token_file },
        readTokenFile(t.name, t.token_file, at),
        at,
      );
    } else if (t.token_env !== undefined) {
      const at = `${key}.token_env`;
      const value = options.env[t.token_env]?.trim();
      if (!value) add(at, `token '${t.name}': the environment variable ${t.token_env} is not set`);
      take({ name: t.name, scope: t.scope, key }, value || undefined, at);
    }
  });
  for (let i = 0; i < tokens.length; i += 1) {
    for (let j = i + 1; j < tokens.length; j += 1) {
      const a = tokens[i] as HttpToken;
      const b = tokens[j] as HttpToken;
      if (a.value === b.value) {
        add(b.key, `tokens '${a.name}' and '${b.name}' have the same value: give each its own`);
      }
    }
  }
  if (problems.length > 0) {
    const lines = problems.map((p) => `  - ${p.key}: ${p.message} (${p.source})`);
    throw new ScalewiseError(
      'INVALID_CONFIG',
      `invalid configuration: ${problems.length} problem${problems.length === 1 ? '' : 's'} with the HTTP tokens\n${lines.join('\n')}`,
      { details: { problems } },
    );
  }
  return tokens;
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, redact } from './index.ts';
import { invalidConfig, readFrom } from './test-support.ts';

const minimal = 'autoscaler:\n  pools:\n    - name: workers\n';
const ops = 'ops-token-0123456789abcdef';
const grafana = 'grafana-token-0123456789';

const load = (http: string, env: Record<string, string> = {}, files: Record<string, string> = {}) =>
  loadConfig({
    text: `${minimal}${http}`,
    env,
    readFile: readFrom(files),
  });

function problems(http: string, env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const { problems: list, message } = invalidConfig(() => load(http, env, files));
  return { list, message };
}

describe('http tokens', () => {
  test('no token: none resolved, /metrics open by default', () => {
    const loaded = load('');
    assert.deepEqual(loaded.httpTokens, []);
    assert.equal(loaded.config.http.metrics_auth, 'open');
    assert.deepEqual(loaded.config.http.tokens, []);
  });

  test('named tokens from a file (trimmed) and from an environment variable, each with its scope', () => {
    const loaded = load(
      `http:
  tokens:
    - { name: ops, scope: write, token_file: /run/secrets/ops }
    - { name: grafana, scope: read, token_env: GRAFANA_TOKEN }
  metrics_auth: token
`,
      { GRAFANA_TOKEN: grafana },
      { '/run/secrets/ops': `${ops}\n` },
    );
    assert.deepEqual(loaded.httpTokens, [
      { name: 'ops', scope: 'write', key: 'http.tokens[0]', file: '/run/secrets/ops', value: ops },
      { name: 'grafana', scope: 'read', key: 'http.tokens[1]', value: grafana },
    ]);
    assert.equal(loaded.config.http.metrics_auth, 'token');
  });

  test('http.api_token and SCALEWISE_API_TOKEN are one write token named api; SCALEWISE_API_TOKEN_FILE its file', () => {
    assert.deepEqual(load(`http: { api_token: ${ops} }\n`).httpTokens, [
      { name: 'api', scope: 'write', key: 'http.api_token', value: ops },
    ]);
    assert.deepEqual(load('', { SCALEWISE_API_TOKEN: ops }).httpTokens?.[0]?.name, 'api');
    const fromFile = load('', { SCALEWISE_API_TOKEN_FILE: '/run/secrets/api' }, { '/run/secrets/api': ops });
    assert.equal(fromFile.config.http.api_token_file, '/run/secrets/api');
    assert.deepEqual(fromFile.httpTokens, [
      { name: 'api', scope: 'write', key: 'http.api_token_file', file: '/run/secrets/api', value: ops },
    ]);
  });

  test("a token shorter than 16 characters is refused, naming its key and the token's name, never its value", () => {
    const { list, message } = problems(
      'http:\n  tokens:\n    - { name: ci, scope: read, token_env: CI_TOKEN }\n',
      { CI_TOKEN: 'short-secret' },
    );
    assert.deepEqual(
      list.map((p) => [p.key, p.message]),
      [['http.tokens[0].token_env', "token 'ci' is 12 characters long: at least 16"]],
    );
    assert.ok(!message.includes('short-secret'));
    const short = problems('', { SCALEWISE_API_TOKEN: 'short-secret' });
    assert.equal(short.list[0]?.key, 'http.api_token');
    assert.match(short.list[0]?.message ?? '', /at least 16 characters \(the write token named 'api'\)/);
    assert.equal(short.list[0]?.source, 'from SCALEWISE_API_TOKEN');
    assert.ok(!short.message.includes('short-secret'));
  });

  test('a token with a space inside is refused; a missing file or variable is named with the token', () => {
    const { list } = problems(
      `http:
  tokens:
    - { name: spaced, scope: read, token_env: SPACED }
    - { name: gone, scope: write, token_file: /run/secrets/gone }
    - { name: unset, scope: read, token_env: NOT_SET }
`,
      { SPACED: 'abc def ghi jkl mno' },
    );
    assert.deepEqual(
      list.map((p) => p.key),
      ['http.tokens[0].token_env', 'http.tokens[1].token_file', 'http.tokens[2].token_env'],
    );
    assert.match(list[0]?.message ?? '', /token 'spaced' has a space/);
    assert.match(list[1]?.message ?? '', /token 'gone': cannot read \/run\/secrets\/gone: ENOENT/);
    assert.match(list[2]?.message ?? '', /token 'unset': the environment variable NOT_SET is not set/);
  });

  test('exactly one source per token, unique names, api reserved for the shorthand, no two alike', () => {
    const shape = problems(
      `http:
  tokens:
    - { name: both, scope: read, token_env: A, token_file: /a }
    - { name: neither, scope: read }
    - { name: Bad Name, scope: admin, token_env: E }
`,
    );
    const byKey = Object.fromEntries(shape.list.map((p) => [p.key, p.message]));
    assert.match(
      byKey['http.tokens[0]'] ?? '',
      /token 'both': give exactly one of token_file and token_env \(both are set\)/,
    );
    assert.match(byKey['http.tokens[1]'] ?? '', /neither is set/);
    assert.match(byKey['http.tokens[2].name'] ?? '', /lower-case letters/);
    assert.match(byKey['http.tokens[2].scope'] ?? '', /"read", "write"/);

    // Checks across tokens run once every token has its shape.
    const names = problems(
      `http:
  api_token: ${ops}
  tokens:
    - { name: twice, scope: read, token_env: B }
    - { name: twice, scope: write, token_env: C }
    - { name: api, scope: read, token_env: D }
`,
    );
    assert.deepEqual(
      names.list.map((p) => [p.key, p.message]),
      [
        ['http.tokens[1].name', "'twice' is also the name of http.tokens[0]"],
        ['http.tokens[2].name', "'api' is the name of the http.api_token shorthand, which is set too"],
      ],
    );

    const same = problems(
      'http:\n  tokens:\n    - { name: a, scope: read, token_env: A }\n    - { name: b, scope: write, token_env: B }\n',
      { A: ops, B: ops },
    );
    assert.deepEqual(
      same.list.map((p) => [p.key, p.message]),
      [['http.tokens[1]', "tokens 'a' and 'b' have the same value: give each its own"]],
    );
    const both = problems(`http: { api_token: ${ops}, api_token_file: /x }\n`);
    assert.equal(both.list[0]?.key, 'http.api_token_file');
  });

  test('metrics_auth token without any token is refused: it would be open after all', () => {
    const { list } = problems('http: { metrics_auth: token }\n');
    assert.deepEqual(
      list.map((p) => [p.key, p.message]),
      [
        [
          'http.metrics_auth',
          "'token' needs a token: set http.tokens or http.api_token (SCALEWISE_API_TOKEN)",
        ],
      ],
    );
  });

  test('a client (the CLI) loads the same file without reading the tokens', () => {
    const loaded = loadConfig({
      text: `${minimal}http:\n  tokens:\n    - { name: ops, scope: write, token_env: OPS_TOKEN }\n`,
      env: {},
      httpTokens: false,
    });
    assert.equal(loaded.httpTokens, undefined);
  });

  test('the redacted config shows token names and where they come from, never a value', () => {
    const { config } = load('http:\n  tokens:\n    - { name: ops, scope: write, token_env: OPS }\n', {
      OPS: ops,
      SCALEWISE_API_TOKEN: grafana,
    });
    const shown = JSON.stringify(redact(config));
    assert.ok(!shown.includes(ops) && !shown.includes(grafana), shown);
    assert.match(shown, /"token_env":"OPS"/);
  });
});

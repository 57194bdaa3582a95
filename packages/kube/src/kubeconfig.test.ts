import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { stringify } from 'yaml';
import { type KubeTarget, loadKubeTarget } from './kubeconfig.ts';

const root = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN EC PRIVATE KEY-----\nkey\n-----END EC PRIVATE KEY-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig of one context `c` (cluster `k`, user `u`) in a fresh directory, with files beside it. */
function kubeconfig(
  cluster: Record<string, unknown>,
  user: Record<string, unknown> | undefined,
  files: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): string {
  const dir = join(root, String(++n));
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const path = join(dir, 'config');
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'k', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
      users: user ? [{ name: 'u', user }] : [],
      contexts: [{ name: 'c', context: { cluster: 'k', ...(user ? { user: 'u' } : {}) } }],
      'current-context': 'c',
      ...extra,
    }),
  );
  return path;
}

const load = (path: string, context?: string): KubeTarget =>
  loadKubeTarget({ kubeconfig: path, ...(context ? { context } : {}), env: {} });

/** Asserts an INVALID_CONFIG whose message matches and whose details name `field`. */
function refused(fn: () => unknown, message: RegExp, field?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ScalewiseError, String(e));
    assert.equal(e.code, 'INVALID_CONFIG');
    assert.equal(e.retriable, false);
    assert.match(e.message, message);
    if (field !== undefined) assert.equal(e.details.field, field);
    return true;
  });
}

describe('kubeconfig: clusters', () => {
  test('server, certificate-authority-data, client certificate and key data of the current context', () => {
    const t = load(
      kubeconfig(
        { 'certificate-authority-data': b64(CA) },
        { 'client-certificate-data': b64(CERT), 'client-key-data': b64(KEY) },
      ),
    );
    assert.equal(t.server, 'https://127.0.0.1:6443');
    assert.equal(t.ca, CA);
    assert.equal(t.cert, CERT);
    assert.equal(t.key, KEY);
    assert.equal(t.insecure, false);
    assert.deepEqual(t.auth, { kind: 'none' });
    assert.match(t.source, /^context 'c' of .*config$/);
  });

  test('certificate-authority, client-certificate and client-key as files, relative to the kubeconfig', () => {
    const t = load(
      kubeconfig(
        { 'certificate-authority': 'ca.crt' },
        { 'client-certificate': 'me.crt', 'client-key': 'me.key' },
        { 'ca.crt': CA, 'me.crt': CERT, 'me.key': KEY },
      ),
    );
    assert.equal(t.ca, CA);
    assert.equal(t.cert, CERT);
    assert.equal(t.key, KEY);
  });

  test('a certificate file that cannot be read is named', () => {
    refused(
      () => load(kubeconfig({ 'certificate-authority': 'missing.crt' }, undefined)),
      /clusters\[k\]\.cluster\.certificate-authority names .*missing\.crt, which cannot be read \(ENOENT\)/,
      'clusters[k].cluster.certificate-authority',
    );
  });

  test('insecure-skip-tls-verify; with a certificate authority as well it is refused', () => {
    assert.equal(load(kubeconfig({ 'insecure-skip-tls-verify': true }, undefined)).insecure, true);
    refused(
      () =>
        load(
          kubeconfig({ 'insecure-skip-tls-verify': true, 'certificate-authority-data': b64(CA) }, undefined),
        ),
      /sets both insecure-skip-tls-verify and a certificate authority/,
      'clusters[k].cluster.insecure-skip-tls-verify',
    );
  });

  test('tls-server-name; disable-compression and extensions change nothing; a path prefix in server is kept', () => {
    const t = load(
      kubeconfig(
        {
          server: 'https://10.0.0.1:443/k8s/clusters/c-1/',
          'tls-server-name': 'kubernetes.default',
          'disable-compression': true,
          extensions: [{ name: 'x', extension: {} }],
        },
        undefined,
      ),
    );
    assert.equal(t.serverName, 'kubernetes.default');
    assert.equal(t.server, 'https://10.0.0.1:443/k8s/clusters/c-1');
  });

  test('a server that is not set, not a URL, or not http(s) is refused', () => {
    refused(
      () => load(kubeconfig({ server: '' }, undefined)),
      /server is not set/,
      'clusters[k].cluster.server',
    );
    refused(() => load(kubeconfig({ server: 'nope' }, undefined)), /'nope' is not a URL/);
    refused(
      () => load(kubeconfig({ server: 'ftp://x' }, undefined)),
      /is not an https:\/\/ \(or http:\/\/\) URL/,
    );
  });

  test('proxy-url is refused, naming the field', () => {
    refused(
      () => load(kubeconfig({ 'proxy-url': 'http://proxy:3128' }, undefined)),
      /clusters\[k\]\.cluster\.proxy-url is not supported: proxies are not supported/,
      'clusters[k].cluster.proxy-url',
    );
  });

  test('a cluster field it does not know is refused rather than ignored', () => {
    refused(
      () => load(kubeconfig({ 'certificate-authority-date': b64(CA) }, undefined)),
      /clusters\[k\]\.cluster\.certificate-authority-date is not supported/,
      'clusters[k].cluster.certificate-authority-date',
    );
  });
});

describe('kubeconfig: users', () => {
  test('token', () => {
    assert.deepEqual(load(kubeconfig({}, { token: 'abc' })).auth, { kind: 'token', token: 'abc' });
  });

  test('tokenFile, relative to the kubeconfig, read at load (a wrong path fails at once)', () => {
    const path = kubeconfig({}, { tokenFile: 'token' }, { token: 'abc\n' });
    const t = load(path);
    assert.equal(t.auth.kind, 'tokenFile');
    assert.equal(t.auth.kind === 'tokenFile' && t.auth.path, join(path, '..', 'token'));
    refused(
      () => load(kubeconfig({}, { tokenFile: 'nothing-here' })),
      /users\[u\]\.user\.tokenFile names .*nothing-here, which cannot be read/,
      'users[u].user.tokenFile',
    );
  });

  test('username and password (basic auth); one without the other is refused', () => {
    assert.deepEqual(load(kubeconfig({}, { username: 'me', password: 'pw' })).auth, {
      kind: 'basic',
      username: 'me',
      password: 'pw',
    });
    refused(() => load(kubeconfig({}, { username: 'me' })), /has a username without a password/);
  });

  test('a client certificate without its key is refused', () => {
    refused(
      () => load(kubeconfig({}, { 'client-certificate-data': b64(CERT) })),
      /has a client certificate without its key/,
      'users[u].user.client-key',
    );
  });

  test('two ways to authenticate at once are refused', () => {
    refused(
      () => load(kubeconfig({}, { token: 'a', username: 'me', password: 'pw' })),
      /sets token and username\/password: one way to authenticate/,
    );
  });

  test('empty strings are unset, as kubectl reads them', () => {
    assert.deepEqual(load(kubeconfig({}, { token: '' })).auth, { kind: 'none' });
  });

  test('auth-provider (oidc, gcp, azure) is refused, pointing at exec plugins', () => {
    for (const name of ['oidc', 'gcp', 'azure']) {
      refused(
        () => load(kubeconfig({}, { 'auth-provider': { name, config: {} } })),
        /users\[u\]\.user\.auth-provider is not supported: auth-provider plugins .* use an exec credential plugin/,
        'users[u].user.auth-provider',
      );
    }
  });

  test('impersonation is refused', () => {
    refused(
      () => load(kubeconfig({}, { token: 'a', as: 'someone' })),
      /users\[u\]\.user\.as is not supported: impersonation/,
      'users[u].user.as',
    );
    refused(() => load(kubeconfig({}, { token: 'a', 'as-groups': ['g'] })), /as-groups is not supported/);
  });

  test('a user field it does not know is refused rather than ignored', () => {
    refused(
      () => load(kubeconfig({}, { tokenfile: '/x' })),
      /users\[u\]\.user\.tokenfile is not supported/,
      'users[u].user.tokenfile',
    );
  });
});

describe('kubeconfig: exec credential plugins', () => {
  const exec = (e: Record<string, unknown>) => load(kubeconfig({}, { exec: e }));

  test('v1 with args, env, installHint and provideClusterInfo', () => {
    const t = exec({
      apiVersion: 'client.authentication.k8s.io/v1',
      command: 'kubelogin',
      args: ['get-token', '--server-id', 'x'],
      env: [{ name: 'A', value: '1' }],
      installHint: 'install kubelogin',
      provideClusterInfo: true,
      interactiveMode: 'Never',
    });
    assert.deepEqual(t.auth, {
      kind: 'exec',
      exec: {
        command: 'kubelogin',
        args: ['get-token', '--server-id', 'x'],
        env: { A: '1' },
        apiVersion: 'client.authentication.k8s.io/v1',
        provideClusterInfo: true,
        installHint: 'install kubelogin',
        field: 'users[u].user.exec',
      },
    });
  });

  test('v1beta1; a command path with a slash is relative to the kubeconfig, a bare name is looked up in PATH', () => {
    const t = exec({ apiVersion: 'client.authentication.k8s.io/v1beta1', command: './bin/token' });
    assert.ok(t.auth.kind === 'exec');
    assert.equal(t.auth.exec.apiVersion, 'client.authentication.k8s.io/v1beta1');
    assert.match(t.auth.exec.command, /\/\d+\/bin\/token$/);
    assert.deepEqual(t.auth.exec.args, []);
    assert.equal(t.auth.exec.provideClusterInfo, false);
  });

  test('v1alpha1, no apiVersion, no command, interactiveMode Always, an unknown field: refused', () => {
    refused(
      () => exec({ apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' }),
      /exec\.apiVersion is 'client\.authentication\.k8s\.io\/v1alpha1': supported are/,
      'users[u].user.exec.apiVersion',
    );
    refused(() => exec({ command: 'x' }), /exec\.apiVersion is not set/);
    refused(
      () => exec({ apiVersion: 'client.authentication.k8s.io/v1' }),
      /exec\.command is not set/,
      'users[u].user.exec.command',
    );
    refused(
      () => exec({ apiVersion: 'client.authentication.k8s.io/v1', command: 'x', interactiveMode: 'Always' }),
      /interactiveMode is Always: a service has no terminal/,
      'users[u].user.exec.interactiveMode',
    );
    refused(
      () => exec({ apiVersion: 'client.authentication.k8s.io/v1', command: 'x', stdin: true }),
      /users\[u\]\.user\.exec\.stdin is not supported/,
    );
  });

  test('exec together with a token is refused', () => {
    refused(
      () =>
        load(
          kubeconfig(
            {},
            { token: 'a', exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x' } },
          ),
        ),
      /sets token and exec/,
    );
  });
});

describe('kubeconfig: contexts and files', () => {
  const two = () =>
    kubeconfig(
      {},
      { token: 'a' },
      {},
      {
        clusters: [
          { name: 'k', cluster: { server: 'https://127.0.0.1:6443' } },
          { name: 'other', cluster: { server: 'https://10.1.1.1:6443' } },
        ],
        contexts: [
          { name: 'c', context: { cluster: 'k', user: 'u' } },
          { name: 'd', context: { cluster: 'other', user: 'u' } },
        ],
      },
    );

  test('an explicit context wins over current-context', () => {
    assert.equal(load(two()).server, 'https://127.0.0.1:6443');
    assert.equal(load(two(), 'd').server, 'https://10.1.1.1:6443');
  });

  test('an unknown context is refused, listing those there are', () => {
    refused(() => load(two(), 'e'), /has no context 'e' \(it has 'c', 'd'\)/, 'kubernetes.context');
  });

  test('no current-context and no context given', () => {
    refused(
      () => load(kubeconfig({}, undefined, {}, { 'current-context': '' })),
      /has no current-context, and kubernetes\.context is not set/,
    );
  });

  test('a context naming a cluster or user that is not there', () => {
    const cases: Array<[{ cluster: string; user: string }, RegExp]> = [
      [{ cluster: 'x', user: 'u' }, /names cluster 'x', which is not in clusters/],
      [{ cluster: 'k', user: 'y' }, /names user 'y', which is not in users/],
    ];
    for (const [context, message] of cases) {
      refused(
        () => load(kubeconfig({}, { token: 'a' }, {}, { contexts: [{ name: 'c', context }] })),
        message,
      );
    }
  });

  test('a file that is missing, not YAML, or a KUBECONFIG list', () => {
    refused(() => load(join(root, 'none')), /kubernetes\.kubeconfig: cannot read .*none \(ENOENT\)/);
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, 'clusters: [\n');
    refused(() => load(bad), /is not YAML/);
    const good = kubeconfig({}, undefined);
    refused(() => load(`${good}:${join(root, 'none')}`), /is a list of files .*: name one kubeconfig file/);
  });
});

describe('in-cluster', () => {
  const serviceAccount = (files: Record<string, string>) => {
    const dir = join(root, `sa-${++n}`);
    mkdirSync(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  test('KUBERNETES_SERVICE_HOST / _PORT, the token file and ca.crt of the service account', () => {
    const dir = serviceAccount({ token: 'sa-token', 'ca.crt': CA, namespace: 'x' });
    const t = loadKubeTarget({
      env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      serviceAccountDir: dir,
    });
    assert.equal(t.server, 'https://10.96.0.1:443');
    assert.equal(t.ca, CA);
    assert.deepEqual(t.auth, { kind: 'tokenFile', path: join(dir, 'token'), field: `${dir}/token` });
  });

  test('an IPv6 service host is bracketed', () => {
    const dir = serviceAccount({ token: 't', 'ca.crt': CA });
    const t = loadKubeTarget({
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      serviceAccountDir: dir,
    });
    assert.equal(t.server, 'https://[fd00::1]:443');
  });

  test('no token mounted, no port, a context given: refused, saying what is missing', () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    refused(
      () => loadKubeTarget({ env, serviceAccountDir: serviceAccount({ 'ca.crt': CA }) }),
      /token names .*token, which cannot be read/,
    );
    refused(
      () => loadKubeTarget({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, serviceAccountDir: root }),
      /needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/,
    );
    refused(
      () => loadKubeTarget({ env, context: 'c', serviceAccountDir: root }),
      /kubernetes\.context is 'c', but there is no kubeconfig/,
    );
  });

  test('neither a kubeconfig nor a pod', () => {
    refused(
      () => loadKubeTarget({ env: {} }),
      /kubernetes\.kubeconfig \(or KUBECONFIG\) is not set, and this is not a pod/,
    );
  });
});

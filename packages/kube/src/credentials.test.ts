import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { credentialSource, readExecCredential, TOKEN_FILE_PERIOD_MS } from './credentials.ts';
import type { ExecConfig, KubeTarget } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'kube-credentials-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const target = (auth: KubeTarget['auth']): KubeTarget => ({
  server: 'https://127.0.0.1:6443',
  ca: 'CA PEM',
  insecure: false,
  auth,
  source: 'a test',
});

describe('token file', () => {
  test('read again once the last read is a minute old: a rotated token is used from then on', async () => {
    const file = join(dir, `token-${++n}`);
    writeFileSync(file, 'first\n');
    let now = 1_000_000;
    const creds = credentialSource(target({ kind: 'tokenFile', path: file, field: 'f' }), { now: () => now });
    assert.deepEqual(await creds.get(), { authorization: 'Bearer first' });
    writeFileSync(file, 'second\n');
    now += TOKEN_FILE_PERIOD_MS - 1;
    assert.deepEqual(
      await creds.get(),
      { authorization: 'Bearer first' },
      'within the minute: not read again',
    );
    now += 1;
    assert.deepEqual(await creds.get(), { authorization: 'Bearer second' });
  });

  test('a 401 (invalidate) makes the next request read it again at once', async () => {
    const file = join(dir, `token-${++n}`);
    writeFileSync(file, 'old');
    const creds = credentialSource(target({ kind: 'tokenFile', path: file, field: 'f' }), { now: () => 0 });
    assert.deepEqual(await creds.get(), { authorization: 'Bearer old' });
    writeFileSync(file, 'new');
    creds.invalidate();
    assert.deepEqual(await creds.get(), { authorization: 'Bearer new' });
  });

  test('a file gone or empty mid-rotation keeps the token read last', async () => {
    const file = join(dir, `token-${++n}`);
    writeFileSync(file, 'kept');
    let now = 0;
    const creds = credentialSource(target({ kind: 'tokenFile', path: file, field: 'f' }), { now: () => now });
    await creds.get();
    writeFileSync(file, '');
    now += TOKEN_FILE_PERIOD_MS;
    assert.deepEqual(await creds.get(), { authorization: 'Bearer kept' });
    unlinkSync(file);
    creds.invalidate();
    assert.deepEqual(await creds.get(), { authorization: 'Bearer kept' });
  });

  test('never readable: DEPENDENCY_UNAVAILABLE naming the file', async () => {
    const creds = credentialSource(target({ kind: 'tokenFile', path: join(dir, 'nothing'), field: 'f' }));
    await assert.rejects(creds.get(), (e: unknown) => {
      assert.ok(e instanceof ScalewiseError);
      assert.equal(e.code, 'DEPENDENCY_UNAVAILABLE');
      assert.match(e.message, /token file .*nothing cannot be read \(ENOENT\)/);
      return true;
    });
  });
});

describe('static credentials', () => {
  test('token and basic auth', async () => {
    assert.deepEqual(await credentialSource(target({ kind: 'token', token: 't' })).get(), {
      authorization: 'Bearer t',
    });
    assert.deepEqual(
      await credentialSource(target({ kind: 'basic', username: 'me', password: 'p:w' })).get(),
      { authorization: `Basic ${Buffer.from('me:p:w').toString('base64')}` },
    );
    assert.deepEqual(await credentialSource(target({ kind: 'none' })).get(), {});
  });
});

/**
 * A credential plugin: a Node script that counts its runs, keeps the KUBERNETES_EXEC_INFO it
 * was given, and prints what `OUTPUT` (its env, from the kubeconfig) says, `{n}` replaced by
 * the run's number.
 */
function plugin(
  output: string,
  extra: Partial<ExecConfig> = {},
): { exec: ExecConfig; runs(): number; info(): unknown } {
  const id = ++n;
  const script = join(dir, `plugin-${id}.mjs`);
  const count = join(dir, `plugin-${id}.count`);
  const info = join(dir, `plugin-${id}.info`);
  writeFileSync(
    script,
    `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const runs = (existsSync(${JSON.stringify(count)}) ? Number(readFileSync(${JSON.stringify(count)}, 'utf8')) : 0) + 1;
writeFileSync(${JSON.stringify(count)}, String(runs));
writeFileSync(${JSON.stringify(info)}, process.env.KUBERNETES_EXEC_INFO ?? '');
if (process.env.FAIL) { process.stderr.write('login required: run az login'); process.exit(3); }
process.stdout.write(process.env.OUTPUT.replaceAll('{n}', String(runs)));
`,
  );
  return {
    exec: {
      command: process.execPath,
      args: [script],
      env: { OUTPUT: output },
      apiVersion: 'client.authentication.k8s.io/v1',
      provideClusterInfo: false,
      field: 'users[u].user.exec',
      ...extra,
    },
    runs: () => (existsSync(count) ? Number(readFileSync(count, 'utf8')) : 0),
    info: () => JSON.parse(readFileSync(info, 'utf8')),
  };
}

const credential = (status: Record<string, unknown>, apiVersion = 'client.authentication.k8s.io/v1') =>
  JSON.stringify({ apiVersion, kind: 'ExecCredential', status });

describe('exec credential plugin', () => {
  const T0 = Date.parse('2026-12-01T10:00:00Z');

  test('v1: its token is used until expirationTimestamp, then it runs again', async () => {
    const p = plugin(credential({ token: 'tok-{n}', expirationTimestamp: '2026-12-01T10:05:00Z' }));
    let now = T0;
    const creds = credentialSource(target({ kind: 'exec', exec: p.exec }), { now: () => now });
    assert.deepEqual(await creds.get(), { authorization: 'Bearer tok-1' });
    now = Date.parse('2026-12-01T10:04:59Z');
    assert.deepEqual(await creds.get(), { authorization: 'Bearer tok-1' });
    assert.equal(p.runs(), 1, 'cached until it expires');
    assert.deepEqual(p.info(), {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
    now = Date.parse('2026-12-01T10:05:00Z');
    assert.deepEqual(await creds.get(), { authorization: 'Bearer tok-2' });
    assert.equal(p.runs(), 2);
  });

  test('v1beta1 without an expiry: kept until the server refuses it (401), then run again', async () => {
    const apiVersion = 'client.authentication.k8s.io/v1beta1';
    const p = plugin(credential({ token: 'tok-{n}' }, apiVersion), { apiVersion });
    const creds = credentialSource(target({ kind: 'exec', exec: p.exec }));
    assert.deepEqual(await creds.get(), { authorization: 'Bearer tok-1' });
    assert.deepEqual(await creds.get(), { authorization: 'Bearer tok-1' });
    assert.equal(p.runs(), 1);
    creds.invalidate();
    assert.deepEqual(await creds.get(), { authorization: 'Bearer tok-2' });
  });

  test('requests that wait on it together share one run', async () => {
    const p = plugin(credential({ token: 'tok-{n}' }));
    const creds = credentialSource(target({ kind: 'exec', exec: p.exec }));
    const all = await Promise.all([creds.get(), creds.get(), creds.get()]);
    assert.deepEqual(all, Array(3).fill({ authorization: 'Bearer tok-1' }));
    assert.equal(p.runs(), 1);
  });

  test('a client certificate and key it gives; provideClusterInfo tells it the cluster', async () => {
    const p = plugin(credential({ clientCertificateData: 'CERT {n}', clientKeyData: 'KEY {n}' }), {
      provideClusterInfo: true,
    });
    const creds = credentialSource(target({ kind: 'exec', exec: p.exec }));
    assert.deepEqual(await creds.get(), { cert: 'CERT 1', key: 'KEY 1' });
    assert.deepEqual(p.info(), {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        cluster: {
          server: 'https://127.0.0.1:6443',
          'certificate-authority-data': Buffer.from('CA PEM').toString('base64'),
        },
      },
    });
  });

  test('a plugin that fails: DEPENDENCY_UNAVAILABLE (retriable) with what it said; the next request runs it again', async () => {
    const p = plugin(credential({ token: 'tok-{n}' }));
    const creds = credentialSource(
      target({ kind: 'exec', exec: { ...p.exec, env: { ...p.exec.env, FAIL: '1' } } }),
    );
    for (const _ of [1, 2]) {
      await assert.rejects(creds.get(), (e: unknown) => {
        assert.ok(e instanceof ScalewiseError);
        assert.equal(e.code, 'DEPENDENCY_UNAVAILABLE');
        assert.equal(e.retriable, true);
        assert.match(
          e.message,
          /exec credential plugin .* \(users\[u\]\.user\.exec\) failed \(exit 3\): login required: run az login/,
        );
        return true;
      });
    }
    assert.equal(p.runs(), 2);
  });

  test('a plugin that is not there: INVALID_CONFIG with its installHint', async () => {
    const exec: ExecConfig = {
      command: join(dir, 'no-such-plugin'),
      args: [],
      env: {},
      apiVersion: 'client.authentication.k8s.io/v1',
      provideClusterInfo: false,
      installHint: 'install it with: brew install no-such-plugin',
      field: 'users[u].user.exec',
    };
    await assert.rejects(credentialSource(target({ kind: 'exec', exec })).get(), (e: unknown) => {
      assert.ok(e instanceof ScalewiseError);
      assert.equal(e.code, 'INVALID_CONFIG');
      assert.match(e.message, /cannot be run \(ENOENT\): install it with: brew install no-such-plugin/);
      return true;
    });
  });

  test('output that is not an ExecCredential of the version asked for is refused, never quoting it', () => {
    const exec = { apiVersion: 'client.authentication.k8s.io/v1' as const, field: 'users[u].user.exec' };
    const bad = (stdout: string, message: RegExp) =>
      assert.throws(
        () => readExecCredential(stdout, exec, 'the plugin'),
        (e: unknown) => {
          assert.ok(e instanceof ScalewiseError);
          assert.equal(e.code, 'INVALID_CONFIG');
          assert.match(e.message, message);
          assert.doesNotMatch(e.message, /secret/);
          return true;
        },
      );
    bad('token: secret', /printed something that is not JSON/);
    bad(
      credential({ token: 'secret' }, 'client.authentication.k8s.io/v1beta1'),
      /printed kind ExecCredential of client\.authentication\.k8s\.io\/v1beta1, not an ExecCredential of client\.authentication\.k8s\.io\/v1/,
    );
    bad(credential({}), /gave neither status\.token nor status\.clientCertificateData and clientKeyData/);
    bad(credential({ clientCertificateData: 'secret' }), /client certificate without its key/);
    bad(
      credential({ token: 'secret', expirationTimestamp: 'tomorrow' }),
      /expirationTimestamp that is not RFC 3339: tomorrow/,
    );
  });
});

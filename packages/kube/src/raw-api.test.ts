// The request layer against servers of our own on 127.0.0.1: what goes out (method, path,
// query, headers, JSON body, content type), what comes back (JSON, Status errors), and how each
// failure is classed by client.ts, so that retries and breakers behave as with client-node.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { isRetriable, ScalewiseError } from '@scalewise/errors';
import { stringify } from 'yaml';
import {
  connectKube,
  isNetworkError,
  isStatus,
  type Kube,
  kubeCall,
  statusOf,
  toKubeError,
} from './client.ts';
import { leaderElector, leaseView, microTime } from './lease.ts';
import { ApiStatusError } from './raw-api.ts';

const dir = mkdtempSync(join(tmpdir(), 'kube-raw-api-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The client certificate's subject CN, over TLS. */
  client?: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

// Closed when the file is done (a test's own `after` would close a server shared by a describe).
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});
const kubes: Kube[] = [];
after(() => {
  for (const k of kubes) k.close();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/** An HTTP server answering with `handler`, noting every request and connection. */
async function apiServer(
  handler: Handler,
): Promise<{ url: string; seen: Seen[]; connections: () => number }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => record(req, res, seen, handler));
  server.on('connection', () => connections++);
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, seen, connections: () => connections };
}

function record(req: IncomingMessage, res: ServerResponse, seen: Seen[], handler: Handler): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const peer = (req.socket as Partial<TLSSocket>).getPeerCertificate?.();
    const s: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      ...(peer?.subject ? { client: String(peer.subject.CN) } : {}),
    };
    seen.push(s);
    handler(s, res);
  });
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const status = (res: ServerResponse, code: number, reason: string, message: string, extra = {}) =>
  json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, ...extra });

/** A kubeconfig file of one context; `user` and `cluster` fields as kubectl writes them. */
function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown> = {}): string {
  const path = join(dir, `config-${++n}`);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'k', cluster }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  return path;
}

const connect = (path: string, options: Parameters<typeof connectKube>[0] = {}): Kube => {
  const kube = connectKube({ kubeconfig: path, env: {}, ...options });
  kubes.push(kube);
  return kube;
};

describe('requests', () => {
  test('the calls send their method, path, query, token and JSON body, and return the JSON answer', async () => {
    const api = await apiServer((req, res) => json(res, 200, { kind: 'Echo', method: req.method }));
    const kube = connect(kubeconfig({ server: api.url }, { token: 'tok' }));
    const list = await kube.core.listNode({
      labelSelector: 'scalewise.io/pool=a',
      limit: 5,
      _continue: 'x y',
    });
    assert.deepEqual(list, { kind: 'Echo', method: 'GET' });
    await kube.core.createNamespacedPod({ namespace: 'ns 1', body: { metadata: { name: 'p' } } });
    await kube.core.patchNode({ name: 'n', body: [{ op: 'add', path: '/spec/unschedulable', value: true }] });
    await kube.core.deleteNamespacedPod({
      name: 'p',
      namespace: 'ns',
      body: { preconditions: { uid: 'u1' } },
    });
    await kube.core.createNamespacedPodEviction({
      name: 'p',
      namespace: 'ns',
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'ns' } },
    });
    await kube.policy.listPodDisruptionBudgetForAllNamespaces();
    await kube.custom.listClusterCustomObject({
      group: 'metrics.k8s.io',
      version: 'v1beta1',
      plural: 'nodes',
    });
    await kube.coordination.replaceNamespacedLease({ name: 'l', namespace: 'ns', body: { spec: {} } });
    const [list1, create, patch, del, evict, pdbs, metrics, lease] = api.seen;
    assert.equal(list1?.url, '/api/v1/nodes?labelSelector=scalewise.io%2Fpool%3Da&limit=5&continue=x+y');
    assert.equal(list1?.headers.authorization, 'Bearer tok');
    assert.equal(list1?.headers.accept, 'application/json');
    assert.equal(list1?.body, '');
    assert.equal(create?.method, 'POST');
    assert.equal(create?.url, '/api/v1/namespaces/ns%201/pods');
    assert.equal(create?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(create?.body ?? ''), { metadata: { name: 'p' } });
    assert.equal(patch?.method, 'PATCH');
    assert.equal(patch?.url, '/api/v1/nodes/n');
    assert.equal(patch?.headers['content-type'], 'application/json-patch+json');
    assert.deepEqual(JSON.parse(patch?.body ?? ''), [
      { op: 'add', path: '/spec/unschedulable', value: true },
    ]);
    assert.equal(del?.method, 'DELETE');
    assert.deepEqual(JSON.parse(del?.body ?? ''), { preconditions: { uid: 'u1' } });
    assert.equal(evict?.url, '/api/v1/namespaces/ns/pods/p/eviction');
    assert.equal(pdbs?.url, '/apis/policy/v1/poddisruptionbudgets');
    assert.equal(metrics?.url, '/apis/metrics.k8s.io/v1beta1/nodes');
    assert.equal(lease?.method, 'PUT');
    assert.equal(lease?.url, '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l');
  });

  test("a list's next-page token is metadata.continue, as the wire has it (client-node's models said _continue)", async () => {
    const api = await apiServer((req, res) =>
      json(res, 200, {
        kind: 'NodeList',
        metadata: { resourceVersion: '9', ...(req.url?.includes('continue=') ? {} : { continue: 'page-2' }) },
        items: [],
      }),
    );
    const kube = connect(kubeconfig({ server: api.url }));
    const first = await kube.core.listNode({ limit: 1 });
    assert.equal(first.metadata?.continue, 'page-2');
    const second = await kube.core.listNode({ limit: 1, _continue: first.metadata?.continue });
    assert.equal(second.metadata?.continue, undefined);
    assert.equal(api.seen[1]?.url, '/api/v1/nodes?limit=1&continue=page-2');
  });

  test('one keep-alive connection serves requests one after the other', async () => {
    const api = await apiServer((_req, res) => json(res, 200, {}));
    const kube = connect(kubeconfig({ server: api.url }));
    for (let i = 0; i < 5; i++) await kube.core.getAPIResources();
    assert.equal(api.seen.length, 5);
    assert.equal(api.connections(), 1);
  });

  test("a server URL's path (a proxy's prefix) goes before every API path; basic auth", async () => {
    const api = await apiServer((_req, res) => json(res, 200, {}));
    const kube = connect(
      kubeconfig({ server: `${api.url}/k8s/clusters/c-1/` }, { username: 'me', password: 'pw' }),
    );
    await kube.core.readNode({ name: 'a' });
    assert.equal(api.seen[0]?.url, '/k8s/clusters/c-1/api/v1/nodes/a');
    assert.equal(api.seen[0]?.headers.authorization, `Basic ${Buffer.from('me:pw').toString('base64')}`);
  });

  test('an empty answer is undefined; a 2xx that is not JSON is a SyntaxError (a bug, never retried)', async () => {
    const api = await apiServer((req, res) => {
      res.writeHead(200);
      res.end(req.url?.includes('empty') ? '' : '<html>');
    });
    const kube = connect(kubeconfig({ server: api.url }));
    assert.equal(await kube.request({ method: 'DELETE', path: '/empty' }), undefined);
    await assert.rejects(kube.request({ method: 'GET', path: '/html' }), (e: unknown) => {
      assert.ok(e instanceof SyntaxError);
      assert.match(e.message, /GET \/html: the API server's answer is not JSON/);
      assert.equal(isRetriable(toKubeError('x', e)), false);
      return true;
    });
  });
});

describe('errors, as statusOf / toKubeError / isStatus read them', () => {
  test('an answer other than 2xx carries its code and Status body; 404/409 are not retriable, 429/5xx are', async () => {
    const api = await apiServer((req, res) => {
      const code = Number(req.url?.split('/').at(-1));
      status(res, code, 'Because', `nodes "x" says ${code}`, { details: { name: 'x', kind: 'nodes' } });
    });
    const kube = connect(kubeconfig({ server: api.url }));
    for (const [code, retriable] of [
      [404, false],
      [409, false],
      [422, false],
      [410, true],
      [429, true],
      [500, true],
      [503, true],
    ] as const) {
      const raw = await kube.core.readNode({ name: String(code) }).catch((e: unknown) => e);
      assert.ok(raw instanceof ApiStatusError);
      assert.equal(raw.code, code);
      assert.equal(statusOf(raw), code);
      assert.deepEqual((raw.body as { details?: unknown }).details, { name: 'x', kind: 'nodes' });
      const e = await kubeCall('reading node x', () => kube.core.readNode({ name: String(code) })).catch(
        (err: unknown) => err,
      );
      assert.ok(e instanceof ScalewiseError);
      assert.equal(e.code, 'KUBERNETES_API');
      assert.equal(e.retriable, retriable, String(code));
      assert.equal(e.message, `reading node x: ${code} nodes "x" says ${code}`);
      assert.ok(isStatus(e, code));
    }
  });

  test('an error body that is not JSON (a proxy in between) gives its text as the message', async () => {
    const api = await apiServer((_req, res) => {
      res.writeHead(502);
      res.end('Bad Gateway');
    });
    const kube = connect(kubeconfig({ server: api.url }));
    const e = await kubeCall('listing pods', () => kube.core.listPodForAllNamespaces()).catch(
      (err: unknown) => err,
    );
    assert.ok(e instanceof ScalewiseError);
    assert.equal(e.message, 'listing pods: 502 Bad Gateway');
    assert.equal(e.retriable, true);
  });

  test('nothing listening: the socket error (ECONNREFUSED), DEPENDENCY_UNAVAILABLE, retriable', async () => {
    const server = createServer();
    const port = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const kube = connect(kubeconfig({ server: `http://127.0.0.1:${port}` }));
    const raw = await kube.core.listNode().catch((e: unknown) => e);
    assert.equal((raw as { code?: unknown }).code, 'ECONNREFUSED');
    assert.ok(isNetworkError(raw));
    const e = toKubeError('listing nodes', raw);
    assert.ok(e instanceof ScalewiseError);
    assert.equal(e.code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(e.retriable, true);
    assert.match(
      e.message,
      /^listing nodes: the API server did not answer \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/,
    );
  });

  test('silence past idleMs, or an answer past timeoutMs: ETIMEDOUT, DEPENDENCY_UNAVAILABLE', async () => {
    const api = await apiServer(() => {
      // never answers
    });
    const kube = connect(kubeconfig({ server: api.url }));
    const idle = await kube
      .request({ method: 'GET', path: '/api/v1/nodes', idleMs: 100 })
      .catch((e: unknown) => e);
    assert.equal((idle as { code?: unknown }).code, 'ETIMEDOUT');
    assert.match(
      toKubeError('listing nodes', idle).message,
      /^listing nodes: the API server did not answer \(ETIMEDOUT: GET \/api\/v1\/nodes: no byte from the API server in 100 ms\)$/,
    );
    // The server never answers: only the 150 ms deadline ends this (its message says which).
    const late = await kube.core.listNode({}, { timeoutMs: 150 }).catch((e: unknown) => e);
    assert.equal((late as { code?: unknown }).code, 'ETIMEDOUT');
    const e = toKubeError('listing nodes', late);
    assert.ok(e instanceof ScalewiseError);
    assert.equal(e.code, 'DEPENDENCY_UNAVAILABLE');
    assert.match(e.message, /no answer from the API server within 150 ms/);
  });

  test("a caller's abort ends the request with an AbortError, not classed as the server's silence", async () => {
    const api = await apiServer(() => {
      // never answers
    });
    const kube = connect(kubeconfig({ server: api.url }));
    const stop = new AbortController();
    const pending = kube.core.listNode({}, { signal: stop.signal }).catch((e: unknown) => e);
    setTimeout(() => stop.abort(), 50);
    const e = await pending;
    assert.equal((e as Error).name, 'AbortError');
    assert.equal(isNetworkError(e), false);
  });

  test('a 401 makes the token file be read again at once: the next request carries the rotated token', async () => {
    const token = join(dir, `token-${++n}`);
    writeFileSync(token, 'old');
    const api = await apiServer((req, res) =>
      req.headers.authorization === 'Bearer new'
        ? json(res, 200, { kind: 'NodeList', items: [] })
        : status(res, 401, 'Unauthorized', 'Unauthorized'),
    );
    const kube = connect(kubeconfig({ server: api.url }, { tokenFile: token }));
    const first = await kubeCall('listing nodes', () => kube.core.listNode()).catch((e: unknown) => e);
    assert.ok(isStatus(first, 401));
    assert.equal((first as ScalewiseError).retriable, false);
    writeFileSync(token, 'new');
    assert.deepEqual(await kube.core.listNode(), { kind: 'NodeList', items: [] });
    assert.deepEqual(
      api.seen.map((s) => s.headers.authorization),
      ['Bearer old', 'Bearer new'],
    );
  });

  test('an exec plugin: its token on every request, run again after a 401', async () => {
    const script = join(dir, `plugin-${++n}.mjs`);
    const count = join(dir, `plugin-${n}.count`);
    writeFileSync(count, '0');
    writeFileSync(
      script,
      `import { readFileSync, writeFileSync } from 'node:fs';
const runs = Number(readFileSync(${JSON.stringify(count)}, 'utf8')) + 1;
writeFileSync(${JSON.stringify(count)}, String(runs));
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'exec-' + runs } }));
`,
    );
    const api = await apiServer((req, res) =>
      req.headers.authorization === 'Bearer exec-1' && req.url?.includes('denied')
        ? status(res, 401, 'Unauthorized', 'Unauthorized')
        : json(res, 200, {}),
    );
    const kube = connect(
      kubeconfig(
        { server: api.url },
        {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: process.execPath,
            args: [script],
            interactiveMode: 'Never',
          },
        },
      ),
    );
    await kube.core.readNode({ name: 'a' });
    await kube.core.readNode({ name: 'b' });
    await kube.core.readNode({ name: 'denied' }).catch(() => undefined);
    await kube.core.readNode({ name: 'c' });
    assert.deepEqual(
      api.seen.map((s) => s.headers.authorization),
      ['Bearer exec-1', 'Bearer exec-1', 'Bearer exec-1', 'Bearer exec-2'],
    );
    assert.equal(readFileSync(count, 'utf8'), '2');
  });
});

describe('leases', () => {
  test('MicroTime: six fractional digits, as the API server parses it', () => {
    assert.equal(microTime(Date.parse('2026-11-23T12:00:00.123Z')), '2026-11-23T12:00:00.123000Z');
    assert.equal(microTime(0), '1970-01-01T00:00:00.000000Z');
  });

  test('leaseView reads the strings the API sends; an unreadable time counts as long ago', () => {
    assert.deepEqual(
      leaseView({
        spec: { holderIdentity: 'a', renewTime: '2026-11-23T12:00:00.123456Z', leaseDurationSeconds: 10 },
      }),
      { holder: 'a', renewedAt: Date.parse('2026-11-23T12:00:00.123Z'), durationSeconds: 10 },
    );
    assert.equal(leaseView({ spec: { holderIdentity: 'a', renewTime: 'garbage' } }).renewedAt, 0);
  });

  test('the elector creates the Lease with MicroTimes and renews it over the version it read', async (t) => {
    let stored: Record<string, unknown> | undefined;
    const api = await apiServer((req, res) => {
      if (req.method === 'GET') {
        if (stored) json(res, 200, stored);
        else status(res, 404, 'NotFound', 'leases "l" not found');
        return;
      }
      const body = JSON.parse(req.body) as { metadata: Record<string, unknown> };
      stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(api.seen.length) } };
      json(res, req.method === 'POST' ? 201 : 200, stored);
    });
    const kube = connect(kubeconfig({ server: api.url }));
    let now = Date.parse('2026-11-23T12:00:00.250Z');
    const elector = leaderElector(kube, { name: 'l', namespace: 'ns', identity: 'me', now: () => now });
    // Stopped however the test ends (its renewal timer would keep the process alive).
    t.after(() => elector.stop());
    await elector.start();
    assert.equal(elector.isLeader(), true);
    const created = JSON.parse(api.seen[1]?.body ?? '{}');
    assert.equal(api.seen[1]?.method, 'POST');
    assert.deepEqual(created.spec, {
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      renewTime: '2026-11-23T12:00:00.250000Z',
      acquireTime: '2026-11-23T12:00:00.250000Z',
      leaseTransitions: 0,
    });
    now += 5000;
    await elector.stop();
    const released = JSON.parse(api.seen.at(-1)?.body ?? '{}');
    assert.equal(api.seen.at(-1)?.method, 'PUT');
    assert.equal(released.metadata.resourceVersion, '2', 'over the version read');
    assert.equal(released.spec.renewTime, '1970-01-01T00:00:00.000000Z');
    assert.equal(released.spec.holderIdentity, undefined);
  });
});

describe('TLS', () => {
  /** A CA, a server certificate for 127.0.0.1 and kube.test, and a client certificate, made with openssl. */
  const pki = join(dir, 'pki');
  const file = (name: string) => join(pki, name);
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const certificate = (name: string, subject: string, ext: string) => {
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file(`${name}.key`));
    openssl('req', '-new', '-key', file(`${name}.key`), '-subj', subject, '-out', file(`${name}.csr`));
    writeFileSync(file(`${name}.ext`), `${ext}\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-set_serial',
      String(Date.now()),
      '-days',
      '2',
      '-out',
      file(`${name}.crt`),
      '-extfile',
      file(`${name}.ext`),
    );
  };
  const read = (name: string) => readFileSync(file(name), 'utf8');
  let server: { url: string; seen: Seen[] } | undefined;

  async function tlsServer(): Promise<{ url: string; seen: Seen[] }> {
    if (server) return server;
    execFileSync('mkdir', ['-p', pki]);
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('ca.key'));
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      file('ca.key'),
      '-subj',
      '/CN=test-ca',
      '-days',
      '2',
      '-out',
      file('ca.crt'),
    );
    certificate('server', '/CN=kube-test', 'subjectAltName=IP:127.0.0.1,DNS:kube.test');
    certificate('client', '/CN=tester/O=testers', 'extendedKeyUsage=clientAuth');
    const seen: Seen[] = [];
    const https = createHttpsServer(
      {
        key: read('server.key'),
        cert: read('server.crt'),
        ca: read('ca.crt'),
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => record(req, res, seen, (_s, r) => json(r, 200, { kind: 'APIResourceList' })),
    );
    const port = await listen(https as unknown as Server);
    server = { url: `https://127.0.0.1:${port}`, seen };
    return server;
  }

  test('certificate-authority and a client certificate: the server is verified and sees who we are', async () => {
    const s = await tlsServer();
    const kube = connect(
      kubeconfig(
        { server: s.url, 'certificate-authority': file('ca.crt') },
        { 'client-certificate': file('client.crt'), 'client-key': file('client.key') },
      ),
    );
    assert.deepEqual(await kube.core.getAPIResources(), { kind: 'APIResourceList' });
    assert.equal(s.seen.at(-1)?.client, 'tester');
  });

  test('certificate-authority-data with tls-server-name: checked against that name', async () => {
    const s = await tlsServer();
    const ca = Buffer.from(read('ca.crt')).toString('base64');
    const kube = connect(
      kubeconfig({ server: s.url, 'certificate-authority-data': ca, 'tls-server-name': 'kube.test' }),
    );
    assert.deepEqual(await kube.core.getAPIResources(), { kind: 'APIResourceList' });
    const wrong = connect(
      kubeconfig({ server: s.url, 'certificate-authority-data': ca, 'tls-server-name': 'other.test' }),
    );
    const e = toKubeError('probing', await wrong.core.getAPIResources().catch((err: unknown) => err));
    assert.ok(e instanceof ScalewiseError);
    assert.match(
      e.message,
      /^probing: the TLS handshake with the API server failed \(ERR_TLS_CERT_ALTNAME_INVALID: /,
    );
  });

  test('a server certificate the system does not trust: DEPENDENCY_UNAVAILABLE naming the TLS failure; insecure-skip-tls-verify goes on', async () => {
    const s = await tlsServer();
    const kube = connect(kubeconfig({ server: s.url }));
    const raw = await kube.core.getAPIResources().catch((err: unknown) => err);
    assert.ok(isNetworkError(raw));
    const e = toKubeError('probing', raw);
    assert.ok(e instanceof ScalewiseError);
    assert.equal(e.code, 'DEPENDENCY_UNAVAILABLE');
    assert.match(
      e.message,
      /^probing: the TLS handshake with the API server failed \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY): /,
    );
    const insecure = connect(kubeconfig({ server: s.url, 'insecure-skip-tls-verify': true }));
    assert.deepEqual(await insecure.core.getAPIResources(), { kind: 'APIResourceList' });
  });
});

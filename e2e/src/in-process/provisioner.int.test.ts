// The external provider end to end on the real servers (Kafka, Redis, kube-apiserver with
// KWOK): node-manager speaking the provisioner contract to the reference provisioner listening
// on 127.0.0.1, the machines' Nodes registering on the API server. A scale-up and a scale-down,
// the same decision delivered twice, a quota refusal, a provisioner that fails or does not
// answer (its breaker opens), a worker that never joins, and state-sync's drift for a machine
// the provisioner lists without a Node.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig } from '@scalewise/config';
import type { EventData } from '@scalewise/events';
import { connectKube, POOL_LABEL } from '@scalewise/kube';
import { defineNodeManager, type NodeManagerService } from '@scalewise/node-manager';
import { decision } from '@scalewise/node-manager/test-support/decision';
import { dataOf, drivePool, recordedCount } from '@scalewise/node-manager/test-support/pool';
import { memberNames } from '@scalewise/pool';
import { buildApp, createMachines } from '@scalewise/provisioner';
import { createService } from '@scalewise/service';
import { defineStateSync } from '@scalewise/state-sync';
import { integrationFixture, quiet, serversYaml, uniqueName, waitFor } from '@scalewise/testing';

const fx = integrationFixture({ kubernetes: true, connect: connectKube, recorder: recordTopics });
const debug = process.env.PROV_DEBUG ? process.stderr : quiet;

/** The reference provisioner on 127.0.0.1, its machine records in a namespace of the test's own. */
async function startProvisioner(
  namespace: string,
  options: { maxPerPool?: number; tls?: { cert: string; key: string }; tokenFile?: string } = {},
) {
  await fx.namespace(namespace);
  const { tls, tokenFile, ...rest } = options;
  const machines = createMachines({ kube: fx.kube, namespace, ...rest });
  const app = await buildApp({
    machines,
    ...(tokenFile ? { tokenFile } : {}),
    ...(tls ? { server: { https: tls } } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const timer = setInterval(() => void machines.reconcile().catch(() => undefined), 500);
  fx.defer(async () => {
    clearInterval(timer);
    await app.close();
  });
  const { port } = app.server.address() as AddressInfo;
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`, machines, namespace };
}

/** A server of the test's own that breaks the contract's way: answers `status` with `code`, or never. */
async function brokenProvisioner(
  mode: { status: number; code: string } | 'hang',
): Promise<{ url: string; calls: () => number }> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    calls++;
    req.resume();
    if (mode === 'hang') return;
    res.writeHead(mode.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: mode.code, message: 'the VM API is down' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fx.defer(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls };
}

async function setup(url: string, extra = '') {
  const pool = uniqueName('ext')
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 30);
  const prefix = `${pool}.`;
  const yaml = `
cluster_id: ${pool}
autoscaler:
  sensing: { sync_interval_seconds: 1 }
  pools:
    - name: ${pool}
      provider: external
      min: 0
      max: 10
      node_size: { cpu_millicores: 2000, memory_mib: 4096 }
      node_labels: { team: infra }
      node_taints: [{ key: dedicated, value: vms, effect: NoSchedule }]
      action_timeout_seconds: 20
      provider_options:
        url: ${url}
        timeout_seconds: 1
        instance_type: cx32
${extra}
events:
  topic_prefix: "${prefix}"
  group_prefix: "${prefix}"
  partitions: 1
  retry: { attempts: 3, initial_ms: 50, max_ms: 200 }
  breaker: { reset_timeout_ms: 60000 }
${serversYaml(fx.stack)}
telemetry: { log_level: ${process.env.PROV_DEBUG ? 'debug' : 'warn'} }
shutdown_timeout_seconds: 10
`;
  fx.defer(() => fx.kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${pool}` }));
  const { rec, feed, ledger } = await drivePool(fx, yaml, pool, {
    topics: ['nodes', 'actions', 'state'],
    as: 'test',
  });
  return {
    pool,
    yaml,
    rec,
    feed,
    /** The pool's members in the ledger (what is counted). */
    members: async () => memberNames(await ledger()),
  };
}

async function startManager(yaml: string): Promise<NodeManagerService> {
  const definition = defineNodeManager({
    config: loadConfig({ text: yaml, env: {} }),
    fromBeginning: true,
    kube: fx.kube,
    telemetry: { logDestination: debug },
  });
  await fx.start(createService(definition));
  return definition;
}

const nodesOf = async (pool: string) =>
  (await fx.kube.core.listNode({ labelSelector: `${POOL_LABEL}=${pool}` })).items.filter(
    (n) => !n.metadata?.deletionTimestamp,
  );
const failedOf = (rec: Awaited<ReturnType<typeof recordTopics>>) =>
  rec
    .of('io.scalewise.ScalingActionFailed')
    .map((e) => e.data as EventData<'io.scalewise.ScalingActionFailed'>);

/** A CA and a server certificate for 127.0.0.1 it signed (openssl, as scripts/lib/k8s.sh makes the stack's). */
function certificates(dir: string): { ca: string; cert: string; key: string } {
  const f = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.crt'),
      '-subj',
      '/CN=provisioner-test-ca',
      '-days',
      '1',
    ],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    ['req', ...ec, '-keyout', f('tls.key'), '-out', f('tls.csr'), '-subj', '/CN=127.0.0.1'],
    { stdio: 'ignore' },
  );
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      f('tls.csr'),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f('tls.crt'),
      '-days',
      '1',
      '-extfile',
      f('san.ext'),
    ],
    { stdio: 'ignore' },
  );
  return {
    ca: f('ca.crt'),
    cert: readFileSync(f('tls.crt'), 'utf8'),
    key: readFileSync(f('tls.key'), 'utf8'),
  };
}

describe('the external provider through the reference provisioner, on the real servers', () => {
  test('scale up by 2 delivered twice, then down by 1: two machines made once, their Nodes Ready with the template, one removed', async () => {
    const prov = await startProvisioner(uniqueName('prov'));
    const { pool, yaml, rec, feed, members } = await setup(prov.url);
    await startManager(yaml);

    const up = decision('io.scalewise.ScaleUpDecision', pool, 0, 2);
    await feed(up);
    await feed(up);
    await recordedCount(rec, 'io.scalewise.ScalingActionCompleted', 1, 'the scale-up completed');
    const created = dataOf(rec, 'io.scalewise.NodeCreated');
    assert.equal(created.length, 2);
    assert.ok(created.every((d) => d.provider === 'external' && d.provider_id.startsWith('reference://')));
    const machines = await prov.machines.list(pool);
    assert.equal(machines.length, 2, 'the decision delivered twice made its machines once');
    assert.ok(machines.every((m) => m.idempotency_key === up.id && m.state === 'running'));
    const nodes = await nodesOf(pool);
    assert.deepEqual(nodes.map((n) => n.metadata?.name).sort(), created.map((d) => d.node_name).sort());
    for (const n of nodes) {
      assert.equal(n.metadata?.labels?.team, 'infra');
      assert.equal(
        n.metadata?.labels?.['app.kubernetes.io/managed-by'],
        undefined,
        'as a kubelet registers it',
      );
      // The template's taints; the node lifecycle controller's own (node.kubernetes.io/not-ready
      // until it sees the Ready condition) come and go on its schedule.
      assert.deepEqual(
        n.spec?.taints
          ?.filter((t) => !t.key.startsWith('node.kubernetes.io/'))
          .map((t) => `${t.key}=${t.value}:${t.effect}`),
        ['dedicated=vms:NoSchedule'],
      );
      assert.equal(n.status?.allocatable?.cpu, '2', 'node_size: 2000 millicores');
      assert.ok(machines.some((m) => m.provider_id === n.spec?.providerID));
    }
    assert.deepEqual(await members(), created.map((d) => d.node_name).sort());

    await feed(decision('io.scalewise.ScaleDownDecision', pool, 2, 1));
    await recordedCount(rec, 'io.scalewise.ScalingActionCompleted', 2, 'the scale-down completed');
    const removed = dataOf(rec, 'io.scalewise.NodeRemoved');
    assert.equal(removed.length, 1);
    assert.deepEqual(
      (await prov.machines.list(pool)).map((m) => m.name),
      created.map((d) => d.node_name).filter((n) => n !== removed[0]?.node_name),
    );
    await waitFor(async () => (await nodesOf(pool)).length === 1, {
      timeoutMs: 20_000,
      what: "the removed machine's Node gone",
    });
    assert.deepEqual(
      await members(),
      (await prov.machines.list(pool)).map((m) => m.name),
    );
    assert.deepEqual(failedOf(rec), []);
  });

  test('a provisioner over its quota: the action fails at once with PROVISIONER_QUOTA_EXCEEDED, not retried, nothing counted', async () => {
    const prov = await startProvisioner(uniqueName('prov'), { maxPerPool: 1 });
    const { pool, yaml, rec, feed, members } = await setup(prov.url);
    await startManager(yaml);
    await feed(decision('io.scalewise.ScaleUpDecision', pool, 0, 2));
    await waitFor(() => failedOf(rec).length === 1, { timeoutMs: 30_000, what: 'the scale-up failed' });
    const f = failedOf(rec)[0];
    assert.equal(f?.error_code, 'PROVISIONER_QUOTA_EXCEEDED');
    assert.equal(f?.retriable, false);
    assert.equal(f?.completed_count, 0);
    assert.deepEqual(rec.of('io.scalewise.NodeCreated'), []);
    assert.deepEqual(await prov.machines.list(pool), []);
    assert.deepEqual(await members(), []);
  });

  test('a provisioner answering UNAVAILABLE: retried by the bus policy, the action fails with PROVISIONER_UNAVAILABLE, its breaker opens and the next action fails fast', async () => {
    const broken = await brokenProvisioner({ status: 503, code: 'UNAVAILABLE' });
    const { pool, yaml, rec, feed, members } = await setup(broken.url);
    const nm = await startManager(yaml);
    await feed(decision('io.scalewise.ScaleUpDecision', pool, 0, 1));
    await waitFor(() => failedOf(rec).length === 1, { timeoutMs: 30_000, what: 'the first scale-up failed' });
    assert.equal(failedOf(rec)[0]?.error_code, 'PROVISIONER_UNAVAILABLE');
    assert.equal(failedOf(rec)[0]?.retriable, true);
    // Three attempts (events.retry) for the create, the worker's cleanup after the failure too.
    assert.ok(broken.calls() >= 3, `${broken.calls()} calls`);
    await waitFor(() => nm.external()?.breakers()[0]?.state() === 'open', {
      timeoutMs: 20_000,
      what: 'the breaker open',
    });
    await waitFor(
      () =>
        rec
          .of('io.scalewise.CircuitBreakerStateChanged')
          .some(
            (e) =>
              (e.data as { breaker: string; state: string }).state === 'open' &&
              (e.data as { breaker: string }).breaker.startsWith('provisioner-'),
          ),
      { timeoutMs: 20_000, what: 'CircuitBreakerStateChanged open' },
    );
    const calls = broken.calls();
    await feed(decision('io.scalewise.ScaleUpDecision', pool, 0, 1));
    await waitFor(() => failedOf(rec).length === 2, {
      timeoutMs: 30_000,
      what: 'the second scale-up failed',
    });
    assert.equal(failedOf(rec)[1]?.error_code, 'PROVISIONER_CIRCUIT_OPEN');
    assert.equal(broken.calls(), calls, 'no call while the breaker is open');
    assert.deepEqual(rec.of('io.scalewise.NodeCreated'), []);
    assert.deepEqual(await members(), []);
  });

  test('a provisioner that never answers: each call given up after timeout_seconds, the action fails with PROVISIONER_TIMEOUT', async () => {
    const broken = await brokenProvisioner('hang');
    const { pool, yaml, rec, feed } = await setup(broken.url);
    await startManager(yaml);
    const t0 = Date.now();
    await feed(decision('io.scalewise.ScaleUpDecision', pool, 0, 1));
    await waitFor(() => failedOf(rec).length === 1, { timeoutMs: 30_000, what: 'the scale-up failed' });
    assert.equal(failedOf(rec)[0]?.error_code, 'PROVISIONER_TIMEOUT');
    // Three attempts of 1 s each, not the 20 s of the action.
    assert.ok(Date.now() - t0 < 15_000, `${Date.now() - t0} ms`);
    assert.deepEqual(rec.of('io.scalewise.NodeCreated'), []);
  });

  test('a worker that never joins: the action fails with TIMEOUT, the machine is deleted and its NodeRemoved says not_joined', async () => {
    const prov = await startProvisioner(uniqueName('prov'));
    const { pool, yaml, rec, feed, members } = await setup(prov.url, '        parameters: { boot: never }');
    await startManager(yaml);
    await feed(decision('io.scalewise.ScaleUpDecision', pool, 0, 1));
    await waitFor(async () => (await prov.machines.list(pool)).length === 1, {
      timeoutMs: 20_000,
      what: 'the machine made',
    });
    await waitFor(() => failedOf(rec).length === 1, { timeoutMs: 40_000, what: 'the scale-up timed out' });
    assert.equal(failedOf(rec)[0]?.error_code, 'TIMEOUT');
    assert.match(failedOf(rec)[0]?.message ?? '', /deleting them/);
    const [removed] = await recordedCount(rec, 'io.scalewise.NodeRemoved', 1, 'NodeRemoved', 20_000);
    assert.equal(removed?.reason, 'not_joined');
    assert.deepEqual(await prov.machines.list(pool), []);
    assert.deepEqual(rec.of('io.scalewise.NodeReady'), []);
    assert.deepEqual(await members(), []);
  });

  test('state-sync: a machine the provisioner lists without a Node is drift (instance_without_node), and the pool is not in sync', async () => {
    const prov = await startProvisioner(uniqueName('prov'));
    const { pool, yaml, rec } = await setup(prov.url);
    // A VM made an hour ago whose kubelet never joined (made by hand, or left by a failed cleanup).
    const orphan = `${pool}-orphan`;
    await createMachines({
      kube: fx.kube,
      namespace: prov.namespace,
      now: () => Date.now() - 3_600_000,
    }).create(pool, {
      idempotency_key: 'by-hand',
      workers: [{ name: orphan }],
      template: {
        labels: { [POOL_LABEL]: pool },
        taints: [],
        resources: { cpu_millicores: 2000, memory_mib: 4096, pods: 110, extended_resources: {} },
        parameters: { boot: 'never' },
      },
    });
    await fx.start(
      createService(
        defineStateSync({
          config: loadConfig({ text: yaml, env: {} }),
          kube: fx.kube,
          telemetry: { logDestination: debug },
        }),
      ),
    );
    const drifts = () =>
      rec
        .of('io.scalewise.StateDriftDetected')
        .map((e) => e.data as EventData<'io.scalewise.StateDriftDetected'>);
    await waitFor(
      () =>
        drifts().some((d) => d.drift.some((x) => x.kind === 'instance_without_node' && x.name === orphan)),
      {
        timeoutMs: 30_000,
        what: 'StateDriftDetected instance_without_node',
      },
    );
    const d = drifts().find((x) => x.drift.some((y) => y.kind === 'instance_without_node'));
    assert.equal(d?.docker_containers, 1, "the provider's count");
    assert.equal(d?.k8s_nodes, 0);
    assert.deepEqual(rec.of('io.scalewise.ClusterStateSynced'), []);
    assert.deepEqual(rec.of('io.scalewise.NodeUnexpectedlyLost'), []);
  });

  test('with a token: the probes answer without it and 503 when the namespace is gone; the API wants it', async () => {
    const namespace = uniqueName('prov');
    await fx.kube.core.createNamespace({ body: { metadata: { name: namespace } } });
    const dir = mkdtempSync(join(tmpdir(), 'provisioner-token-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 's3cret\n');
    const app = await buildApp({ machines: createMachines({ kube: fx.kube, namespace }), tokenFile });
    await app.listen({ host: '127.0.0.1', port: 0 });
    fx.defer(async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const status = async (path: string, token?: string) =>
      (await fetch(base + path, token ? { headers: { authorization: `Bearer ${token}` } } : {})).status;
    assert.equal(await status('/healthz'), 200);
    assert.equal(await status('/readyz'), 200);
    assert.equal(await status('/pools/p/workers'), 401, 'no token');
    assert.equal(await status('/pools/p/workers', 'wrong!'), 401, 'a wrong token of the same length');
    assert.equal(await status('/pools/p/workers', 's3cret'), 200);
    await fx.kube.core.deleteNamespace({ name: namespace });
    await waitFor(async () => (await status('/readyz')) === 503, {
      timeoutMs: 60_000,
      what: '/readyz 503 once the records namespace is gone',
    });
    assert.equal(await status('/healthz'), 503);
  });

  test('over https with a bearer token: the CA of ca_file trusted, the token of token_file sent; a wrong token fails the action, not retried', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provisioner-tls-'));
    fx.defer(async () => rmSync(dir, { recursive: true, force: true }));
    const { ca, cert, key } = certificates(dir);
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'the-right-token\n');
    const prov = await startProvisioner(uniqueName('prov'), { tls: { cert, key }, tokenFile });
    assert.match(prov.url, /^https:/);
    const callerToken = join(dir, 'caller-token');
    writeFileSync(callerToken, 'the-right-token');
    const { pool, yaml, rec, feed, members } = await setup(
      prov.url,
      `        token_file: ${callerToken}\n        ca_file: ${ca}`,
    );
    await startManager(yaml);
    await feed(decision('io.scalewise.ScaleUpDecision', pool, 0, 1));
    await waitFor(() => rec.of('io.scalewise.ScalingActionCompleted').length === 1, {
      timeoutMs: 60_000,
      what: 'the scale-up over https completed',
    });
    assert.equal((await prov.machines.list(pool)).length, 1);
    assert.equal((await members()).length, 1);

    // The caller's token rotated to a wrong one (read at each call): refused, not retried.
    writeFileSync(callerToken, 'a-wrong-token!!');
    await feed(decision('io.scalewise.ScaleUpDecision', pool, 1, 2));
    await waitFor(() => failedOf(rec).length === 1, { timeoutMs: 30_000, what: 'the scale-up refused' });
    const f = failedOf(rec)[0];
    assert.equal(f?.error_code, 'PROVISIONER_UNAUTHENTICATED');
    assert.equal(f?.retriable, false);
    assert.equal((await prov.machines.list(pool)).length, 1, 'nothing made without the token');
    assert.equal((await members()).length, 1);
  });
});

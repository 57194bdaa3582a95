// The docker provider against a real Docker Engine API: podman's Docker-compatible service,
// started by scripts/docker-engine in a directory of this test's own (no Docker daemon runs
// here, and no registry is reachable: the image is a busybox stand-in for rancher/k3s with
// /bin/k3s as its entrypoint). Containers are really created, started, inspected, stopped and
// removed; the Node objects are on the stack's real kube-apiserver, where KWOK plays the
// kubelet a real k3s agent would be.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { configSchema, loadConfig, type PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { connectKube, ensureNode, kwokNodeManifest, POOL_LABEL } from '@scalewise/kube';
import { createDockerClient, type DockerApi, dockerProvider, parseDockerHost } from '@scalewise/providers';
import { createService } from '@scalewise/service';
import { startFeeder } from '@scalewise/service/test-support';
import {
  integrationFixture,
  poolServiceYaml,
  quiet,
  repositoryRoot,
  serversYaml,
  uniqueName,
  waitFor,
} from '@scalewise/testing';
import { defineNodeManager } from './service.ts';
import { decision } from './test-support/decision.ts';

const run = promisify(execFile);
const script = join(repositoryRoot(), 'scripts', 'docker-engine');
const TOKEN = 'test-join-token-7f3a';

let engineDir: string;
let dockerHost: string;
let image: string;
let network: string;
let docker: DockerApi;
const fx = integrationFixture({ kubernetes: true, connect: connectKube, recorder: recordTopics });

before(async () => {
  engineDir = mkdtempSync(join(tmpdir(), 'scalewise-docker-'));
  // The engine goes last, once what the tests made on it is gone.
  fx.defer(() => run(script, ['down', engineDir], { timeout: 60_000 }));
  const { stdout } = await run(script, ['up', engineDir], { timeout: 300_000 });
  const vars = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  dockerHost = vars.DOCKER_HOST as string;
  image = vars.TEST_IMAGE as string;
  network = vars.TEST_NETWORK as string;
  docker = createDockerClient({ endpoint: parseDockerHost(dockerHost) });
});

/**
 * A docker pool's keys: `keys`, and provider options for the test engine (its image, limits it
 * allows) with `providerOptions` on top.
 */
function dockerPool(keys: Record<string, unknown> = {}, providerOptions: Record<string, unknown> = {}) {
  return {
    provider: 'docker',
    ...keys,
    provider_options: {
      image,
      pull: 'never',
      // The test engine may not raise limits above its caller's (k3s wants 65535).
      ulimits: { nofile: { soft: 1024, hard: 1024 }, nproc: { soft: 1024, hard: 1024 } },
      stop_timeout_seconds: 5,
      ...providerOptions,
    },
  };
}

function poolOf(options: Record<string, unknown> = {}): PoolConfig {
  const name = uniqueName('dock').slice(0, 30);
  fx.defer(() => fx.kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${name}` }));
  const config = configSchema.parse({
    autoscaler: {
      pools: [{ name, ...dockerPool({}, options) }],
    },
  });
  return config.autoscaler.pools[0] as PoolConfig;
}

function providerFor(pool: PoolConfig, lines: string[] = []) {
  const log = {
    info: (o: object, m: string) => lines.push(`${m} ${JSON.stringify(o)}`),
    warn: (o: object, m: string) => lines.push(`${m} ${JSON.stringify(o)}`),
  };
  return dockerProvider({
    docker,
    pools: [pool],
    env: { K3S_URL: 'https://k3s:6443', K3S_TOKEN: TOKEN },
    kube: fx.kube,
    log,
  });
}

describe('docker provider on a real Docker Engine API (podman)', () => {
  test('create starts one running k3s agent container per worker, with its flags, labels, env and host config', async () => {
    const pool = poolOf({ labels: { team: 'infra' }, network });
    const lines: string[] = [];
    const p = providerFor(pool, lines);
    const nodes = [`${pool.name}-a`, `${pool.name}-b`];
    const made = await p.create(pool, nodes, 'decision-1');
    assert.deepEqual(
      made.map((m) => m.node),
      nodes,
    );
    for (const m of made) {
      assert.match(m.providerId, /^docker:\/\/[0-9a-f]{64}$/);
      const c = (await docker.inspectContainer(`k3s-worker-${m.node}`)) as unknown as {
        Id: string;
        State: { Running: boolean };
        Config: {
          Cmd: string[];
          Entrypoint: string[] | string;
          Env: string[];
          Labels: Record<string, string>;
        };
        HostConfig: { Privileged: boolean; Tmpfs: Record<string, string>; RestartPolicy: { Name: string } };
        NetworkSettings: { Networks: Record<string, unknown> };
      };
      assert.equal(`docker://${c.Id}`, m.providerId);
      assert.equal(c.State.Running, true);
      assert.deepEqual(c.Config.Cmd.slice(0, 5), [
        'agent',
        '--node-name',
        m.node,
        '--node-label',
        `scalewise.io/pool=${pool.name}`,
      ]);
      assert.ok(c.Config.Env.includes('K3S_URL=https://k3s:6443'));
      assert.ok(c.Config.Env.includes(`K3S_TOKEN=${TOKEN}`));
      assert.equal(c.Config.Labels['managed-by'], 'scalewise');
      assert.equal(c.Config.Labels['scalewise.io/pool'], pool.name);
      assert.equal(c.Config.Labels['scalewise.io/node'], m.node);
      assert.equal(c.Config.Labels['scalewise.io/action-id'], 'decision-1');
      assert.equal(c.Config.Labels.team, 'infra');
      assert.equal(c.HostConfig.Privileged, true);
      assert.ok('/run' in c.HostConfig.Tmpfs && '/var/run' in c.HostConfig.Tmpfs);
      assert.equal(c.HostConfig.RestartPolicy.Name, 'unless-stopped');
      assert.deepEqual(Object.keys(c.NetworkSettings.Networks), [network]);
    }
    const listed = await p.list(pool);
    assert.deepEqual(listed.map((i) => i.node).sort(), [...nodes].sort());
    assert.ok(listed.every((i) => i.alive && i.createdAt > Date.now() - 300_000));
    // The join token is in the container's env, never in what the provider logs.
    assert.ok(lines.length >= 2);
    assert.ok(lines.every((l) => !l.includes(TOKEN)));
  });

  test('creating again makes no second container and starts one that was stopped', async () => {
    const pool = poolOf();
    const p = providerFor(pool);
    const nodes = [`${pool.name}-a`, `${pool.name}-b`];
    const first = await p.create(pool, nodes, 'decision-1');
    assert.equal(
      await docker.stopContainer(first[0]?.providerId.slice('docker://'.length) as string, 5),
      true,
    );
    assert.equal((await p.list(pool)).filter((i) => i.alive).length, 1);
    const again = await p.create(pool, nodes, 'decision-1-redelivered');
    assert.deepEqual(again, first);
    const listed = await p.list(pool);
    assert.equal(listed.length, 2);
    assert.ok(listed.every((i) => i.alive));
  });

  test('remove stops and removes the container and deletes its Node; removing again succeeds', async () => {
    const pool = poolOf();
    const p = providerFor(pool);
    const [a, b] = [`${pool.name}-a`, `${pool.name}-b`];
    await p.create(pool, [a, b], 'decision-1');
    // What the agent's kubelet would have registered.
    await ensureNode(
      fx.kube,
      kwokNodeManifest({ name: a, pool: pool.name, cpuMillicores: 1000, memoryBytes: 2 ** 30 }),
    );
    const t0 = Date.now();
    await p.remove(pool, a);
    // The stand-in exits on SIGTERM: stopping takes about a second, not the 5 s timeout.
    assert.ok(Date.now() - t0 < 5_000, `removed in ${Date.now() - t0} ms`);
    assert.equal(await docker.inspectContainer(`k3s-worker-${a}`), undefined);
    await waitFor(
      async () =>
        (await fx.kube.core.listNode({ labelSelector: `${POOL_LABEL}=${pool.name}` })).items.length === 0,
      { timeoutMs: 20_000, what: 'the Node deleted' },
    );
    await p.remove(pool, a);
    assert.deepEqual(
      (await p.list(pool)).map((i) => i.node),
      [b],
    );
  });

  test('a container of the worker name that Scalewise did not make is neither used nor removed', async () => {
    const pool = poolOf();
    const p = providerFor(pool);
    const node = `${pool.name}-a`;
    const foreign = await docker.createContainer(`k3s-worker-${node}`, {
      Image: image,
      Labels: { owner: 'someone' },
    });
    assert.equal(foreign.kind, 'created');
    fx.defer(() => docker.removeContainer(`k3s-worker-${node}`));
    const refused = (e: unknown) =>
      e instanceof ScalewiseError &&
      e.code === 'CONFLICT' &&
      !e.retriable &&
      e.details.reason === 'DOCKER_NAME_TAKEN' &&
      e.message.includes(`k3s-worker-${node}`);
    await assert.rejects(p.create(pool, [node], 'decision-1'), refused);
    await assert.rejects(p.remove(pool, node), refused);
    const still = await docker.inspectContainer(`k3s-worker-${node}`);
    assert.equal(still?.Config?.Labels?.owner, 'someone');
    assert.deepEqual(await p.list(pool), []);
  });

  test('an image the engine lacks, with pull: never, fails naming the image and how to pull it', async () => {
    const pool = poolOf({ image: 'localhost/scalewise-absent:1' });
    await assert.rejects(
      providerFor(pool).create(pool, [`${pool.name}-a`], 'decision-1'),
      (e) =>
        e instanceof ScalewiseError &&
        e.code === 'DOCKER_API' &&
        !e.retriable &&
        e.details.reason === 'DOCKER_IMAGE_MISSING' &&
        /image localhost\/scalewise-absent:1 is not on the Docker engine at unix:\/\/.*docker pull localhost\/scalewise-absent:1/.test(
          e.message,
        ),
    );
  });

  test('an image the engine lacks is pulled; a pull that fails names the image, the reason and what to do', async () => {
    // A registry address where nothing listens (127.0.0.1 only): the engine's pull fails fast.
    const pool = poolOf({ image: '127.0.0.1:1/scalewise-absent:1', pull: 'missing' });
    const lines: string[] = [];
    await assert.rejects(
      providerFor(pool, lines).create(pool, [`${pool.name}-a`], 'decision-1'),
      (e) =>
        e instanceof ScalewiseError &&
        e.code === 'DOCKER_API' &&
        e.retriable &&
        e.details.reason === 'DOCKER_PULL_FAILED' &&
        e.message.startsWith('image 127.0.0.1:1/scalewise-absent:1: the Docker engine at unix://') &&
        /could not pull it \(.*connection refused.*\); pull it there yourself \(docker pull 127\.0\.0\.1:1\/scalewise-absent:1\)/.test(
          e.message,
        ),
    );
    assert.ok(lines.some((l) => l.startsWith('pulling the k3s agent image')));
    assert.deepEqual(await providerFor(pool).list(pool), []);
  });

  test('the same engine answers over tcp:// (DOCKER_HOST=tcp://127.0.0.1:<port>)', async () => {
    // A TCP front of the engine's socket, as a socket proxy in front of dockerd would be.
    const socketPath = (parseDockerHost(dockerHost) as { socketPath: string }).socketPath;
    const front = createServer((c) => {
      const back = connect(socketPath);
      c.pipe(back).pipe(c);
      c.on('error', () => back.destroy());
      back.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    fx.defer(() => new Promise((r) => front.close(r)));
    const port = (front.address() as AddressInfo).port;
    const overTcp = createDockerClient({ endpoint: parseDockerHost(`tcp://127.0.0.1:${port}`) });
    const pool = poolOf();
    const p = dockerProvider({
      docker: overTcp,
      pools: [pool],
      env: { K3S_URL: 'https://k3s:6443', K3S_TOKEN: TOKEN },
    });
    const [made] = await p.create(pool, [`${pool.name}-a`], 'decision-1');
    assert.equal((await docker.inspectContainer(`k3s-worker-${pool.name}-a`))?.State?.Running, true);
    assert.deepEqual(
      (await p.list(pool)).map((i) => i.id),
      [made?.providerId],
    );
    await p.remove(pool, `${pool.name}-a`);
    assert.deepEqual(await p.list(pool), []);
  });

  test('a socket where no engine listens fails as unavailable, naming the socket and DOCKER_HOST', async () => {
    const absent = createDockerClient({ endpoint: parseDockerHost(`unix://${engineDir}/absent.sock`) });
    await assert.rejects(
      absent.ping(),
      (e) =>
        e instanceof ScalewiseError &&
        e.code === 'DEPENDENCY_UNAVAILABLE' &&
        e.retriable &&
        e.message.includes(`no Docker socket at ${engineDir}/absent.sock`) &&
        e.message.includes('DOCKER_HOST'),
    );
  });

  test('the client negotiates the engine API version down to what podman speaks', async () => {
    assert.equal(await docker.apiVersion(), '1.41');
  });
});

describe('node-manager with a docker pool', () => {
  test('without a k3s server to join, node-manager does not start, naming the key and K3S_URL', async () => {
    const pool = uniqueName('nmd').slice(0, 30);
    const yaml = `
autoscaler:
  pools:
    - name: ${pool}
      provider: docker
${serversYaml(fx.stack)}
`;
    await assert.rejects(
      createService(
        defineNodeManager({
          config: loadConfig({ text: yaml, env: {} }),
          env: { DOCKER_HOST: dockerHost, K3S_TOKEN: TOKEN },
          kube: fx.kube,
          telemetry: { logDestination: quiet },
        }),
      ),
      (e) =>
        e instanceof ScalewiseError &&
        e.code === 'INVALID_CONFIG' &&
        e.message.startsWith('autoscaler.pools[0].provider_options.server_url: ') &&
        e.message.includes('K3S_URL'),
    );
  });

  test('a scale-up starts k3s agent containers that become the nodes; a scale-down removes one, container and Node', async () => {
    const pool = uniqueName('nmd').slice(0, 30);
    const prefix = `${pool}.`;
    const yaml = poolServiceYaml(fx.stack, pool, {
      pool: dockerPool({ min: 0, max: 5, action_timeout_seconds: 60 }),
      partitions: 1,
    });
    fx.defer(() => fx.kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${pool}` }));
    const env = { DOCKER_HOST: dockerHost, K3S_URL: 'https://k3s:6443', K3S_TOKEN: TOKEN };
    const feeder = await startFeeder(fx, yaml);
    const rec = await fx.record([`${prefix}nodes`, `${prefix}actions`]);
    const nm = await fx.start(
      createService(
        defineNodeManager({
          config: loadConfig({ text: yaml, env: {} }),
          env,
          fromBeginning: true,
          kube: fx.kube,
          telemetry: { logDestination: quiet },
        }),
      ),
    );
    const ready = await nm.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.equal(ready.json().checks.docker.ok, true);

    // Events of two topics: wait for each count (the recorder may see one topic ahead of the other).
    const recordedExactly = (counts: Record<string, number>, timeoutMs: number, what: string) =>
      waitFor(
        () => Object.entries(counts).every(([type, n]) => rec.of(`io.scalewise.${type}`).length === n),
        { timeoutMs, what },
      );
    const decide = (
      type: 'io.scalewise.ScaleUpDecision' | 'io.scalewise.ScaleDownDecision',
      current: number,
    ) => decision(type, pool, current, type === 'io.scalewise.ScaleUpDecision' ? 2 : 1);

    const up = decide('io.scalewise.ScaleUpDecision', 0);
    // Delivered twice (a producer retry, a replay): still two workers.
    await feeder.bus.publisher.publish(up);
    await feeder.bus.publisher.publish(up);
    const containers = () => docker.listContainers(['managed-by=scalewise', `scalewise.io/pool=${pool}`]);
    await waitFor(async () => (await containers()).filter((c) => c.State === 'running').length === 2, {
      timeoutMs: 60_000,
      what: 'two running agent containers',
    });
    // Each agent joins: its node registers (KWOK plays the kubelet) and turns Ready.
    for (const c of await containers()) {
      const node = c.Labels?.['scalewise.io/node'] as string;
      await ensureNode(
        fx.kube,
        kwokNodeManifest({ name: node, pool, cpuMillicores: 2000, memoryBytes: 4 * 2 ** 30 }),
      );
    }
    await recordedExactly({ ScalingActionCompleted: 1, NodeCreated: 2 }, 60_000, 'the scale-up completed');
    const created = rec.of('io.scalewise.NodeCreated').map((e) => e.data as { node_name: string });
    assert.equal(created.length, 2);
    assert.equal((await containers()).length, 2);
    const ids = new Set((await containers()).map((c) => c.Labels?.['scalewise.io/node']));
    assert.ok(created.every((d) => ids.has(d.node_name)));

    await feeder.bus.publisher.publish(decide('io.scalewise.ScaleDownDecision', 2));
    await recordedExactly({ ScalingActionCompleted: 2, NodeRemoved: 1 }, 90_000, 'the scale-down completed');
    const removed = rec
      .of('io.scalewise.NodeRemoved')
      .map((e) => (e.data as { node_name: string }).node_name);
    assert.equal(removed.length, 1);
    const left = await containers();
    assert.equal(left.length, 1);
    assert.notEqual(left[0]?.Labels?.['scalewise.io/node'], removed[0]);
    assert.equal(await docker.inspectContainer(`k3s-worker-${removed[0]}`), undefined);
    await waitFor(
      async () =>
        (await fx.kube.core.listNode({ labelSelector: `${POOL_LABEL}=${pool}` })).items.map(
          (n) => n.metadata?.name,
        ).length === 1,
      { timeoutMs: 20_000, what: "the removed worker's Node deleted" },
    );
  });
});

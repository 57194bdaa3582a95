import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configSchema, DEFAULT_K3S_AGENT_IMAGE, type PoolConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import {
  containerName,
  containerSpec,
  type DockerEnv,
  dockerProvider,
  instanceOf,
  kubeletMaySet,
  notOurs,
  resolveDockerSettings,
} from './docker.ts';
import type { DockerApi } from './docker-api.ts';

const poolOf = (extra: Record<string, unknown> = {}): PoolConfig => {
  const config = configSchema.parse({
    autoscaler: { pools: [{ name: 'workers', provider: 'docker', ...extra }] },
  });
  return config.autoscaler.pools[0] as PoolConfig;
};
const env: DockerEnv = { K3S_URL: 'https://k3s:6443', K3S_TOKEN: 's3cret' };

const configError = (key: string) => (e: unknown) =>
  e instanceof ScalewiseError &&
  e.code === 'INVALID_CONFIG' &&
  e.details.key === key &&
  e.message.startsWith(`${key}: `);

describe('docker pool settings', () => {
  test('given only the environment, then its server, token, image and network', () => {
    const s = resolveDockerSettings(
      poolOf(),
      { ...env, K3S_AGENT_IMAGE: 'k3s:local', DOCKER_NETWORK: 'scalewise' },
      'p',
    );
    assert.equal(s.serverUrl, 'https://k3s:6443');
    assert.deepEqual(s.token, { kind: 'value', value: 's3cret' });
    assert.equal(s.image, 'k3s:local');
    assert.equal(s.network, 'scalewise');
    assert.equal(s.options.container_name_prefix, 'k3s-worker-');
    assert.equal(s.options.pull, 'missing');
  });

  test('given options, then they win over the environment; no image anywhere, then the pinned default', () => {
    const s = resolveDockerSettings(
      poolOf({
        provider_options: {
          server_url: 'https://10.0.0.1:6443',
          token_file: '/run/secrets/k3s',
          network: 'lan',
        },
      }),
      { ...env, K3S_TOKEN_FILE: '/other', DOCKER_NETWORK: 'scalewise' },
      'p',
    );
    assert.equal(s.serverUrl, 'https://10.0.0.1:6443');
    assert.deepEqual(s.token, {
      kind: 'file',
      path: '/run/secrets/k3s',
      key: 'p.provider_options.token_file',
    });
    assert.equal(s.network, 'lan');
    assert.equal(s.image, DEFAULT_K3S_AGENT_IMAGE);
  });

  test('given K3S_TOKEN_FILE and K3S_TOKEN, then the file', () => {
    const s = resolveDockerSettings(poolOf(), { ...env, K3S_TOKEN_FILE: '/t' }, 'p');
    assert.deepEqual(s.token, { kind: 'file', path: '/t', key: 'K3S_TOKEN_FILE' });
  });

  test('given no server URL, then the error names the option and K3S_URL', () => {
    assert.throws(
      () => resolveDockerSettings(poolOf(), { K3S_TOKEN: 't' }, 'autoscaler.pools[0]'),
      (e) =>
        configError('autoscaler.pools[0].provider_options.server_url')(e) &&
        /K3S_URL/.test((e as Error).message),
    );
    assert.throws(
      () => resolveDockerSettings(poolOf(), { K3S_URL: 'http://k3s:6443', K3S_TOKEN: 't' }, 'p'),
      configError('K3S_URL'),
    );
  });

  test('given no token, then the error names token_file and the variables, and shows no secret', () => {
    assert.throws(
      () => resolveDockerSettings(poolOf(), { K3S_URL: 'https://k3s:6443' }, 'autoscaler.pools[2]'),
      (e) =>
        configError('autoscaler.pools[2].provider_options.token_file')(e) &&
        /K3S_TOKEN_FILE or K3S_TOKEN/.test((e as Error).message),
    );
  });

  test('given a node label the kubelet may not set, then the error names it', () => {
    assert.throws(
      () =>
        resolveDockerSettings(
          poolOf({ node_labels: { 'node-role.kubernetes.io/worker': 'true' } }),
          env,
          'p',
        ),
      configError('p.node_labels.node-role.kubernetes.io/worker'),
    );
    assert.ok(kubeletMaySet('node.kubernetes.io/instance-type'));
    assert.ok(kubeletMaySet('topology.kubernetes.io/zone'));
    assert.ok(kubeletMaySet('kubernetes.io/arch'));
    assert.ok(kubeletMaySet('team'));
    assert.ok(kubeletMaySet('example.com/tier'));
    assert.ok(!kubeletMaySet('kubernetes.io/role'));
    assert.ok(!kubeletMaySet('foo.k8s.io/x'));
  });

  test('given options that bypassed the config schema, then the error names the key', () => {
    const pool = { ...poolOf(), provider_options: { ulimits: { nofile: { soft: 10, hard: 5 } } } };
    assert.throws(
      () => resolveDockerSettings(pool, env, 'p'),
      configError('p.provider_options.ulimits.nofile.soft'),
    );
  });
});

describe('the container of a worker', () => {
  const pool = poolOf({
    node_labels: { tier: 'batch' },
    provider_options: {
      node_taints: ['dedicated=batch:NoSchedule'],
      extra_args: ['--kubelet-arg=max-pods=50'],
      env: { HTTP_PROXY: 'http://proxy:3128' },
      labels: { team: 'infra' },
      volumes: ['/lib/modules:/lib/modules:ro'],
      ulimits: { nofile: { soft: 1024, hard: 4096 } },
    },
  });
  const s = resolveDockerSettings(pool, { ...env, DOCKER_NETWORK: 'scalewise' }, 'p');

  test('is named by the prefix and the node', () => {
    assert.equal(containerName(s, 'workers-abc-1'), 'k3s-worker-workers-abc-1');
  });

  test('runs k3s agent as the node, with the pool label, labels, taints and extra flags', () => {
    const body = containerSpec(pool, 'workers-abc-1', 'decision-1', s, 's3cret');
    assert.deepEqual(body.Cmd, [
      'agent',
      '--node-name',
      'workers-abc-1',
      '--node-label',
      'tier=batch',
      '--node-label',
      'scalewise.io/pool=workers',
      '--node-taint',
      'dedicated=batch:NoSchedule',
      '--kubelet-arg=max-pods=50',
    ]);
    assert.equal(body.Image, DEFAULT_K3S_AGENT_IMAGE);
    assert.equal(body.Hostname, 'workers-abc-1');
    assert.deepEqual(body.Env, [
      'K3S_URL=https://k3s:6443',
      'K3S_TOKEN=s3cret',
      'HTTP_PROXY=http://proxy:3128',
    ]);
    assert.deepEqual(body.Labels, {
      team: 'infra',
      'managed-by': 'scalewise',
      'scalewise.io/pool': 'workers',
      'scalewise.io/node': 'workers-abc-1',
      'scalewise.io/action-id': 'decision-1',
    });
    assert.equal(body.StopTimeout, 30);
  });

  test('is privileged with tmpfs /run and /var/run, on the network, restarted unless stopped', () => {
    const body = containerSpec(pool, 'workers-abc-1', 'decision-1', s, 's3cret');
    assert.deepEqual(body.HostConfig, {
      Privileged: true,
      Tmpfs: { '/run': '', '/var/run': '' },
      Binds: ['/lib/modules:/lib/modules:ro'],
      NetworkMode: 'scalewise',
      RestartPolicy: { Name: 'unless-stopped' },
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 4096 }],
    });
  });

  test("given defaults and no network, then k3s's ulimits and the engine's default network", () => {
    const plain = poolOf();
    const body = containerSpec(plain, 'n1', 'a', resolveDockerSettings(plain, env, 'p'), 't');
    const host = body.HostConfig as Record<string, unknown>;
    assert.equal(host.NetworkMode, undefined);
    assert.equal(host.Binds, undefined);
    assert.deepEqual(host.Ulimits, [
      { Name: 'nofile', Soft: 65535, Hard: 65535 },
      { Name: 'nproc', Soft: 65535, Hard: 65535 },
    ]);
  });
});

describe("a worker of a pool's template", () => {
  test('carries the pool taints before the provider_options ones, and its zone as a node label', () => {
    // Given a pool with node_taints and a provider_options taint
    const pool = poolOf({
      node_taints: [
        { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' },
        { key: 'spot', effect: 'NoExecute' },
      ],
      provider_options: { node_taints: ['dedicated=batch:NoSchedule'] },
      zones: ['z1'],
    });
    // When the container of a worker in zone z1 is made
    const body = containerSpec(pool, 'w-1', 'a', resolveDockerSettings(pool, env, 'p'), 't', 'z1');
    // Then the agent registers the node with the zone label and every taint
    assert.deepEqual(body.Cmd, [
      'agent',
      '--node-name',
      'w-1',
      '--node-label',
      'topology.kubernetes.io/zone=z1',
      '--node-label',
      'scalewise.io/pool=workers',
      '--node-taint',
      'nvidia.com/gpu=true:NoSchedule',
      '--node-taint',
      'spot:NoExecute',
      '--node-taint',
      'dedicated=batch:NoSchedule',
    ]);
    assert.equal((body.Labels as Record<string, string>)['scalewise.io/zone'], 'z1');
  });

  test('new workers go to the zone with the fewest workers of the pool, counting those just made', async () => {
    // Given a pool over z1, z2 with one worker in z1 and one going away in z2
    const pool = poolOf({ zones: ['z1', 'z2'] });
    const labels = (node: string, zone: string) => ({
      'managed-by': 'scalewise',
      'scalewise.io/pool': 'workers',
      'scalewise.io/node': node,
      'scalewise.io/zone': zone,
    });
    const made = new Map<string, string[]>();
    const docker = {
      endpoint: { kind: 'unix', path: '/var/run/docker.sock' },
      async listContainers() {
        return [
          { Id: '1', Labels: labels('w-1', 'z1'), State: 'running' },
          { Id: '2', Labels: labels('w-2', 'z2'), State: 'removing' },
        ];
      },
      async imageExists() {
        return true;
      },
      async createContainer(name: string, body: { Cmd: string[] }) {
        made.set(name, body.Cmd);
        return { kind: 'created', id: name };
      },
      async startContainer() {},
    } as unknown as DockerApi;
    // When three workers are created at once
    await dockerProvider({ docker, pools: [pool], env }).create(pool, ['w-3', 'w-4', 'w-5'], 'a');
    // Then z2 (empty), then z1 (tie, listed first), then z2
    const zoneOf = (n: string) =>
      made.get(`k3s-worker-${n}`)?.find((a) => a.startsWith('topology.kubernetes.io/zone='));
    assert.deepEqual(['w-3', 'w-4', 'w-5'].map(zoneOf), [
      'topology.kubernetes.io/zone=z2',
      'topology.kubernetes.io/zone=z1',
      'topology.kubernetes.io/zone=z2',
    ]);
  });
});

describe('containers seen from the engine', () => {
  test('a listed container is an instance of its node, alive while running', () => {
    const running = {
      Id: 'abc',
      Labels: { 'scalewise.io/node': 'n1' },
      State: 'running',
      Created: 1700000000,
    };
    assert.deepEqual(instanceOf(running), {
      id: 'docker://abc',
      node: 'n1',
      alive: true,
      createdAt: 1700000000000,
    });
    assert.equal(instanceOf({ ...running, State: 'exited' }).alive, false);
  });

  test('a container without our label, or of another pool, is not ours', () => {
    const ours = {
      Id: 'x',
      Config: { Labels: { 'managed-by': 'scalewise', 'scalewise.io/pool': 'workers' } },
    };
    assert.equal(notOurs(ours, 'workers'), undefined);
    assert.match(notOurs(ours, 'gpu') ?? '', /belongs to pool 'workers'/);
    assert.match(notOurs({ Id: 'y', Config: { Labels: null } }, 'workers') ?? '', /no managed-by=scalewise/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dockerOptionsSchema, loadConfig } from './index.ts';
import { assertNamesOptions, invalidConfig, poolWithOptions } from './test-support.ts';

const pool = (options: string, provider = 'docker') => poolWithOptions('workers', provider, options);
const problems = (text: string) => invalidConfig(() => loadConfig({ text, env: {} })).problems;

describe('docker provider options', () => {
  test('given no options, when loaded, then every default is the documented one', () => {
    const c = loadConfig({
      text: 'autoscaler:\n  pools:\n    - name: workers\n      provider: docker\n',
      env: {},
    });
    const o = dockerOptionsSchema.parse(c.config.autoscaler.pools[0]?.provider_options);
    assert.deepEqual(o, {
      pull: 'missing',
      container_name_prefix: 'k3s-worker-',
      privileged: true,
      tmpfs: ['/run', '/var/run'],
      volumes: [],
      ulimits: { nofile: { soft: 65535, hard: 65535 }, nproc: { soft: 65535, hard: 65535 } },
      env: {},
      labels: {},
      node_taints: [],
      extra_args: [],
      stop_timeout_seconds: 30,
      restart_policy: 'unless-stopped',
      delete_node: true,
    });
  });

  test('given every option, when loaded, then accepted as written', () => {
    const c = loadConfig({
      text: pool(`
image: rancher/k3s:v1.36.4-k3s1
pull: never
server_url: https://k3s:6443
token_file: /run/secrets/k3s-token
network: scalewise
container_name_prefix: agent-
privileged: true
tmpfs: [/run]
volumes: ["/lib/modules:/lib/modules:ro"]
ulimits: { nofile: { soft: 1024, hard: 2048 } }
env: { HTTP_PROXY: "http://proxy:3128", RETRIES: 3 }
labels: { team: infra }
node_taints: ["dedicated=batch:NoSchedule", "spot:PreferNoSchedule"]
extra_args: ["--kubelet-arg=max-pods=50"]
stop_timeout_seconds: 10
restart_policy: always
delete_node: false
`),
      env: {},
    });
    const o = dockerOptionsSchema.parse(c.config.autoscaler.pools[0]?.provider_options);
    assert.equal(o.image, 'rancher/k3s:v1.36.4-k3s1');
    assert.equal(o.env.RETRIES, '3');
    assert.deepEqual(o.node_taints, ['dedicated=batch:NoSchedule', 'spot:PreferNoSchedule']);
  });

  test('given mistakes, when loaded, then each problem names its key', () => {
    const keys = problems(
      pool(`
server_url: http://k3s:6443
pull: sometimes
ulimits: { nofile: { soft: 10, hard: 5 } }
env: { K3S_TOKEN: leaked }
labels: { managed-by: me }
node_taints: [nocolon]
extra_args: ["--token=abc"]
tmpfs: [run]
volumes: [nodest]
stop_timeout_seconds: -1
imagee: typo
`),
    ).map((p) => p.key);
    assertNamesOptions(keys, [
      'server_url',
      'pull',
      'ulimits.nofile.soft',
      'env.K3S_TOKEN',
      'labels.managed-by',
      'node_taints[0]',
      'extra_args[0]',
      'tmpfs[0]',
      'volumes[0]',
      'stop_timeout_seconds',
    ]);
  });

  test('given the k3s-docker alias, then its options are checked the same way', () => {
    const keys = problems(pool('pull: sometimes', 'k3s-docker')).map((p) => p.key);
    assert.deepEqual(keys, ['autoscaler.pools[0].provider_options.pull']);
  });

  test('given a kwok pool, then its provider_options stay free', () => {
    const c = loadConfig({ text: pool('anything: goes', 'kwok'), env: {} });
    assert.deepEqual(c.config.autoscaler.pools[0]?.provider_options, { anything: 'goes' });
  });
});

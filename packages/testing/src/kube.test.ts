import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KWOK_NODE_KEY, KWOK_NODE_VALUE, kubeConfigPath, simulatedNodeManifest } from './kube.ts';

const POOL_LABEL = 'scalewise.io/pool';

describe('simulatedNodeManifest', () => {
  test('a node handed to kwok: its selector label, its annotation and providerID kwok://<name>', () => {
    const node = simulatedNodeManifest({ name: 'sim-1' });

    assert.equal(node.apiVersion, 'v1');
    assert.equal(node.kind, 'Node');
    assert.equal(node.metadata?.name, 'sim-1');
    assert.equal(node.metadata?.labels?.[KWOK_NODE_KEY], 'fake');
    assert.equal(KWOK_NODE_KEY, 'kwok.x-k8s.io/node');
    assert.equal(KWOK_NODE_VALUE, 'fake');
    assert.equal(node.metadata?.annotations?.['kwok.x-k8s.io/node'], 'fake');
    assert.equal(node.spec?.providerID, 'kwok://sim-1');
  });

  test('the well-known labels: type=kwok, hostname = name, linux/amd64', () => {
    const labels = simulatedNodeManifest({ name: 'sim-1' }).metadata?.labels;

    assert.deepEqual(labels, {
      type: 'kwok',
      'kwok.x-k8s.io/node': 'fake',
      'kubernetes.io/hostname': 'sim-1',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
    });
  });

  test('a pool label and other extra labels are added beside the fixed ones', () => {
    const labels = simulatedNodeManifest({
      name: 'sim-1',
      labels: { [POOL_LABEL]: 'batch', 'node.kubernetes.io/instance-type': 'kwok-4x16' },
    }).metadata?.labels;

    assert.equal(labels?.[POOL_LABEL], 'batch');
    assert.equal(labels?.['node.kubernetes.io/instance-type'], 'kwok-4x16');
    assert.equal(labels?.[KWOK_NODE_KEY], 'fake');
    assert.equal(labels?.type, 'kwok');
  });

  test('extra labels and annotations cannot take the node away from kwok or rename its host', () => {
    const node = simulatedNodeManifest({
      name: 'sim-1',
      labels: { [KWOK_NODE_KEY]: 'real', type: 'metal', 'kubernetes.io/hostname': 'other' },
      annotations: { [KWOK_NODE_KEY]: 'real', 'scalewise.io/owner': 'test' },
    });

    assert.equal(node.metadata?.labels?.[KWOK_NODE_KEY], 'fake');
    assert.equal(node.metadata?.labels?.type, 'kwok');
    assert.equal(node.metadata?.labels?.['kubernetes.io/hostname'], 'sim-1');
    assert.deepEqual(node.metadata?.annotations, { [KWOK_NODE_KEY]: 'fake', 'scalewise.io/owner': 'test' });
  });

  test('defaults: 4 CPU, 16Gi memory, 110 pods, allocatable equal to capacity', () => {
    const status = simulatedNodeManifest({ name: 'sim-1' }).status;

    assert.deepEqual(status?.capacity, { cpu: '4', memory: '16Gi', pods: '110' });
    assert.deepEqual(status?.allocatable, { cpu: '4', memory: '16Gi', pods: '110' });
  });

  test('numbers become quantity strings and quantity strings are kept as given', () => {
    const whole = simulatedNodeManifest({ name: 'sim-1', cpu: 8, memory: '32Gi', pods: 30 }).status;
    const milli = simulatedNodeManifest({ name: 'sim-2', cpu: '1500m', memory: '512Mi', pods: '7' }).status;

    assert.deepEqual(whole?.capacity, { cpu: '8', memory: '32Gi', pods: '30' });
    assert.deepEqual(whole?.allocatable, { cpu: '8', memory: '32Gi', pods: '30' });
    assert.deepEqual(milli?.capacity, { cpu: '1500m', memory: '512Mi', pods: '7' });
    assert.deepEqual(milli?.allocatable, { cpu: '1500m', memory: '512Mi', pods: '7' });
  });

  test('capacity and allocatable are separate objects', () => {
    const status = simulatedNodeManifest({ name: 'sim-1' }).status;
    assert.ok(status?.capacity && status.allocatable);

    status.allocatable.cpu = '3';

    assert.equal(status.capacity.cpu, '4');
  });

  test('taints are set as given', () => {
    const taints = [
      { key: 'scalewise.io/gpu', value: 'true', effect: 'NoSchedule' },
      { key: 'dedicated', effect: 'NoExecute' },
    ];

    assert.deepEqual(simulatedNodeManifest({ name: 'sim-1', taints }).spec?.taints, taints);
  });

  test('no taints field without taints, nor with an empty list', () => {
    assert.equal('taints' in (simulatedNodeManifest({ name: 'sim-1' }).spec ?? {}), false);
    assert.equal('taints' in (simulatedNodeManifest({ name: 'sim-1', taints: [] }).spec ?? {}), false);
  });

  test('a 63-character name is accepted', () => {
    const name = `a${'-'.repeat(61)}z`;

    assert.equal(simulatedNodeManifest({ name }).metadata?.name, name);
  });

  for (const [what, name] of [
    ['an empty name', ''],
    ['an upper-case name', 'Sim-1'],
    ['a name with a leading dash', '-sim'],
    ['a name with a trailing dash', 'sim-'],
    ['a name with an underscore', 'sim_1'],
    ['a dotted name (no valid hostname label value)', 'sim.example'],
    ['a 64-character name', 'a'.repeat(64)],
  ] as const) {
    test(`${what} is refused, and the error names it`, () => {
      assert.throws(
        () => simulatedNodeManifest({ name }),
        (err: Error) => err.message.includes(`'${name}'`) && err.message.includes('DNS label'),
      );
    });
  }
});

describe('kubeConfigPath', () => {
  test('SCALEWISE_KUBECONFIG wins over everything', () => {
    assert.equal(
      kubeConfigPath({ SCALEWISE_KUBECONFIG: '/k/config', SCALEWISE_RUN_DIR: '/run', HOME: '/h' }),
      '/k/config',
    );
  });

  test('the run dir, then the scalewise home, then ~/.cache/scalewise', () => {
    assert.equal(
      kubeConfigPath({ SCALEWISE_RUN_DIR: '/r', SCALEWISE_HOME: '/s' }),
      join('/r', 'k8s', 'admin.kubeconfig'),
    );
    assert.equal(
      kubeConfigPath({ SCALEWISE_HOME: '/s', HOME: '/h' }),
      join('/s', 'run', 'k8s', 'admin.kubeconfig'),
    );
    assert.equal(
      kubeConfigPath({ HOME: '/h' }),
      join('/h', '.cache', 'scalewise', 'run', 'k8s', 'admin.kubeconfig'),
    );
  });

  test('a plain KUBECONFIG is ignored: it may point at a real cluster', () => {
    assert.equal(
      kubeConfigPath({ KUBECONFIG: '/prod/config', HOME: '/h' }),
      join('/h', '.cache', 'scalewise', 'run', 'k8s', 'admin.kubeconfig'),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeconfigWithServer } from './k3s.ts';

// The shape of the /etc/rancher/k3s/k3s.yaml k3s writes (the data fields shortened).
const K3S_YAML = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EtREFUQQ==
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Q0VSVC1EQVRB
    client-key-data: S0VZLURBVEE=
`;

const load = (text: string): KubeConfig => {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return kc;
};

describe('kubeconfigWithServer', () => {
  test('points the cluster at the mapped port and keeps its CA', () => {
    const kc = load(kubeconfigWithServer(K3S_YAML, 'https://127.0.0.1:32771'));

    assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:32771');
    assert.equal(kc.getCurrentCluster()?.caData, 'Q0EtREFUQQ==');
  });

  test('keeps the user, its client certificate and the current context', () => {
    const kc = load(kubeconfigWithServer(K3S_YAML, 'https://k3s:6443'));

    assert.equal(kc.getCurrentContext(), 'default');
    assert.deepEqual(
      kc.getCurrentUser() && {
        name: kc.getCurrentUser()?.name,
        certData: kc.getCurrentUser()?.certData,
        keyData: kc.getCurrentUser()?.keyData,
      },
      { name: 'default', certData: 'Q0VSVC1EQVRB', keyData: 'S0VZLURBVEE=' },
    );
  });

  test('refuses a text that names no cluster', () => {
    assert.throws(
      () => kubeconfigWithServer('apiVersion: v1\nkind: Config\nclusters: []\n', 'https://127.0.0.1:1'),
      /names no cluster/,
    );
  });
});

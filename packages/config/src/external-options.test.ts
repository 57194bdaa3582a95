import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { externalOptionsSchema, loadConfig } from './index.ts';
import { assertNamesOptions, invalidConfig, poolWithOptions } from './test-support.ts';

const pool = (options: string, provider = 'external') => poolWithOptions('vms', provider, options);
const problems = (text: string) => invalidConfig(() => loadConfig({ text, env: {} })).problems;

describe('external provider options', () => {
  test('given only a url, when loaded, then every default is the documented one', () => {
    const c = loadConfig({ text: pool('url: https://provisioner.infra:8443/v1'), env: {} });
    const o = externalOptionsSchema.parse(c.config.autoscaler.pools[0]?.provider_options);
    assert.deepEqual(o, { url: 'https://provisioner.infra:8443/v1', timeout_seconds: 10, parameters: {} });
  });

  test('given every option, when loaded, then accepted as written', () => {
    const c = loadConfig({
      text: pool(`
url: https://provisioner.infra:8443
token_file: /run/secrets/provisioner-token
ca_file: /run/secrets/provisioner-ca.pem
timeout_seconds: 2.5
instance_type: cx32
parameters: { image: debian-13, network: k3s }
`),
      env: {},
    });
    const o = externalOptionsSchema.parse(c.config.autoscaler.pools[0]?.provider_options);
    assert.equal(o.timeout_seconds, 2.5);
    assert.equal(o.instance_type, 'cx32');
    assert.deepEqual(o.parameters, { image: 'debian-13', network: 'k3s' });
  });

  test('given no url, when loaded, then the problem names provider_options.url', () => {
    const keys = problems(pool('timeout_seconds: 5')).map((p) => p.key);
    assert.deepEqual(keys, ['autoscaler.pools[0].provider_options.url']);
  });

  test('given mistakes, when loaded, then each problem names its key', () => {
    const keys = problems(
      pool(`
url: ftp://provisioner
token_file: ""
timeout_seconds: 0
parameters: { image: 3 }
regionn: typo
`),
    ).map((p) => p.key);
    assertNamesOptions(keys, ['url', 'token_file', 'timeout_seconds', 'parameters.image']);
  });

  test('given a CA file with an http url, then the problem names ca_file', () => {
    const keys = problems(pool('url: http://provisioner:8080\nca_file: /ca.pem')).map((p) => p.key);
    assert.deepEqual(keys, ['autoscaler.pools[0].provider_options.ca_file']);
  });

  test('given the removed cloud provider, when loaded, then refused naming the key', () => {
    const keys = problems('autoscaler:\n  pools:\n    - name: vms\n      provider: cloud\n').map(
      (p) => p.key,
    );
    assert.deepEqual(keys, ['autoscaler.pools[0].provider']);
  });
});

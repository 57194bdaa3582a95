import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, podsOptionsSchema } from './index.ts';
import { invalidConfig, poolWithOptions } from './test-support.ts';

const pool = (options: string) => poolWithOptions('otto', 'pods', options);
const problems = (text: string) => invalidConfig(() => loadConfig({ text, env: {} })).problems;

describe('pods provider options', () => {
  test('given an image only, when loaded, then every default is the documented one', () => {
    const c = loadConfig({ text: pool('image: busybox:1.36'), env: {} });
    const p = c.config.autoscaler.pools[0];
    assert.equal(p?.provider, 'pods');
    const o = podsOptionsSchema.parse(p?.provider_options);
    assert.deepEqual(o, {
      namespace: 'default',
      image: 'busybox:1.36',
      container_name: 'worker',
      env: {},
      resources: { requests: {}, limits: {} },
      labels: {},
      annotations: {},
      node_selector: {},
      tolerations: [],
      restart_policy: 'Never',
      cleanup: { succeeded_after_seconds: 0, failed_after_seconds: 300 },
    });
  });

  test('given every option, when parsed, then quantities become strings and env values strings', () => {
    const o = podsOptionsSchema.parse({
      namespace: 'otto',
      image: 'otto/agent:2',
      image_pull_policy: 'IfNotPresent',
      command: ['sh', '-c'],
      args: ['run-task'],
      env: { LOG_LEVEL: 'debug', WORKERS: 4, VERBOSE: true },
      resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: 1, memory: '256Mi' } },
      service_account: 'otto-agent',
      labels: { team: 'ci', 'example.com/tier': 'batch' },
      node_selector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'otto', effect: 'NoSchedule' }],
      restart_policy: 'OnFailure',
      active_deadline_seconds: 3600,
      cleanup: { succeeded_after_seconds: 10, failed_after_seconds: 600 },
    });
    assert.deepEqual(o.env, { LOG_LEVEL: 'debug', WORKERS: '4', VERBOSE: 'true' });
    assert.deepEqual(o.resources.limits, { cpu: '1', memory: '256Mi' });
    assert.equal(o.restart_policy, 'OnFailure');
  });

  test('given a pods pool without an image, when loaded, then the error names provider_options.image', () => {
    const ps = problems(pool('namespace: otto'));
    assert.deepEqual(
      ps.map((p) => p.key),
      ['autoscaler.pools[0].provider_options.image'],
    );
  });

  test('given bad values, when loaded, then each problem names its key', () => {
    const ps = problems(
      pool(`
image: busybox
namespace: Not_A_Label
resources:
  requests: { cpu: "lots", memory: 512Mi }
  limits: { memory: 256Mi }
env: { TASK_ID: "x" }
labels: { managed-by: me, "bad key!": v }
restart_policy: Always
cleanup: { failed_after: 3 }
surprise: 1
`),
    );
    const keys = ps.map((p) => p.key).sort();
    assert.deepEqual(keys, [
      'autoscaler.pools[0].provider_options',
      'autoscaler.pools[0].provider_options.cleanup',
      'autoscaler.pools[0].provider_options.env.TASK_ID',
      'autoscaler.pools[0].provider_options.labels.bad key!',
      'autoscaler.pools[0].provider_options.labels.managed-by',
      'autoscaler.pools[0].provider_options.namespace',
      'autoscaler.pools[0].provider_options.resources.requests.cpu',
      'autoscaler.pools[0].provider_options.restart_policy',
    ]);
    const byKey = new Map(ps.map((p) => [p.key, p.message]));
    assert.match(byKey.get('autoscaler.pools[0].provider_options') ?? '', /surprise/);
    assert.match(byKey.get('autoscaler.pools[0].provider_options.env.TASK_ID') ?? '', /set by node-manager/);
    assert.match(byKey.get('autoscaler.pools[0].provider_options.restart_policy') ?? '', /Never/);
  });

  test('given a request above its limit, when parsed, then the request is named', () => {
    const r = podsOptionsSchema.safeParse({
      image: 'x',
      resources: { requests: { memory: '1Gi', cpu: '500m' }, limits: { memory: '512Mi', cpu: '1' } },
    });
    assert.equal(r.success, false);
    assert.deepEqual(
      r.error?.issues.map((i) => i.path.join('.')),
      ['resources.requests.memory'],
    );
  });

  test('given a kwok pool, when loaded, then its provider_options stay free-form', () => {
    const c = loadConfig({
      text: 'autoscaler:\n  pools:\n    - name: w\n      provider_options: { anything: [1, 2] }\n',
      env: {},
    });
    assert.deepEqual(c.config.autoscaler.pools[0]?.provider_options, { anything: [1, 2] });
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from './index.ts';
import { invalidConfig } from './test-support.ts';

const load = (text: string) => loadConfig({ text, env: {}, readFile: () => '' }).config;
const problems = (text: string) => invalidConfig(() => load(text)).problems;
const pool = (prometheus: string) => `
autoscaler:
  sensing:
    utilization_source: auto
  pools:
    - name: workers
      metrics:
        prometheus:
${prometheus}
`;

describe('pools[].metrics.prometheus', () => {
  test('Given server, query and threshold, Then the KEDA defaults fill the rest', () => {
    const c = load(
      pool(
        '          server_address: http://prometheus:9090\n          query: sum(queue_depth)\n          threshold: 100',
      ),
    );
    assert.deepEqual(c.autoscaler.pools[0]?.metrics.prometheus, {
      server_address: 'http://prometheus:9090',
      query: 'sum(queue_depth)',
      threshold: 100,
      activation_threshold: 0,
      metric_type: 'AverageValue',
      ignore_null_values: true,
      timeout_seconds: 5,
      name: 'prometheus',
      headers: {},
    });
    assert.equal(c.autoscaler.sensing.metrics_api_recheck_seconds, 60);
  });

  test('a pool without it has none', () => {
    const c = load('autoscaler:\n  pools:\n    - name: workers\n');
    assert.equal(c.autoscaler.pools[0]?.metrics.prometheus, undefined);
    assert.equal(c.autoscaler.sensing.utilization_source, 'auto');
  });

  test('errors name the key: a non-http address, an empty query, a threshold of 0, an unknown key', () => {
    const list = problems(
      pool(
        '          server_address: ftp://prometheus\n          query: "  "\n          threshold: 0\n          activation_threshold: -1\n          metric_type: Average\n          treshold: 5',
      ),
    );
    const at = 'autoscaler.pools[0].metrics.prometheus';
    const keys = list.map((p) => p.key).sort();
    for (const k of ['server_address', 'query', 'threshold', 'activation_threshold', 'metric_type']) {
      assert.ok(keys.includes(`${at}.${k}`), `names ${at}.${k} (got ${keys.join(', ')})`);
    }
    // The misspelt key is named too (strict object).
    assert.ok(list.some((p) => p.key.startsWith(at) && /treshold/.test(`${p.key} ${p.message}`)));
  });

  test('a query string in the server address is refused: the query goes in query', () => {
    const list = problems(
      pool(
        '          server_address: http://p:9090/api/v1/query?query=up\n          query: up\n          threshold: 1',
      ),
    );
    assert.deepEqual(
      list.map((p) => p.key),
      ['autoscaler.pools[0].metrics.prometheus.server_address'],
    );
  });
});

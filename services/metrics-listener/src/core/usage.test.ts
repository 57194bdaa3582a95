import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNodeMetricsList } from './usage.ts';

describe('parseNodeMetricsList', () => {
  test('Given what metrics-server answers, Then millicores and bytes per node', () => {
    const { usage, skipped } = parseNodeMetricsList({
      kind: 'NodeMetricsList',
      apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: {},
      items: [
        {
          metadata: { name: 'a' },
          timestamp: '2026-11-23T10:42:48Z',
          window: '9.985s',
          usage: { cpu: '3000292186n', memory: '2Gi' },
        },
        { metadata: { name: 'b' }, usage: { cpu: '250m', memory: '1536Ki' } },
        { metadata: { name: 'c' }, usage: { cpu: '2', memory: '1e9' } },
      ],
    });
    assert.deepEqual(skipped, []);
    // Rounded up to whole millicores, as requests are.
    assert.deepEqual(usage.get('a'), {
      cpuMillicores: 3001,
      memoryBytes: 2 * 2 ** 30,
      at: Date.parse('2026-11-23T10:42:48Z'),
    });
    assert.deepEqual(usage.get('b'), { cpuMillicores: 250, memoryBytes: 1536 * 1024 });
    assert.deepEqual(usage.get('c'), { cpuMillicores: 2000, memoryBytes: 1e9 });
  });

  test('a bad item is skipped with its reason, the others are kept', () => {
    const { usage, skipped } = parseNodeMetricsList({
      items: [
        { metadata: { name: 'ok' }, usage: { cpu: '1', memory: '1Mi' } },
        { metadata: { name: 'junk' }, usage: { cpu: 'lots', memory: '1Mi' } },
        { metadata: { name: 'half' }, usage: { cpu: '1' } },
        { usage: { cpu: '1', memory: '1' } },
      ],
    });
    assert.deepEqual([...usage.keys()], ['ok']);
    assert.deepEqual(
      skipped.map((s) => s.name),
      ['junk', 'half', ''],
    );
    assert.match(skipped[0]?.reason ?? '', /'lots' is not a Kubernetes quantity/);
  });

  test('a body that is not a list throws', () => {
    assert.throws(() => parseNodeMetricsList({ kind: 'Status', code: 503 }), /not a NodeMetricsList/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster } from '../cluster.ts';
import { podFitsNode } from '../filter.ts';
import { node, pod } from '../fixtures.ts';

describe('node unschedulable predicate', () => {
  test('a cordoned node takes no new pod, even one that tolerates everything', () => {
    const c = new Cluster({ nodes: [node('n1', { unschedulable: true }), node('n2')], pods: [] });
    const p = pod('p', { tolerations: [{ operator: 'Exists' }] });
    assert.deepEqual(podFitsNode(c, p, 'n1'), {
      predicate: 'node_unschedulable',
      message: 'node n1 is cordoned (unschedulable)',
    });
    assert.equal(podFitsNode(c, p, 'n2'), undefined);
  });
});

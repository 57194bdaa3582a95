import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster } from '../cluster.ts';
import { podFitsNode, podFitsTemplate } from '../filter.ts';
import { bound, GiB, node, pod, template } from '../fixtures.ts';

describe('resources predicate', () => {
  test('given 2500m used of 4000m, a 2500m pod fails naming cpu, request, free and allocatable', () => {
    const c = new Cluster({ nodes: [node('n1')], pods: [bound('a', 'n1', { requests: { cpu: 2500 } })] });
    assert.deepEqual(podFitsNode(c, pod('b', { requests: { cpu: 2500 } }), 'n1'), {
      predicate: 'resources',
      message: 'insufficient cpu: requests 2500m, 1500m free of 4000m',
    });
    assert.equal(podFitsNode(c, pod('b', { requests: { cpu: 1500 } }), 'n1'), undefined);
  });

  test('memory, ephemeral-storage and extended resources are each checked; a resource the node lacks is 0', () => {
    const c = new Cluster({
      nodes: [node('n1', { allocatable: { cpu: 4000, memory: 2 * GiB, 'ephemeral-storage': 10 * GiB } })],
      pods: [],
    });
    assert.match(
      podFitsNode(c, pod('m', { requests: { memory: 3 * GiB } }), 'n1')!.message,
      /insufficient memory: requests 3Gi, 2Gi free of 2Gi/,
    );
    assert.match(
      podFitsNode(c, pod('e', { requests: { 'ephemeral-storage': 11 * GiB } }), 'n1')!.message,
      /insufficient ephemeral-storage/,
    );
    assert.match(
      podFitsNode(c, pod('g', { requests: { 'nvidia.com/gpu': 1 } }), 'n1')!.message,
      /insufficient nvidia.com\/gpu: requests 1, 0 free of 0/,
    );
  });

  test('each pod takes one of the node pods; a node without pods allocatable holds 110', () => {
    const full = new Cluster({
      nodes: [node('n1', { allocatable: { cpu: 4000, memory: GiB, pods: 1 } })],
      pods: [bound('a', 'n1', { requests: {} })],
    });
    assert.deepEqual(podFitsNode(full, pod('b', { requests: {} }), 'n1'), {
      predicate: 'resources',
      message: 'too many pods: 1 of 1 in use',
    });
    const pods = Array.from({ length: 110 }, (_, i) => bound(`p${i}`, 'n1', { requests: {} }));
    const dflt = new Cluster({ nodes: [node('n1', { allocatable: { cpu: 4000, memory: GiB } })], pods });
    assert.equal(
      podFitsNode(dflt, pod('x', { requests: {} }), 'n1')?.message,
      'too many pods: 110 of 110 in use',
    );
  });

  test('a template is checked as an empty node', () => {
    assert.equal(podFitsTemplate(pod('p', { requests: { cpu: 4000 } }), template('a')), undefined);
    assert.equal(
      podFitsTemplate(pod('p', { requests: { cpu: 4001 } }), template('a'))?.predicate,
      'resources',
    );
  });
});

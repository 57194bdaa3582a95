import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster } from '../cluster.ts';
import { podFitsNode } from '../filter.ts';
import { bound, node, pod, zoned } from '../fixtures.ts';
import { type TopologySpreadConstraint, ZONE_LABEL } from '../types.ts';

const web = { labels: { app: 'web' } };
const spread = (over: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew: 1,
  topologyKey: ZONE_LABEL,
  whenUnsatisfiable: 'DoNotSchedule',
  labelSelector: { matchLabels: { app: 'web' } },
  ...over,
});
const nodes = [
  node('a', { labels: zoned('z1') }),
  node('b', { labels: zoned('z2') }),
  node('c', { labels: zoned('z3') }),
];
const incoming = (over: Partial<TopologySpreadConstraint> = {}, extra = {}) =>
  pod('web-new', { ...web, topologySpread: [spread(over)], ...extra });

describe('topology spread predicate', () => {
  test('count in the domain + 1 - global min above maxSkew fails, naming zone and skew', () => {
    const c = new Cluster({ nodes, pods: [bound('w1', 'a', web)] });
    assert.deepEqual(podFitsNode(c, incoming(), 'a'), {
      predicate: 'topology_spread',
      message: 'topology spread: zone z1 would have skew 2 > maxSkew 1 (app=web)',
    });
    assert.equal(podFitsNode(c, incoming(), 'b'), undefined);
    assert.equal(podFitsNode(c, incoming({ maxSkew: 2 }), 'a'), undefined);
  });

  test('ScheduleAnyway is a preference and ignored', () => {
    const c = new Cluster({ nodes, pods: [bound('w1', 'a', web)] });
    assert.equal(podFitsNode(c, incoming({ whenUnsatisfiable: 'ScheduleAnyway' }), 'a'), undefined);
  });

  test('only pods of the namespace matching the selector count', () => {
    const c = new Cluster({
      nodes,
      pods: [bound('w1', 'a', { ...web, namespace: 'other' }), bound('x', 'a', { labels: { app: 'x' } })],
    });
    assert.equal(podFitsNode(c, incoming(), 'a'), undefined);
  });

  test('a node without the key cannot take the pod, and its domain does not count', () => {
    const c = new Cluster({ nodes: [...nodes, node('bare', { labels: {} })], pods: [] });
    assert.equal(
      podFitsNode(c, incoming(), 'bare')?.message,
      `topology spread: node lacks label ${ZONE_LABEL}`,
    );
  });

  test('nodeAffinityPolicy Honor (default): domains of nodes the pod cannot select are not eligible', () => {
    // z3's node is not selectable: min over z1, z2 is 1, so z1 may take a second pod.
    const c = new Cluster({ nodes, pods: [bound('w1', 'a', web), bound('w2', 'b', web)] });
    const selecting = {
      nodeAffinity: [{ matchExpressions: [{ key: ZONE_LABEL, operator: 'In', values: ['z1', 'z2'] }] }],
    };
    assert.equal(podFitsNode(c, incoming({}, selecting), 'a'), undefined);
    assert.equal(
      podFitsNode(c, incoming({ nodeAffinityPolicy: 'Ignore' }, selecting), 'a')?.predicate,
      'topology_spread',
    );
  });

  test('nodeTaintsPolicy Honor: domains of nodes with untolerated taints are not eligible', () => {
    const tainted = [
      nodes[0]!,
      nodes[1]!,
      node('c', { labels: zoned('z3'), taints: [{ key: 'gpu', effect: 'NoSchedule' }] }),
    ];
    const c = new Cluster({ nodes: tainted, pods: [bound('w1', 'a', web), bound('w2', 'b', web)] });
    assert.equal(podFitsNode(c, incoming({ nodeTaintsPolicy: 'Honor' }), 'a'), undefined);
    assert.equal(podFitsNode(c, incoming(), 'a')?.predicate, 'topology_spread', 'Ignore (default) counts z3');
  });

  test('minDomains: with fewer eligible domains than minDomains the global min is 0', () => {
    const c = new Cluster({ nodes: nodes.slice(0, 2), pods: [bound('w1', 'a', web), bound('w2', 'b', web)] });
    assert.equal(podFitsNode(c, incoming(), 'a'), undefined);
    assert.equal(
      podFitsNode(c, incoming({ minDomains: 3 }), 'a')?.message,
      'topology spread: zone z1 would have skew 2 > maxSkew 1 (app=web)',
    );
  });
});

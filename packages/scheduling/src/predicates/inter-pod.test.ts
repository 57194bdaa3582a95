import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster } from '../cluster.ts';
import { podFitsNode } from '../filter.ts';
import { bound, node, pod, zoned } from '../fixtures.ts';
import { HOSTNAME_LABEL, type PodAffinityTerm, ZONE_LABEL } from '../types.ts';

const web = { labels: { app: 'web' } };
const term = (
  app: string,
  topologyKey = HOSTNAME_LABEL,
  extra: Partial<PodAffinityTerm> = {},
): PodAffinityTerm => ({
  labelSelector: { matchLabels: { app } },
  topologyKey,
  ...extra,
});
const nodes = [
  node('n1', { labels: zoned('z1') }),
  node('n2', { labels: zoned('z1') }),
  node('n3', { labels: zoned('z2') }),
];

describe('required pod anti-affinity', () => {
  test('a matching pod in the node domain keeps the pod out, named with its domain', () => {
    const c = new Cluster({ nodes, pods: [bound('web-7f9', 'n1', web)] });
    const p = pod('web-2', { ...web, podAntiAffinity: [term('web')] });
    assert.deepEqual(podFitsNode(c, p, 'n1'), {
      predicate: 'pod_anti_affinity',
      message: `anti-affinity with default/web-7f9 (app=web) in ${HOSTNAME_LABEL}=n1`,
    });
    assert.equal(podFitsNode(c, p, 'n2'), undefined);
  });

  test('on the zone key the whole zone is out', () => {
    const c = new Cluster({ nodes, pods: [bound('web-1', 'n1', web)] });
    const p = pod('web-2', { ...web, podAntiAffinity: [term('web', ZONE_LABEL)] });
    assert.equal(podFitsNode(c, p, 'n2')?.predicate, 'pod_anti_affinity');
    assert.equal(podFitsNode(c, p, 'n3'), undefined);
  });

  test('symmetric: a bound pod anti-affinity term matching the incoming pod keeps it out of that domain', () => {
    const c = new Cluster({
      nodes,
      pods: [bound('db-1', 'n1', { labels: { app: 'db' }, podAntiAffinity: [term('web', ZONE_LABEL)] })],
    });
    const p = pod('web-1', web);
    assert.deepEqual(podFitsNode(c, p, 'n2'), {
      predicate: 'pod_anti_affinity',
      message: `anti-affinity of default/db-1 (app=web) keeps it out of ${ZONE_LABEL}=z1`,
    });
    assert.equal(podFitsNode(c, p, 'n3'), undefined);
  });

  test('terms select the owner namespace unless namespaces are listed or namespaceSelector is {}', () => {
    const c = new Cluster({ nodes, pods: [bound('web-1', 'n1', { ...web, namespace: 'other' })] });
    assert.equal(podFitsNode(c, pod('a', { podAntiAffinity: [term('web')] }), 'n1'), undefined);
    assert.equal(
      podFitsNode(
        c,
        pod('b', { podAntiAffinity: [term('web', HOSTNAME_LABEL, { namespaces: ['other'] })] }),
        'n1',
      )?.predicate,
      'pod_anti_affinity',
    );
    assert.equal(
      podFitsNode(
        c,
        pod('c', { podAntiAffinity: [term('web', HOSTNAME_LABEL, { namespaceSelector: {} })] }),
        'n1',
      )?.predicate,
      'pod_anti_affinity',
    );
  });

  test('a node without the topology key passes the anti-affinity term (as kube-scheduler does)', () => {
    const c = new Cluster({
      nodes: [...nodes, node('bare', { labels: {} })],
      pods: [bound('web-1', 'bare', web)],
    });
    assert.equal(
      podFitsNode(c, pod('web-2', { ...web, podAntiAffinity: [term('web', 'rack')] }), 'bare'),
      undefined,
    );
  });
});

describe('required pod affinity', () => {
  test('the pod must go to a domain holding a matching pod', () => {
    const c = new Cluster({ nodes, pods: [bound('cache-1', 'n3', { labels: { app: 'cache' } })] });
    const p = pod('web-1', { ...web, podAffinity: [term('cache', ZONE_LABEL)] });
    assert.equal(podFitsNode(c, p, 'n3'), undefined);
    assert.deepEqual(podFitsNode(c, p, 'n1'), {
      predicate: 'pod_affinity',
      message: `pod affinity: no pod matching (app=cache) in ${ZONE_LABEL}=z1`,
    });
  });

  test('with no matching pod anywhere, the first pod of a group that matches its own term may go anywhere', () => {
    const c = new Cluster({ nodes, pods: [] });
    assert.equal(
      podFitsNode(c, pod('web-1', { ...web, podAffinity: [term('web', ZONE_LABEL)] }), 'n1'),
      undefined,
    );
    assert.match(
      podFitsNode(c, pod('x', { podAffinity: [term('cache', ZONE_LABEL)] }), 'n1')!.message,
      /no pod matching \(app=cache\) anywhere/,
    );
  });

  test('a node without the topology key fails the affinity term', () => {
    const c = new Cluster({ nodes: [node('bare', { labels: {} })], pods: [] });
    assert.equal(
      podFitsNode(c, pod('web-1', { ...web, podAffinity: [term('web', ZONE_LABEL)] }), 'bare')?.predicate,
      'pod_affinity',
    );
  });

  test('counts follow placements: a pod unplaced no longer attracts', () => {
    const c = new Cluster({
      nodes,
      pods: [
        bound('cache-1', 'n3', { labels: { app: 'cache' } }),
        bound('cache-2', 'n1', { labels: { app: 'cache' } }),
      ],
    });
    const p = pod('web-1', { ...web, podAffinity: [term('cache', ZONE_LABEL)] });
    assert.equal(podFitsNode(c, p, 'n2'), undefined);
    c.unplace(c.findPod('default/cache-2')!);
    assert.equal(podFitsNode(c, p, 'n2')?.predicate, 'pod_affinity');
  });
});

/**
 * Property tests of planScaleUp over random clusters, pending pods and templates:
 *
 * - every placement passes every predicate in the final state, checked on a cluster built
 *   afresh from that state (not the plan's incrementally kept indexes);
 * - with one template and resources only, the plan never buys more nodes than a plain
 *   first fit written here over the same largest-first order.
 *
 * Spread pods select no node and the existing nodes cover every template zone, so that new
 * nodes add no spread domain after the fact (kube-scheduler does not re-check earlier pods
 * when a domain appears either); pods of the affinity group all carry the affinity term.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Cluster } from './cluster.ts';
import { podFitsNode, templateLabels } from './filter.ts';
import { bound, GiB, node, pod, template } from './fixtures.ts';
import { planScaleUp } from './scale-up.ts';
import {
  type BoundPod,
  HOSTNAME_LABEL,
  type NodeTemplate,
  type SimNode,
  type SimPod,
  ZONE_LABEL,
} from './types.ts';

const ZONES = ['z1', 'z2', 'z3'];
const cpuArb = fc.integer({ min: 1, max: 40 }).map((n) => n * 100);
const memArb = fc.integer({ min: 1, max: 16 }).map((n) => (n * GiB) / 2);

type Kind = 'plain' | 'web' | 'cache' | 'spread' | 'ported' | 'gpu' | 'ssd';
const kindArb = fc.constantFrom<Kind>('plain', 'plain', 'web', 'cache', 'spread', 'ported', 'gpu', 'ssd');

function podOf(name: string, kind: Kind, cpu: number, memory: number): SimPod {
  const requests = { cpu, memory };
  switch (kind) {
    case 'plain':
      return pod(name, { requests });
    case 'web':
      return pod(name, {
        requests,
        labels: { app: 'web' },
        podAntiAffinity: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: HOSTNAME_LABEL }],
      });
    case 'cache':
      return pod(name, {
        requests,
        labels: { app: 'cache' },
        podAffinity: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: ZONE_LABEL }],
      });
    case 'spread':
      return pod(name, {
        requests,
        labels: { app: 'spread' },
        topologySpread: [
          {
            maxSkew: 1,
            topologyKey: ZONE_LABEL,
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { app: 'spread' } },
          },
        ],
      });
    case 'ported':
      return pod(name, { requests, hostPorts: [{ port: 9100 }] });
    case 'gpu':
      return pod(name, {
        requests,
        nodeSelector: { accelerator: 'gpu' },
        tolerations: [{ key: 'gpu', operator: 'Exists' }],
      });
    case 'ssd':
      return pod(name, {
        requests,
        nodeAffinity: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }],
      });
  }
}

const templatesArb: fc.Arbitrary<NodeTemplate[]> = fc
  .record({ maxA: fc.integer({ min: 0, max: 6 }), maxG: fc.integer({ min: 0, max: 3 }), ssd: fc.boolean() })
  .map(({ maxA, maxG, ssd }) => [
    template('a', { zones: ZONES, maxNew: maxA, labels: ssd ? { disk: 'ssd' } : {} }),
    template('g', {
      zones: ZONES,
      maxNew: maxG,
      labels: { accelerator: 'gpu' },
      taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }],
      allocatable: { cpu: 8000, memory: 32 * GiB },
    }),
  ]);

const scenarioArb = fc.record({
  templates: templatesArb,
  extraNodes: fc.array(
    fc.record({ zone: fc.constantFrom(...ZONES), inFlight: fc.boolean(), cordoned: fc.boolean() }),
    { maxLength: 3 },
  ),
  bound: fc.array(fc.record({ kind: kindArb, cpu: cpuArb, mem: memArb, at: fc.nat() }), { maxLength: 8 }),
  pending: fc.array(fc.record({ kind: kindArb, cpu: cpuArb, mem: memArb }), { minLength: 1, maxLength: 14 }),
});

describe('planScaleUp properties', () => {
  test('no pod is placed where a predicate fails, re-checked on the final state', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const nodes: SimNode[] = ZONES.map((z, i) => node(`n${i}`, { labels: { [ZONE_LABEL]: z } }));
        s.extraNodes.forEach((e, i) => {
          const labels = { [ZONE_LABEL]: e.zone };
          nodes.push(node(`x${i}`, { labels, inFlight: e.inFlight, unschedulable: e.cordoned }));
        });
        // Bound pods are plain ones, so that the snapshot itself keeps every rule.
        const pods: BoundPod[] = s.bound.map((b, i) =>
          bound(`b${i}`, nodes[b.at % nodes.length]!.name, {
            requests: { cpu: b.cpu / 4, memory: b.mem / 4 },
          }),
        );
        const pending = s.pending.map((p, i) => podOf(`p${i}`, p.kind, p.cpu, p.mem));
        const plan = planScaleUp({ snapshot: { nodes, pods }, pending, templates: s.templates });

        const finalNodes = [...nodes];
        const placed: BoundPod[] = plan.onExisting.map((e) => ({
          ...pending.find((p) => p.key === e.pod)!,
          nodeName: e.node,
        }));
        for (const pool of plan.pools) {
          const t = s.templates.find((x) => x.pool === pool.pool)!;
          assert.ok(pool.newNodes.length <= t.maxNew, 'never above maxNew');
          for (const nn of pool.newNodes) {
            finalNodes.push({
              name: nn.name,
              labels: templateLabels(t, nn.name, nn.zone),
              taints: t.taints,
              allocatable: t.allocatable,
              pool: t.pool,
            });
            for (const k of nn.pods) placed.push({ ...pending.find((p) => p.key === k)!, nodeName: nn.name });
          }
        }
        const accounted = placed.length + plan.unplaceable.length;
        assert.equal(accounted, pending.length, 'every pending pod is placed or unplaceable, once');
        const final = new Cluster({ nodes: finalNodes, pods: [...pods, ...placed] });
        for (const p of placed) {
          assert.equal(podFitsNode(final, p, p.nodeName), undefined, `${p.key} on ${p.nodeName}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('with one template and resources only, no more new nodes than a plain first fit', () => {
    const alloc = { cpu: 4000, memory: 16 * GiB, pods: 8 };
    fc.assert(
      fc.property(
        fc.array(fc.record({ cpu: cpuArb, mem: memArb }), { maxLength: 3 }),
        fc.array(fc.record({ cpu: cpuArb, mem: memArb }), { minLength: 1, maxLength: 30 }),
        (used, pendingSpec) => {
          const nodes = used.map((_, i) => node(`n${i}`, { allocatable: alloc }));
          const pods = used.map((u, i) =>
            bound(`b${i}`, `n${i}`, { requests: { cpu: u.cpu, memory: u.mem } }),
          );
          const pending = pendingSpec.map((p, i) =>
            pod(`p${String(i).padStart(2, '0')}`, { requests: { cpu: p.cpu, memory: p.mem } }),
          );
          const plan = planScaleUp({
            snapshot: { nodes, pods },
            pending,
            templates: [template('a', { allocatable: alloc, maxNew: 100 })],
          });
          const bought = plan.pools.reduce((n, p) => n + p.newNodes.length, 0);
          assert.ok(bought <= firstFit(used, pending, alloc), `${bought} new nodes`);
          assert.equal(plan.unplaceable.length, 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** A plain first fit over bins (existing ones first), largest dominant share first, then key. */
function firstFit(
  used: { cpu: number; mem: number }[],
  pending: SimPod[],
  alloc: { cpu: number; memory: number; pods: number },
): number {
  const bins = used.map((u) => ({ cpu: u.cpu, mem: u.mem, pods: 1 }));
  const share = (p: SimPod) =>
    Math.max((p.requests.cpu ?? 0) / alloc.cpu, (p.requests.memory ?? 0) / alloc.memory);
  const sorted = [...pending].sort((a, b) => share(b) - share(a) || (a.key < b.key ? -1 : 1));
  let opened = 0;
  for (const p of sorted) {
    const cpu = p.requests.cpu ?? 0;
    const mem = p.requests.memory ?? 0;
    let bin = bins.find(
      (b) => b.cpu + cpu <= alloc.cpu && b.mem + mem <= alloc.memory && b.pods < alloc.pods,
    );
    if (!bin) {
      bin = { cpu: 0, mem: 0, pods: 0 };
      bins.push(bin);
      opened++;
    }
    bin.cpu += cpu;
    bin.mem += mem;
    bin.pods++;
  }
  return opened;
}

/**
 * Property tests of planRemoval over random clusters and candidate orders: every pod of a
 * removable node lands on a running, schedulable node that is not removed, where every
 * predicate passes in the final state (checked on a cluster built afresh from it); the
 * evictions never take a PDB below 0; the daemon pods are never moved.
 *
 * Required pod affinity and topology spread are left out: both hold at scheduling time only
 * (IgnoredDuringExecution), so a later removal may take away what an earlier move relied on,
 * as it would in Kubernetes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Cluster } from './cluster.ts';
import { podFitsNode } from './filter.ts';
import { bound, GiB, node } from './fixtures.ts';
import { planRemoval } from './removal.ts';
import { matchesLabelSelector } from './selectors.ts';
import {
  type BoundPod,
  HOSTNAME_LABEL,
  type SimNode,
  type SimPdb,
  type SimPod,
  ZONE_LABEL,
} from './types.ts';

type Kind = 'plain' | 'web' | 'db' | 'ported' | 'gpu' | 'daemon';
const kindArb = fc.constantFrom<Kind>('plain', 'plain', 'web', 'db', 'ported', 'gpu', 'daemon');

function extra(kind: Kind): Partial<SimPod> {
  switch (kind) {
    case 'plain':
      return { labels: { app: 'plain' } };
    case 'web':
      return {
        labels: { app: 'web' },
        podAntiAffinity: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: HOSTNAME_LABEL }],
      };
    case 'db':
      return {
        labels: { app: 'db' },
        podAntiAffinity: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: ZONE_LABEL }],
      };
    case 'ported':
      return { labels: { app: 'ported' }, hostPorts: [{ port: 9100 }] };
    case 'gpu':
      return {
        labels: { app: 'gpu' },
        nodeSelector: { accelerator: 'gpu' },
        tolerations: [{ key: 'gpu', operator: 'Exists' }],
      };
    case 'daemon':
      return { labels: { app: 'ds' }, daemon: true, requests: { cpu: 50, memory: GiB / 8 } };
  }
}

const rarely = fc.integer({ min: 0, max: 4 }).map((n) => n === 0);

const scenarioArb = fc.record({
  nodes: fc.array(
    fc.record({ zone: fc.constantFrom('z1', 'z2', 'z3'), gpu: rarely, cordoned: rarely, inFlight: rarely }),
    { minLength: 2, maxLength: 7 },
  ),
  pods: fc.array(
    fc.record({ kind: kindArb, cpu: fc.integer({ min: 1, max: 20 }).map((n) => n * 100), at: fc.nat() }),
    { maxLength: 24 },
  ),
  pdbs: fc.array(
    fc.record({ app: fc.constantFrom('plain', 'web', 'ported'), allowed: fc.integer({ min: 0, max: 2 }) }),
    {
      maxLength: 2,
    },
  ),
  order: fc.array(fc.nat(), { minLength: 1, maxLength: 10 }),
  headroom: fc.option(fc.double({ min: 0.3, max: 1, noNaN: true }), { nil: undefined }),
});

describe('planRemoval properties', () => {
  test('moved pods fit where they go in the final state, and no PDB goes below 0', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const nodes: SimNode[] = s.nodes.map((n, i) =>
          node(`n${i}`, {
            labels: { [ZONE_LABEL]: n.zone, ...(n.gpu ? { accelerator: 'gpu' } : {}) },
            taints: n.gpu ? [{ key: 'gpu', effect: 'NoSchedule' }] : [],
            unschedulable: n.cordoned,
            inFlight: n.inFlight,
          }),
        );
        // Bound pods where they could have been scheduled, placed through the simulation itself.
        const seed = new Cluster({ nodes, pods: [] });
        const pods: BoundPod[] = [];
        s.pods.forEach((p, i) => {
          const candidate = bound(`p${i}`, '', {
            requests: { cpu: p.cpu, memory: GiB / 2 },
            ...extra(p.kind),
          });
          for (let k = 0; k < nodes.length; k++) {
            const target = nodes[(p.at + k) % nodes.length]!;
            if (target.unschedulable || podFitsNode(seed, candidate, target.name) !== undefined) continue;
            const placed = { ...candidate, nodeName: target.name };
            seed.place(placed, seed.byName.get(target.name)!);
            pods.push(placed);
            break;
          }
        });
        const pdbs: SimPdb[] = s.pdbs.map((p, i) => ({
          key: `default/pdb-${i}`,
          namespace: 'default',
          selector: { matchLabels: { app: p.app } },
          disruptionsAllowed: p.allowed,
        }));
        const candidates = [...new Set(s.order.map((i) => nodes[i % nodes.length]!.name))];
        const headroom =
          s.headroom === undefined ? undefined : { a: { cpu: s.headroom, memory: s.headroom } };
        const plan = planRemoval({ snapshot: { nodes, pods, pdbs }, candidates, headroom });

        const removed = new Set(plan.removable.map((r) => r.node));
        const where = new Map(pods.map((p) => [p.key, p.nodeName]));
        const evictions = new Map<string, number>();
        for (const r of plan.removable) {
          const leaving = [...where]
            .filter(([, n]) => n === r.node)
            .map(([k]) => pods.find((p) => p.key === k)!);
          const movable = leaving.filter((p) => !p.daemon);
          assert.deepEqual(
            r.moves.map((m) => m.pod).sort(),
            movable.map((p) => p.key).sort(),
            'every non-daemon pod of a removable node moves',
          );
          for (const m of r.moves) {
            const p = pods.find((x) => x.key === m.pod)!;
            for (const pdb of pdbs) {
              if (matchesLabelSelector(pdb.selector, p.labels))
                evictions.set(pdb.key, (evictions.get(pdb.key) ?? 0) + 1);
            }
            where.set(m.pod, m.to);
          }
          for (const p of leaving) if (p.daemon) where.delete(p.key);
        }
        for (const pdb of pdbs)
          assert.ok((evictions.get(pdb.key) ?? 0) <= pdb.disruptionsAllowed, `${pdb.key} below 0`);

        const finalNodes = nodes.filter((n) => !removed.has(n.name));
        const finalPods = pods
          .filter((p) => where.has(p.key))
          .map((p) => ({ ...p, nodeName: where.get(p.key)! }));
        const final = new Cluster({ nodes: finalNodes, pods: finalPods });
        const moved = new Set(plan.removable.flatMap((r) => r.moves.map((m) => m.pod)));
        for (const p of finalPods) {
          if (!moved.has(p.key)) continue;
          const to = final.byName.get(p.nodeName);
          assert.ok(to && !to.inFlight && !removed.has(to.name), `${p.key} moved to a running node`);
          assert.equal(podFitsNode(final, p, p.nodeName), undefined, `${p.key} on ${p.nodeName}`);
        }
      }),
      { numRuns: 400 },
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SCALE_DOWN_DISABLED } from './nodes.ts';
import { projectNode, projectPod } from './projection.ts';
import { apiNode, apiPod } from './test-fixtures.ts';
import { CA_SCALE_DOWN_DISABLED, chooseVictims, evictionBlocker } from './victims.ts';

const day = (d: number) => `2026-01-0${d}T00:00:00Z`;

describe('scale-down victims', () => {
  test('least utilised first, newest first among equals', () => {
    const nodes = [1, 2, 3, 4].map((d) => apiNode(String.fromCharCode(96 + d), { created: day(d) }));
    const pods = [
      apiPod('p1', { node: 'a', cpu: '3' }),
      apiPod('p2', { node: 'b', cpu: '1' }),
      apiPod('p3', { node: 'c', cpu: '1' }),
    ];
    const r = chooseVictims(nodes, pods, 3);
    assert.deepEqual(r.victims, ['d', 'c', 'b']);
    assert.deepEqual(
      r.ranked.map((x) => [x.node, x.utilisation]),
      [
        ['d', 0],
        ['c', 0.25],
        ['b', 0.25],
        ['a', 0.75],
      ],
    );
    assert.deepEqual(r.refused, []);
  });

  test('memory counts as much as CPU: the larger ratio decides', () => {
    const nodes = [apiNode('cpu-light', { created: day(1) }), apiNode('mem-heavy', { created: day(2) })];
    const pods = [
      apiPod('a', { node: 'cpu-light', cpu: '1' }),
      apiPod('b', { node: 'mem-heavy', memory: '6Gi' }),
    ];
    assert.deepEqual(chooseVictims(nodes, pods, 1).victims, ['cpu-light']);
  });

  test('never a node annotated scale-down-disabled or running a pod that cannot move, each with the reason', () => {
    const nodes = [
      apiNode('a', { created: day(1), annotations: { [SCALE_DOWN_DISABLED]: 'true' } }),
      apiNode('b', { created: day(2) }),
      apiNode('c', { created: day(3) }),
      apiNode('d', { created: day(4) }),
      apiNode('e', { created: day(5) }),
      apiNode('f', { created: day(6), annotations: { [CA_SCALE_DOWN_DISABLED]: 'true' } }),
    ];
    const pods = [
      apiPod('keep', {
        node: 'b',
        annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
      }),
      apiPod('cache', { node: 'c', volumes: [{ name: 'tmp', emptyDir: {} }] }),
      apiPod('bare', { node: 'd', owner: null }),
      apiPod('ds', { node: 'e', owner: { kind: 'DaemonSet', name: 'x' } }),
    ];
    const r = chooseVictims(nodes, pods, 6);
    assert.deepEqual(r.victims, ['e']);
    assert.deepEqual(r.refused, [
      { node: 'a', reason: 'SCALE_DOWN_DISABLED', why: `annotated ${SCALE_DOWN_DISABLED}` },
      {
        node: 'b',
        reason: 'NOT_SAFE_TO_EVICT',
        pod: 'ns/keep',
        why: 'pod ns/keep is annotated safe-to-evict: "false"',
      },
      { node: 'c', reason: 'LOCAL_STORAGE', pod: 'ns/cache', why: 'pod ns/cache has local storage (tmp)' },
      {
        node: 'd',
        reason: 'UNMANAGED_POD',
        pod: 'ns/bare',
        why: 'pod ns/bare has no controller to recreate it',
      },
      { node: 'f', reason: 'SCALE_DOWN_DISABLED', why: `annotated ${CA_SCALE_DOWN_DISABLED}` },
    ]);
  });

  test('a scale-down-disabled annotation other than "true" does not disable', () => {
    const r = chooseVictims([apiNode('a', { annotations: { [SCALE_DOWN_DISABLED]: 'false' } })], [], 1);
    assert.deepEqual(r.victims, ['a']);
  });

  test('a node already being deleted is not chosen again', () => {
    const n = apiNode('a');
    n.metadata = { ...n.metadata, deletionTimestamp: new Date().toISOString() };
    assert.deepEqual(
      chooseVictims([n], [], 1).refused.map((x) => x.reason),
      ['BEING_DELETED'],
    );
  });

  test('count 0 or negative chooses nothing; count beyond the candidates takes them all', () => {
    const nodes = [apiNode('a'), apiNode('b')];
    assert.deepEqual(chooseVictims(nodes, [], 0).victims, []);
    assert.deepEqual(chooseVictims(nodes, [], -1).victims, []);
    assert.equal(chooseVictims(nodes, [], 5).victims.length, 2);
  });

  test('projections from the watch cache are taken as they are', () => {
    const nodes = [
      projectNode(apiNode('a', { created: day(1) })),
      projectNode(apiNode('b', { created: day(2) })),
    ];
    const pods = [projectPod(apiPod('p', { node: 'b', cpu: '2' }))];
    assert.deepEqual(chooseVictims(nodes, pods, 1).victims, ['a']);
  });

  test('property: victims are never disabled or blocked, at most count, and ordered by utilisation', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            disabled: fc.boolean(),
            pods: fc.array(
              fc.record({
                cpu: fc.integer({ min: 0, max: 1000 }),
                kind: fc.constantFrom('owned', 'bare', 'unsafe', 'local', 'daemon', 'mirror', 'safe-bare'),
              }),
              { maxLength: 4 },
            ),
          }),
          { maxLength: 8 },
        ),
        fc.integer({ min: 0, max: 10 }),
        (spec, count) => {
          const nodes = spec.map((n, i) =>
            apiNode(`n${i}`, {
              created: day((i % 9) + 1),
              annotations: n.disabled ? { [SCALE_DOWN_DISABLED]: 'true' } : {},
            }),
          );
          const pods = spec.flatMap((n, i) =>
            n.pods.map((p, j) =>
              apiPod(`p${i}-${j}`, {
                node: `n${i}`,
                cpu: `${p.cpu}m`,
                owner:
                  p.kind === 'bare' || p.kind === 'safe-bare' || p.kind === 'mirror'
                    ? null
                    : p.kind === 'daemon'
                      ? { kind: 'DaemonSet', name: 'd' }
                      : undefined,
                annotations:
                  p.kind === 'unsafe'
                    ? { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' }
                    : p.kind === 'safe-bare'
                      ? { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' }
                      : p.kind === 'mirror'
                        ? { 'kubernetes.io/config.mirror': 'h' }
                        : {},
                ...(p.kind === 'local' ? { volumes: [{ name: 'v', emptyDir: {} }] } : {}),
              }),
            ),
          );
          const r = chooseVictims(nodes, pods, count);
          assert.ok(r.victims.length <= count);
          assert.equal(r.ranked.length + r.refused.length, nodes.length, 'every node ranked or refused');
          for (const v of r.victims) {
            const i = Number(v.slice(1));
            const n = spec[i];
            assert.ok(n && !n.disabled, `${v} is not disabled`);
            assert.ok(
              n.pods.every((p) => !['bare', 'unsafe', 'local'].includes(p.kind)),
              `${v} has no pod that cannot move`,
            );
          }
          for (let k = 1; k < r.ranked.length; k++)
            assert.ok((r.ranked[k - 1]?.utilisation ?? 0) <= (r.ranked[k]?.utilisation ?? 0));
        },
      ),
    );
  });
});

describe('eviction blockers', () => {
  test('DaemonSet, mirror and terminating pods never block; safe-to-evict "true" overrides storage and owner', () => {
    const p = (o: Parameters<typeof apiPod>[1]) =>
      evictionBlocker(projectPod(apiPod('p', { node: 'n', ...o })));
    assert.equal(
      p({ owner: { kind: 'DaemonSet', name: 'd' }, volumes: [{ name: 'h', hostPath: { path: '/' } }] }),
      undefined,
    );
    assert.equal(p({ owner: null, annotations: { 'kubernetes.io/config.mirror': 'x' } }), undefined);
    assert.equal(p({ owner: null, deleting: true }), undefined);
    assert.equal(
      p({
        owner: null,
        volumes: [{ name: 'v', emptyDir: {} }],
        annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' },
      }),
      undefined,
    );
    assert.equal(p({})?.reason, undefined);
    assert.equal(p({ volumes: [{ name: 'h', hostPath: { path: '/' } }] })?.reason, 'LOCAL_STORAGE');
  });
});

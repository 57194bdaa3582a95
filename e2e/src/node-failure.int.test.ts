// Seed 000's testing scenario 2 (node failure) with all six services as processes on the
// real stack: an empty pool brought to its minimum, a worker deleted at the minimum and the
// seed's recovery chain, then two workers lost at once and the emergency scale-up.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AnyScalewiseEvent } from '@scalewise/events';
import { FLOOR_REPAIR_CHAIN, SCALE_UP_ACTION, waitFor } from '@scalewise/testing';
import { short } from './chain.ts';
import { dataOf, expectChain, waitForEvent, waitForSynced } from './expect.ts';
import { type System, startSystem } from './harness.ts';

let system: System;
const window = 8;
before(async () => {
  system = await startSystem({
    label: 'node-failure',
    pool: { min: 2, max: 6 },
    // Losses further apart than this are not one burst.
    emergencyWindowSeconds: window,
  });
});
after(async () => {
  await system?.stop();
});

const deleteNode = (name: string) => system.kube.core.deleteNode({ name, gracePeriodSeconds: 0 });

describe('node failure (seed 000 scenario 2)', () => {
  test('an empty pool with min 2 is brought to its minimum: AutoScaleUpToMinimum, two Ready workers, synced', async () => {
    const chain = await expectChain(system, ['AutoScaleUpToMinimum', ...SCALE_UP_ACTION], {
      timeoutMs: 60_000,
    });
    const floor = dataOf(chain[0], 'io.scalewise.AutoScaleUpToMinimum');
    assert.equal(floor.min_workers, 2);
    assert.equal(floor.current_workers + floor.scale_up_count, 2);
    await waitFor(async () => (await system.readyWorkers()).length === 2, {
      timeoutMs: 30_000,
      what: 'two Ready workers on the API server',
    });
    await waitForSynced(system, 2, { since: Date.parse(chain[4]?.time ?? '') });
  });

  test('a worker deleted at the minimum: the seed recovery chain, in causal order, back to 2 workers', async () => {
    const before = await system.readyWorkers();
    assert.equal(before.length, 2);
    const victim = before[0] as string;
    const t0 = Date.now();
    await deleteNode(victim);
    // The violation and its repair are both caused by the loss (min-enforcer says both for
    // the one input, violation first); the repair starts the rest of the seed's chain.
    const start = (e: AnyScalewiseEvent) => (e.data as { node_name?: string }).node_name === victim;
    const [lost, violation] = await expectChain(system, ['NodeUnexpectedlyLost', 'MinimumNodesViolation'], {
      since: t0 - 1000,
      start,
    });
    const chain = await expectChain(system, FLOOR_REPAIR_CHAIN, {
      since: t0 - 1000,
      start,
      timeoutMs: 60_000,
    });
    const [, floor, , created, , completed, restored] = chain;
    assert.equal(chain[0]?.id, lost?.id);
    assert.ok(Date.parse(violation?.time ?? '') <= Date.parse(floor?.time ?? ''), 'violation before repair');
    assert.equal(dataOf(lost, 'io.scalewise.NodeUnexpectedlyLost').node_name, victim);
    assert.equal(dataOf(lost, 'io.scalewise.NodeUnexpectedlyLost').cause, 'node_deleted');
    const v = dataOf(violation, 'io.scalewise.MinimumNodesViolation');
    assert.deepEqual([v.current_workers, v.min_workers], [1, 2]);
    assert.equal(dataOf(floor, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 1);
    const newNode = dataOf(created, 'io.scalewise.NodeCreated').node_name;
    assert.notEqual(newNode, victim);
    const done = dataOf(completed, 'io.scalewise.ScalingActionCompleted');
    assert.deepEqual([done.action, done.previous_workers, done.new_workers], ['scale_up', 1, 2]);
    const r = dataOf(restored, 'io.scalewise.MinimumNodesRestored');
    assert.deepEqual([r.current_workers, r.min_workers], [2, 2]);
    // One correlation id from the loss to the restoration.
    assert.equal(
      new Set([violation, ...chain].map((e) => e?.correlationid)).size,
      1,
      chain.map((e) => short(e.type)).join(),
    );
    // ... and then the three views agree on 2 again.
    await waitForSynced(system, 2, { since: Date.parse(restored?.time ?? '') });
    const ready = await system.readyWorkers();
    assert.equal(ready.length, 2);
    assert.ok(ready.includes(newNode), `${newNode} among the Ready workers ${ready.join(', ')}`);
    // "Why is there a new node?": alert-manager's history gives the same chain from the loss.
    const port = system.services.get('alert-manager')?.port;
    const explained = await waitFor(
      async () => {
        const res = await fetch(
          `http://127.0.0.1:${port}/v1/explain/${encodeURIComponent(restored?.id ?? '')}`,
        );
        if (res.status !== 200) return undefined;
        const x = (await res.json()) as { chain: { event: { id: string; type: string }; depth: number }[] };
        return x.chain.some((l) => l.event.id === restored?.id) ? x : undefined;
      },
      { timeoutMs: 20_000, what: 'the explanation of MinimumNodesRestored from alert-manager' },
    );
    const path = explained.chain.map((l) => short(l.event.type));
    assert.deepEqual(path.slice(0, path.indexOf('MinimumNodesRestored') + 1), FLOOR_REPAIR_CHAIN);
    assert.equal(explained.chain[0]?.event.id, lost?.id);
  });

  test('two workers lost at once: EmergencyScaleUp doubles the deficit (seed 000), and the events say what the nodes are', async () => {
    const before = await system.readyWorkers();
    assert.equal(before.length, 2);
    // The previous test's loss must be out of the emergency window: only these two count.
    const lastLoss = Math.max(
      ...system.rec.of('io.scalewise.NodeUnexpectedlyLost').map((e) => Date.parse(e.time)),
    );
    await waitFor(() => Date.now() > lastLoss + (window + 1) * 1000, {
      timeoutMs: (window + 2) * 1000,
      what: 'the emergency window after the last loss',
    });
    const t0 = Date.now();
    await Promise.all(before.map(deleteNode));
    const chain = await expectChain(
      system,
      ['EmergencyScaleUp', 'ScaleUpStarted', 'NodeCreated', 'NodeReady', 'ScalingActionCompleted'],
      { since: t0 - 1000, timeoutMs: 60_000 },
    );
    const emergency = dataOf(chain[0], 'io.scalewise.EmergencyScaleUp');
    assert.deepEqual([emergency.lost_count, emergency.min_workers], [2, 2]);
    // 0 left, or 1 when the first loss's repair node joined before the second loss was read.
    assert.ok(emergency.remaining_workers <= 1, `remaining ${emergency.remaining_workers}`);
    // Both losses in one listing: deficit 2, twice that. One loss read first: its repair (+1)
    // covers half, the emergency doubles the deficit left (1). Either way the rule's numbers.
    const heading = (emergency.target_workers ?? 0) - emergency.emergency_scale;
    assert.equal(emergency.emergency_scale, Math.min(6 - heading, 2 * (2 - heading)));
    const losses = system.rec
      .of('io.scalewise.NodeUnexpectedlyLost')
      .filter((e) => Date.parse(e.time) >= t0 - 1000);
    assert.deepEqual(
      losses.map((e) => dataOf(e, 'io.scalewise.NodeUnexpectedlyLost').node_name).sort(),
      [...before].sort(),
    );
    const repairs = system.rec
      .of('io.scalewise.AutoScaleUpToMinimum', 'io.scalewise.EmergencyScaleUp')
      .filter((e) => Date.parse(e.time) >= t0 - 1000);
    assert.equal(repairs.filter((e) => e.type === 'io.scalewise.EmergencyScaleUp').length, 1);
    const total = repairs.reduce(
      (n, e) =>
        n +
        (e.type === 'io.scalewise.EmergencyScaleUp'
          ? dataOf(e, 'io.scalewise.EmergencyScaleUp').emergency_scale
          : dataOf(e, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count),
      0,
    );
    assert.equal(total, emergency.target_workers);
    const restored = await waitForEvent(system, 'MinimumNodesRestored', () => true, { since: t0 });
    await waitForSynced(system, total, { since: Date.parse(restored.time) });
    assert.equal(
      dataOf(restored, 'io.scalewise.MinimumNodesRestored').current_workers,
      (await system.workers()).length,
    );
    const created = system.rec.of('io.scalewise.NodeCreated').filter((e) => Date.parse(e.time) >= t0);
    assert.equal(
      created.length,
      total,
      created.map((e) => dataOf(e, 'io.scalewise.NodeCreated').node_name).join(),
    );
    const ready = await system.readyWorkers();
    assert.equal(ready.length, total);
    assert.ok(ready.every((n) => !before.includes(n)));
  });
});

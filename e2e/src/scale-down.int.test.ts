// Seed 000's testing scenarios 1 (normal scale-down) and 5 (state sync) with all six services
// as processes on the real stack. The pool starts with 3 underutilised workers (min 2, max 3)
// and shrinks to its minimum in the seed's chain. A trigger takes it back to 3; a pod that no
// node can take blocks the next scale-down while it is pending. Then the state store is
// deleted behind state-sync's back (the pool's ledger), and the drift is detected and repaired.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@scalewise/testing';
import { dataOf, expectChain, waitForEvent, waitForSynced } from './expect.ts';
import { type System, startSystem } from './harness.ts';
import { sendTrigger } from './triggers.ts';
import { deploy, podsOf, undeploy } from './workload.ts';

let system: System;
const cooldown = 10;
before(async () => {
  system = await startSystem({
    label: 'scale-down',
    pool: {
      min: 2,
      max: 3,
      // The first UnderutilizationWarning (after 2 low samples, 1 s apart) is enough.
      underutilizedForSeconds: 1,
      scaleDownWindowSeconds: 0,
      // Long enough to see a scale-down wait for a pending pod after the trigger's scale-up.
      cooldownSeconds: cooldown,
      // The trigger below only makes room for the next test; its target is not held.
      triggerHoldSeconds: 0,
    },
    initialWorkers: 3,
  });
});
after(async () => {
  await system?.stop();
});

describe('scale-down (seed 000 scenarios 1 and 5)', () => {
  test('3 underutilised workers shrink to 2 in the seed chain, OptimalStateTrigger active, then synced at 2', async () => {
    const initial = await waitForSynced(system, 3);
    assert.equal(initial.workers, 3);
    const t0 = 0;
    const chain = await expectChain(
      system,
      ['UnderutilizationWarning', 'ScaleDownDecision', 'ScaleDownStarted', 'ScalingActionCompleted'],
      { since: t0, timeoutMs: 60_000 },
    );
    const [warning, decision, started, completed] = chain;
    const w = dataOf(warning, 'io.scalewise.UnderutilizationWarning');
    assert.equal(w.workers, 3);
    assert.equal(w.min_workers, 2);
    assert.ok(w.cpu_avg < 30 && w.memory_avg < 40, `cpu ${w.cpu_avg}% memory ${w.memory_avg}%`);
    const d = dataOf(decision, 'io.scalewise.ScaleDownDecision');
    assert.deepEqual([d.current_workers, d.desired_workers, d.count], [3, 2, 1]);
    const victim = dataOf(started, 'io.scalewise.ScaleDownStarted').nodes[0] as string;
    const done = dataOf(completed, 'io.scalewise.ScalingActionCompleted');
    assert.deepEqual([done.action, done.previous_workers, done.new_workers], ['scale_down', 3, 2]);
    // The node went through drain and removal in the same chain.
    await expectChain(system, ['ScaleDownStarted', 'NodeDrained', 'NodeRemoved', 'ScalingActionCompleted'], {
      start: (e) => e.id === started?.id,
      timeoutMs: 5_000,
    });
    // The seed's step 3: the decision that lands on the minimum is announced as optimal first.
    const anticipated = await waitForEvent(
      system,
      'OptimalStateTrigger',
      (e) => e.causationid === warning?.id && (e.data as { state: string }).state === 'anticipated',
      { since: t0, timeoutMs: 5_000 },
    );
    assert.ok(Date.parse(anticipated.time) <= Date.parse(decision?.time ?? ''));
    // The seed's step 7: at the minimum and underutilised, the optimal state is active.
    const active = await waitForEvent(
      system,
      'OptimalStateTrigger',
      (e) => (e.data as { state: string }).state === 'active',
      { since: Date.parse(completed?.time ?? ''), timeoutMs: 30_000 },
    );
    const o = dataOf(active, 'io.scalewise.OptimalStateTrigger');
    assert.deepEqual([o.current_workers, o.min_workers], [2, 2]);
    // The seed's step 8, and the real cluster agrees.
    const synced = await waitForSynced(system, 2, { since: Date.parse(completed?.time ?? '') });
    assert.equal(synced.workers, 2);
    const left = (await system.workers()).map((n) => n.metadata?.name);
    assert.equal(left.length, 2);
    assert.ok(!left.includes(victim), `${victim} was removed`);
    assert.equal(system.rec.of('io.scalewise.ScaleDownDecision').length, 1, 'one scale-down decision');
    // A scale-down to the minimum is no violation of it.
    assert.equal(system.rec.of('io.scalewise.MinimumNodesViolation').length, 0);
  });

  test('scale-down is blocked (ScaleDownBlocked pending_pods) while a pod of the pool is pending, and goes ahead once it is gone', async () => {
    // Back to 3 by a trigger; its cooldown holds the next scale-down for a while.
    const t0 = Date.now();
    const trigger = await sendTrigger(system, {
      action: 'scale_up',
      count: 1,
      reason: 'e2e: room for the next test',
    });
    const [, , upDone] = await expectChain(
      system,
      ['trigger.scale', 'ScaleUpDecision', 'ScalingActionCompleted'],
      {
        start: (e) => e.id === trigger,
        timeoutMs: 30_000,
      },
    );
    assert.equal(dataOf(upDone, 'io.scalewise.ScalingActionCompleted').new_workers, 3);
    // Underutilised at 3 again: the engine knows it (a warning arrives, held by the cooldown).
    await waitForEvent(
      system,
      'UnderutilizationWarning',
      (e) => (e.data as { workers: number }).workers === 3,
      {
        since: t0,
        timeoutMs: 20_000,
      },
    );
    // A pod of the pool that no node can take: it selects a label no node has.
    await deploy(system, { name: 'stuck', replicas: 1, nodeSelector: { 'e2e.scalewise.io/never': 'true' } });
    const blocked = await waitForEvent(
      system,
      'ScaleDownBlocked',
      (e) => (e.data as { reason: string }).reason === 'pending_pods',
      { since: t0, timeoutMs: 30_000 },
    );
    const b = dataOf(blocked, 'io.scalewise.ScaleDownBlocked');
    assert.equal(b.pending_count, 1);
    assert.equal(b.workers, 3);
    assert.equal(b.min_workers, 2);
    // Past the cooldown it still waits: pending pods alone hold it.
    const cooledAt = Date.parse(upDone?.time ?? '') + (cooldown + 3) * 1000;
    await waitFor(() => Date.now() > cooledAt, {
      timeoutMs: (cooldown + 5) * 1000,
      what: 'the cooldown over',
    });
    assert.equal(system.rec.of('io.scalewise.ScaleDownDecision').length, 1, 'no scale-down while pending');
    assert.equal((await system.workers()).length, 3);
    assert.equal((await podsOf(system, 'stuck'))[0]?.status?.phase, 'Pending');
    // Gone: the pool shrinks to its minimum again.
    const t1 = Date.now();
    await undeploy(system, 'stuck');
    const [decision] = await expectChain(system, ['ScaleDownDecision', 'ScalingActionCompleted'], {
      since: t1,
      timeoutMs: 30_000,
    });
    assert.deepEqual(
      [
        dataOf(decision, 'io.scalewise.ScaleDownDecision').current_workers,
        dataOf(decision, 'io.scalewise.ScaleDownDecision').desired_workers,
      ],
      [3, 2],
    );
    await waitForSynced(system, 2, { since: t1 });
    assert.equal((await system.workers()).length, 2);
    // Neither scale-down to the minimum was taken for a violation of it.
    assert.equal(system.rec.of('io.scalewise.MinimumNodesViolation').length, 0);
    assert.equal(system.rec.of('io.scalewise.AutoScaleUpToMinimum').length, 0);
  });

  test('the pool record deleted in Redis: StateDriftDetected (state_stale, repaired), the ledger rewritten, synced at 2', async () => {
    await waitForSynced(system, 2);
    const key = `scalewise:${system.clusterId}:pool:{${system.pool}}`;
    assert.equal(await system.redis.exists(key), 1, `${key} exists before`);
    const t0 = Date.now();
    await system.redis.del(key);
    const drift = await waitForEvent(
      system,
      'StateDriftDetected',
      (e) => {
        const d = e.data as { drift: { kind: string }[]; repaired: boolean };
        return d.repaired && d.drift.some((x) => x.kind === 'state_stale');
      },
      { since: t0, timeoutMs: 30_000 },
    );
    const d = dataOf(drift, 'io.scalewise.StateDriftDetected');
    assert.equal(d.k8s_nodes, 2);
    assert.equal(d.db_workers, 0, 'the deleted ledger counted no worker');
    await waitForSynced(system, 2, { since: Date.parse(drift.time) });
    const stored = await waitFor(async () => system.redis.hget(key, 'l'), {
      timeoutMs: 10_000,
      what: `${key} rewritten`,
    });
    const ledger = JSON.parse(stored) as { members: Record<string, { present: boolean }> };
    assert.deepEqual(
      Object.entries(ledger.members)
        .filter(([, m]) => m.present)
        .map(([n]) => n)
        .sort(),
      (await system.workers()).map((n) => n.metadata?.name).sort(),
    );
    // A drifted store is no lost node: nothing was scaled for it.
    assert.equal(
      system.rec.events.filter(
        (e) =>
          Date.parse(e.time) >= t0 &&
          ['io.scalewise.NodeUnexpectedlyLost', 'io.scalewise.ScaleUpDecision'].includes(e.type),
      ).length,
      0,
    );
  });
});

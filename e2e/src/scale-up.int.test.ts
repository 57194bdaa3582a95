// Seed 000's testing scenarios 3 (resource pressure) and 4 (pending pods), and external
// triggers from clients the project did not write (kcat in CloudEvents binary mode, an XADD in
// seed 004's format), with all six services as processes on the real stack.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@scalewise/testing';
import { dataOf, expectChain, waitForSynced } from './expect.ts';
import { type System, startSystem } from './harness.ts';
import { kcatTrigger, xaddTrigger } from './triggers.ts';
import { deploy, podsOf, runningPods } from './workload.ts';

let system: System;
before(async () => {
  system = await startSystem({
    label: 'scale-up',
    pool: { min: 2, max: 8, cpuMillicores: 4000, memoryMib: 8192, cooldownSeconds: 2 },
    initialWorkers: 2,
    triggerBridge: true,
  });
});
after(async () => {
  await system?.stop();
});

const upChain = ['ScaleUpDecision', 'ScaleUpStarted', 'NodeCreated', 'NodeReady', 'ScalingActionCompleted'];

/** Waits until the pool's Ready workers on the API server number `n` and ClusterStateSynced says so. */
async function settledAt(n: number, since: number): Promise<void> {
  await waitFor(async () => (await system.readyWorkers()).length === n, {
    timeoutMs: 30_000,
    what: `${n} Ready workers`,
  });
  await waitForSynced(system, n, { since });
}

describe('scale-up (seed 000 scenarios 3 and 4, external triggers)', () => {
  test('filled nodes: ResourcePressureAlert -> scale-up, and the pressure is relieved', async () => {
    await waitForSynced(system, 2);
    const t0 = Date.now();
    // 3500m of each 4000m worker: 87.5% CPU requested, above the 80% threshold.
    await deploy(system, { name: 'busy', replicas: 2, cpu: '3500m' });
    await waitFor(async () => (await runningPods(system, 'busy')) === 2, {
      timeoutMs: 30_000,
      what: 'the two busy pods Running',
    });
    const chain = await expectChain(system, ['ResourcePressureAlert', ...upChain], { since: t0 });
    const [alert, decision, , , , completed] = chain;
    const a = dataOf(alert, 'io.scalewise.ResourcePressureAlert');
    assert.ok(a.cpu_avg > 80, `cpu_avg ${a.cpu_avg}`);
    assert.equal(a.workers, 2);
    assert.equal(a.max_workers, 8);
    const d = dataOf(decision, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.current_workers, 2);
    assert.ok(d.desired_workers >= 3, `desired ${d.desired_workers}`);
    const done = dataOf(completed, 'io.scalewise.ScalingActionCompleted');
    assert.equal(done.new_workers, d.desired_workers);
    await settledAt(d.desired_workers, Date.parse(completed?.time ?? ''));
  });

  test('unschedulable pods: PendingPodsDetected -> immediate scale-up -> the pods Running', async () => {
    const before = (await system.readyWorkers()).length;
    const t0 = Date.now();
    // The busy workers have 500m left: of three 2500m pods at most one fits today.
    await deploy(system, { name: 'burst', replicas: 3, cpu: '2500m' });
    const chain = await expectChain(system, ['PendingPodsDetected', ...upChain], { since: t0 });
    const [pending, decision, , , , completed] = chain;
    const p = dataOf(pending, 'io.scalewise.PendingPodsDetected');
    assert.ok(p.pending_count >= 2, `pending_count ${p.pending_count}`);
    assert.ok(
      p.affected_deployments.some((x) => x.includes('burst')),
      `affected ${p.affected_deployments.join(', ')}`,
    );
    const d = dataOf(decision, 'io.scalewise.ScaleUpDecision');
    assert.equal(d.current_workers, before);
    // Immediate: decided within a few sample intervals of the pods' creation.
    assert.ok(
      Date.parse(decision?.time ?? '') - t0 < 10_000,
      `decided after ${Date.parse(decision?.time ?? '') - t0} ms`,
    );
    await waitFor(async () => (await runningPods(system, 'burst')) === 3, {
      timeoutMs: 60_000,
      what: 'the three burst pods Running',
    });
    const nodes = new Set((await podsOf(system, 'burst')).map((x) => x.spec?.nodeName));
    assert.ok(nodes.size >= 2, 'on more than one worker');
    const n = (await system.readyWorkers()).length;
    assert.ok(n > before, `${n} workers after, ${before} before`);
    await settledAt(n, Date.parse(completed?.time ?? ''));
  });

  test('a trigger produced by kcat as a binary-mode CloudEvent (ce_* headers) scales the pool', async () => {
    const before = (await system.readyWorkers()).length;
    const id = await kcatTrigger(system, {
      action: 'scale_up',
      count: 1,
      reason: 'e2e kcat',
      task_id: 'kcat-1',
    });
    const chain = await expectChain(system, ['trigger.scale', ...upChain], {
      start: (e) => e.id === id,
      timeoutMs: 30_000,
    });
    const [trigger, decision, , , , completed] = chain;
    assert.equal(trigger?.source, '/ci/kcat');
    const d = dataOf(decision, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d.current_workers, d.desired_workers, d.reason], [before, before + 1, 'trigger']);
    assert.equal(dataOf(completed, 'io.scalewise.ScalingActionCompleted').new_workers, before + 1);
    await settledAt(before + 1, Date.parse(completed?.time ?? ''));
  });

  test("an XADD in seed 004's format on the Redis stream scales the pool through the bridge", async () => {
    const before = (await system.readyWorkers()).length;
    const entry = await xaddTrigger(system, { type: 'scale_up', pod_count: 1, task_id: 'task-123' });
    const chain = await expectChain(system, ['trigger.scale', ...upChain], {
      start: (e) => e.id.endsWith(entry),
      timeoutMs: 30_000,
    });
    const [trigger, decision, , , , completed] = chain;
    const t = dataOf(trigger, 'io.scalewise.trigger.scale');
    assert.deepEqual([t.pool, t.action, t.count, t.task_id], [system.pool, 'scale_up', 1, 'task-123']);
    const d = dataOf(decision, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d.current_workers, d.desired_workers], [before, before + 1]);
    assert.equal(dataOf(completed, 'io.scalewise.ScalingActionCompleted').new_workers, before + 1);
    await settledAt(before + 1, Date.parse(completed?.time ?? ''));
    // Acknowledged on the stream once bridged: nothing left pending for the group.
    const pending = (await system.redis.xpending(system.bridgeStream, `${system.name}-bridge`)) as [number];
    assert.equal(pending[0], 0);
  });
});

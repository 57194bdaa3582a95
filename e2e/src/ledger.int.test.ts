// The pool ledger on the real servers: every number the events state agrees with the nodes
// the API server lists, one action per deficit, the emergency rule of seed 000, no loss
// reported for a node Scalewise removed, ClusterStateSynced only when the views agree, and a
// ScaleDownBlocked that names the state it saw, and a trigger's target completed and held.
// Each situation is the one the issue reported.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { waitFor } from '@scalewise/testing';
import { dataOf, eventsOf, waitForEvent, waitForSynced } from './expect.ts';
import { type System, startSystem } from './harness.ts';
import { sendTrigger } from './triggers.ts';
import { deploy } from './workload.ts';

const systems: System[] = [];
after(async () => {
  await Promise.all(systems.map((s) => s.stop()));
});

const start = async (...args: Parameters<typeof startSystem>) => {
  const s = await startSystem(...args);
  systems.push(s);
  return s;
};

const count = async (s: System) => (await s.workers()).length;

/** Waits until the pool has `n` nodes on the API server and keeps them through two syncs. */
async function settlesAt(s: System, n: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await count(s)) === n, { timeoutMs, what: `${n} nodes in the pool` });
  await waitForSynced(s, n, { since: Date.now() });
}

/**
 * The ScalingActionCompleted data since `since`, once there are at least `n`: the nodes can be
 * listed (and synced) before node-manager has seen them Ready and published its completion.
 */
async function completedActions(s: System, n: number, since = 0) {
  const all = () =>
    eventsOf(s, 'ScalingActionCompleted', { since }).map((e) =>
      dataOf(e, 'io.scalewise.ScalingActionCompleted'),
    );
  await waitFor(() => all().length >= n, { timeoutMs: 30_000, what: `${n} ScalingActionCompleted` });
  return all();
}

/** Every ClusterStateSynced said the three views agree on the same number. */
function assertSyncedAgree(s: System): void {
  for (const e of eventsOf(s, 'ClusterStateSynced')) {
    const d = dataOf(e, 'io.scalewise.ClusterStateSynced');
    assert.deepEqual(
      [d.k8s_nodes, d.docker_containers, d.db_workers],
      [d.workers, d.workers, d.workers],
      `ClusterStateSynced ${e.id} says in sync with differing views: ${JSON.stringify(d)}`,
    );
  }
}

describe('the pool ledger', () => {
  test('an empty pool with min 2 and pending pods: one action for the deficit, never a target below the floor', async () => {
    const s = await start({
      label: 'ledger-start',
      pool: { min: 2, max: 6 },
      // Two small pods pending before anything starts: one node would hold them.
      prepare: (place) => deploy(place, { name: 'early', replicas: 2, cpu: '500m', memory: '256Mi' }),
    });
    await settlesAt(s, 2);
    const ups = eventsOf(s, 'ScaleUpDecision').map((e) => dataOf(e, 'io.scalewise.ScaleUpDecision'));
    const floors = eventsOf(s, 'AutoScaleUpToMinimum').map((e) =>
      dataOf(e, 'io.scalewise.AutoScaleUpToMinimum'),
    );
    for (const u of ups)
      assert.ok(u.desired_workers >= 2, `ScaleUpDecision below the floor: ${JSON.stringify(u)}`);
    const bought = ups.reduce((n, u) => n + u.count, 0) + floors.reduce((n, f) => n + f.scale_up_count, 0);
    assert.equal(
      bought,
      2,
      `one action for the deficit of 2: ${ups.length} decisions, ${floors.length} repairs`,
    );
    assert.equal(await count(s), 2);
    const completed = await completedActions(s, ups.length + floors.length);
    assert.equal(completed.at(-1)?.new_workers, 2);
    const restored = eventsOf(s, 'MinimumNodesRestored').map((e) =>
      dataOf(e, 'io.scalewise.MinimumNodesRestored'),
    );
    for (const r of restored) assert.equal(r.current_workers, 2);
    assertSyncedAgree(s);
  });

  test('losses: one above the floor, later two more; the emergency rule doubles the deficit, 2 -> 4, and numbers match the nodes', async () => {
    const window = 8;
    const s = await start({
      label: 'ledger-loss',
      pool: { min: 3, max: 5, underutilizedForSeconds: 3600 },
      initialWorkers: 5,
      emergencyScaleThreshold: 2,
      emergencyWindowSeconds: window,
    });
    await waitForSynced(s, 5);
    const del = (name: string) => s.kube.core.deleteNode({ name, gracePeriodSeconds: 0 });
    const [first, ...rest] = (await s.workers()).map((n) => n.metadata?.name as string);
    await del(first as string);
    const lost1 = await waitForEvent(
      s,
      'NodeUnexpectedlyLost',
      (e) => (e.data as { node_name: string }).node_name === first,
    );
    assert.equal(dataOf(lost1, 'io.scalewise.NodeUnexpectedlyLost').remaining_workers, 4);
    await waitForSynced(s, 4, { since: Date.parse(lost1.time) });
    // Above the floor: nothing to repair.
    assert.equal(eventsOf(s, 'MinimumNodesViolation').length, 0);
    await new Promise((r) => setTimeout(r, (window + 1) * 1000));
    const t0 = Date.now();
    await Promise.all(rest.slice(0, 2).map((n) => del(n)));
    const emergency = dataOf(
      await waitForEvent(s, 'EmergencyScaleUp', () => true, { since: t0 - 1000 }),
      'io.scalewise.EmergencyScaleUp',
    );
    // Only the two losses within the window count; 2 workers left, deficit 1, twice that.
    assert.deepEqual(
      [
        emergency.lost_count,
        emergency.remaining_workers,
        emergency.min_workers,
        emergency.emergency_scale,
        emergency.target_workers,
      ],
      [2, 2, 3, 2, 4],
    );
    assert.match(emergency.rule ?? '', /twice the deficit of 1/);
    const losses = eventsOf(s, 'NodeUnexpectedlyLost', { since: t0 - 1000 }).map(
      (e) => dataOf(e, 'io.scalewise.NodeUnexpectedlyLost').remaining_workers,
    );
    assert.deepEqual(losses.sort(), [2, 3]);
    const violation = dataOf(
      await waitForEvent(s, 'MinimumNodesViolation', () => true, { since: t0 - 1000 }),
      'io.scalewise.MinimumNodesViolation',
    );
    assert.equal(violation.current_workers, 2);
    const restored = dataOf(
      await waitForEvent(s, 'MinimumNodesRestored', () => true, { since: t0, timeoutMs: 60_000 }),
      'io.scalewise.MinimumNodesRestored',
    );
    assert.equal(restored.current_workers, 4);
    await settlesAt(s, 4);
    const done = await completedActions(s, 1, t0);
    assert.deepEqual(
      done.map((d) => [d.previous_workers, d.new_workers]),
      [[2, 4]],
    );
    // No other repair of the same deficit.
    assert.equal(eventsOf(s, 'AutoScaleUpToMinimum', { since: t0 - 1000 }).length, 0);
    assert.equal(eventsOf(s, 'ScaleUpDecision', { since: t0 - 1000 }).length, 0);
    assertSyncedAgree(s);
  });

  test('a loss, then pods that need two more nodes: the scale-up starts from the nodes there are', async () => {
    const s = await start({
      label: 'ledger-from',
      pool: { min: 1, max: 6, underutilizedForSeconds: 3600 },
      initialWorkers: 3,
    });
    await waitForSynced(s, 3);
    const [victim] = (await s.workers()).map((n) => n.metadata?.name as string);
    await s.kube.core.deleteNode({ name: victim as string, gracePeriodSeconds: 0 });
    const lost = await waitForEvent(
      s,
      'NodeUnexpectedlyLost',
      (e) => (e.data as { node_name: string }).node_name === victim,
    );
    assert.equal(dataOf(lost, 'io.scalewise.NodeUnexpectedlyLost').remaining_workers, 2);
    await waitForSynced(s, 2, { since: Date.parse(lost.time) });
    // Four pods of 3 CPU on 4-CPU nodes: one per node, two for the nodes there are, two new.
    const t0 = Date.now();
    await deploy(s, { name: 'wide', replicas: 4, cpu: '3', memory: '256Mi' });
    // One decision for the burst, or one per part of it when the scheduler marks the pods
    // unschedulable further apart than the debounce: either way the first starts from the
    // nodes there are (2, not the 3 before the loss) and each next from where the last heads.
    await settlesAt(s, 4);
    const ups = eventsOf(s, 'ScaleUpDecision', { since: t0 }).map((e) =>
      dataOf(e, 'io.scalewise.ScaleUpDecision'),
    );
    assert.ok(ups.length >= 1, 'the pods were decided for');
    assert.equal(ups[0]?.current_workers, 2, 'the first decision starts from the nodes there are');
    for (const [i, up] of ups.entries()) {
      assert.equal(up.desired_workers, up.current_workers + up.count);
      if (i > 0)
        assert.equal(up.current_workers, ups[i - 1]?.desired_workers, 'each starts where the last heads');
    }
    assert.equal(ups.at(-1)?.desired_workers, 4, 'two more nodes in all');
    // An action states the nodes there are when it starts (a second one may start before
    // the first one's node exists) and what it adds to them.
    const started = eventsOf(s, 'ScaleUpStarted', { since: t0 }).map((e) =>
      dataOf(e, 'io.scalewise.ScaleUpStarted'),
    );
    assert.equal(started.length, ups.length, 'one action per decision');
    assert.equal(started[0]?.previous_workers, 2);
    for (const x of started) assert.equal(x.target_workers, x.previous_workers + x.count);
    assert.equal(
      started.reduce((n, x) => n + x.count, 0),
      2,
      'the actions add the two nodes the pods need',
    );
    const done = await completedActions(s, ups.length, t0);
    assert.equal(done.length, ups.length, 'every action completed');
    assert.equal(Math.max(...done.map((d) => d.new_workers)), 4);
    assert.equal(eventsOf(s, 'AutoScaleUpToMinimum').length, 0, 'above the floor throughout');
    assertSyncedAgree(s);
  });

  test('a scale-down 6 -> 2: no loss reported for the removed nodes, blocks name the action, numbers match the nodes', async () => {
    const s = await start({
      label: 'ledger-down',
      pool: { min: 2, max: 6, underutilizedForSeconds: 1, scaleDownWindowSeconds: 0 },
      initialWorkers: 6,
    });
    await waitForSynced(s, 6);
    const decision = await waitForEvent(s, 'ScaleDownDecision', () => true, { timeoutMs: 60_000 });
    const d = dataOf(decision, 'io.scalewise.ScaleDownDecision');
    assert.equal(d.current_workers, 6);
    await settlesAt(s, d.desired_workers);
    // Scale-downs until the minimum (one or several decisions), then nothing below it.
    await settlesAt(s, 2, 90_000);
    const removed = new Set(
      eventsOf(s, 'NodeRemoved').map((e) => dataOf(e, 'io.scalewise.NodeRemoved').node_name),
    );
    assert.equal(removed.size, 4);
    const lost = eventsOf(s, 'NodeUnexpectedlyLost').map(
      (e) => dataOf(e, 'io.scalewise.NodeUnexpectedlyLost').node_name,
    );
    assert.deepEqual(lost, [], 'a node Scalewise removed was reported lost');
    // A block beside a decision names the state it saw: while an action runs, that action.
    const decisions = eventsOf(s, 'ScaleDownDecision');
    for (const b of eventsOf(s, 'ScaleDownBlocked')) {
      const data = dataOf(b, 'io.scalewise.ScaleDownBlocked');
      if (data.reason !== 'at_minimum') continue;
      assert.equal(data.workers, data.min_workers, `at_minimum with ${data.workers} workers: ${b.id}`);
    }
    const completions = await completedActions(s, decisions.length);
    const story = JSON.stringify({
      decisions: decisions.map((e) => [e.time, e.data]),
      completions: eventsOf(s, 'ScalingActionCompleted').map((e) => [e.time, e.data]),
      removed: eventsOf(s, 'NodeRemoved').map((e) => [e.time, (e.data as { node_name: string }).node_name]),
    });
    assert.equal(completions.at(-1)?.new_workers, 2, story);
    for (const [i, e] of decisions.entries()) {
      const x = dataOf(e, 'io.scalewise.ScaleDownDecision');
      const c = completions[i];
      assert.ok(c, `a completion for decision ${e.id}`);
      assert.equal(
        c.new_workers,
        x.desired_workers,
        `decision ${x.current_workers} -> ${x.desired_workers} ended at ${c.new_workers}`,
      );
    }
    assertSyncedAgree(s);
  });

  test('set 8 on an empty pool, +4 per 15 s: completed 0 -> 4 -> 8, held against underutilisation, its end explained', async () => {
    const hold = 20;
    const s = await start({
      label: 'ledger-hold',
      pool: {
        min: 0,
        max: 10,
        scaleUpPodsPer15s: 4,
        underutilizedForSeconds: 1,
        scaleDownWindowSeconds: 0,
        triggerHoldSeconds: hold,
      },
    });
    await waitForSynced(s, 0);
    const id = await sendTrigger(s, { action: 'set', target: 8, reason: 'release' });
    const first = await waitForEvent(s, 'ScaleUpDecision', (e) => e.causationid === id);
    const d1 = dataOf(first, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d1.current_workers, d1.desired_workers], [0, 4], 'the rate policy cuts it to +4');
    // The rest once the period has passed, without another trigger.
    const second = await waitForEvent(
      s,
      'ScaleUpDecision',
      (e) => dataOf(e, 'io.scalewise.ScaleUpDecision').explanation.rule === 'trigger_hold',
      { timeoutMs: 60_000 },
    );
    const d2 = dataOf(second, 'io.scalewise.ScaleUpDecision');
    assert.deepEqual([d2.current_workers, d2.desired_workers], [4, 8]);
    assert.equal(d2.explanation.inputs.trigger_id, id);
    assert.ok(
      Date.parse(second.time) - Date.parse(first.time) >= 14_000,
      'the second decision waits for the rate period',
    );
    await settlesAt(s, 8);
    // The nodes are empty: underutilised, but held at 8 (and, before, at the 4 on the way).
    for (const e of eventsOf(s, 'ScaleDownBlocked')) {
      const early = dataOf(e, 'io.scalewise.ScaleDownBlocked');
      assert.equal(early.reason === 'trigger_hold' ? early.trigger_id : id, id);
    }
    const blocked = await waitForEvent(
      s,
      'ScaleDownBlocked',
      (e) =>
        dataOf(e, 'io.scalewise.ScaleDownBlocked').reason === 'trigger_hold' &&
        dataOf(e, 'io.scalewise.ScaleDownBlocked').workers === 8,
      { timeoutMs: 60_000 },
    );
    const b = dataOf(blocked, 'io.scalewise.ScaleDownBlocked');
    assert.deepEqual([b.trigger_id, b.workers], [id, 8]);
    assert.ok(b.retry_after !== undefined && b.retry_after <= hold, `retry_after ${b.retry_after}`);
    const ended = await waitForEvent(s, 'TriggerHoldEnded', () => true, { timeoutMs: (hold + 30) * 1000 });
    const nodesAtEnd = await count(s);
    const end = dataOf(ended, 'io.scalewise.TriggerHoldEnded');
    assert.deepEqual(
      [
        end.trigger_id,
        end.reason,
        end.reached,
        end.held_seconds,
        end.target,
        end.workers,
        end.desired_workers,
      ],
      [id, 'expired', true, hold, 8, nodesAtEnd, 8],
    );
    assert.equal(
      eventsOf(s, 'ScaleDownDecision', { since: 0 }).filter(
        (e) => Date.parse(e.time) < Date.parse(ended.time),
      ).length,
      0,
      'no scale-down while the target was held',
    );
    // Released: the empty pool shrinks for underutilisation, and the numbers match the nodes.
    const down = dataOf(
      await waitForEvent(s, 'ScaleDownDecision', () => true, { since: Date.parse(ended.time) }),
      'io.scalewise.ScaleDownDecision',
    );
    assert.equal(down.current_workers, 8);
    await settlesAt(s, down.desired_workers, 90_000);
    assertSyncedAgree(s);
  });
});

// The external provider on the whole system: all six services as processes, the reference
// provisioner (services/provisioner) as a process of its own, its machines' Nodes registering
// on the real API server after a boot delay. node-manager SIGKILLed in the middle of a scale-up,
// once right after the decision and once while the machines boot: the restarted node-manager
// resumes the action under the same idempotency key, so each action's machines are made once,
// its Nodes join, and the action completes with the numbers of the nodes there are.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { waitFor } from '@scalewise/testing';
import { dataOf, eventsOf, waitForEvent, waitForSynced } from './expect.ts';
import { type ProvisionerProcess, type System, startProvisioner, startSystem } from './harness.ts';
import { sendTrigger } from './triggers.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe('the external provider on the whole system', () => {
  test('node-manager SIGKILLed mid-action, after the decision and while machines boot: each machine made once, the actions complete', async () => {
    const prov: ProvisionerProcess = await startProvisioner('kill');
    cleanups.push(() => prov.stop());
    const s: System = await startSystem({
      label: 'external-kill',
      pool: {
        min: 0,
        max: 10,
        underutilizedForSeconds: 3600,
        scaleUpPodsPer15s: 20,
        external: { url: prov.url, parameters: { boot_delay_ms: '3000' } },
      },
    });
    cleanups.push(() => s.stop());
    await waitForSynced(s, 0);
    let expected = 0;
    const resumed: string[] = [];

    for (const when of ['decided', 'booting'] as const) {
      const t0 = Date.now();
      const id = await sendTrigger(s, { action: 'scale_up', count: 2, reason: `kill node-manager ${when}` });
      const decision = await waitForEvent(s, 'ScaleUpDecision', (e) => e.causationid === id, {
        since: t0 - 1000,
        timeoutMs: 30_000,
        what: `the trigger decided (${when})`,
      });
      const actionId = decision.id;
      const mine = async () => (await prov.workers(s.pool)).filter((w) => w.idempotency_key === actionId);
      if (when === 'booting') {
        // The create was answered: the machines exist and their Nodes have not joined yet.
        await waitFor(async () => (await mine()).length === 2, {
          timeoutMs: 30_000,
          intervalMs: 50,
          what: 'the machines created',
        });
        assert.ok(
          (await mine()).every((w) => w.state === 'creating'),
          'killed while the machines boot',
        );
      }
      const killedAt = Date.now();
      await s.kill('node-manager');
      await s.restart('node-manager');
      expected += 2;
      const done = await waitForEvent(
        s,
        'ScalingActionCompleted',
        (e) => dataOf(e, 'io.scalewise.ScalingActionCompleted').action_id === actionId,
        { since: t0 - 1000, timeoutMs: 90_000, what: `the action completed (${when})` },
      );
      resumed.push(
        `node-manager killed ${when === 'decided' ? 'after the decision' : 'while the machines booted'}: the action completed ${((Date.parse(done.time) - killedAt) / 1000).toFixed(1)} s after the kill`,
      );
      const machines = await mine();
      assert.equal(machines.length, 2, `the action's machines made once (${when})`);
      assert.equal((await prov.workers(s.pool)).length, expected, `no other machine (${when})`);
      await waitFor(async () => (await s.readyWorkers()).length === expected, {
        timeoutMs: 30_000,
        what: `${expected} Ready nodes (${when})`,
      });
      assert.deepEqual(
        (await s.readyWorkers()).sort(),
        (await prov.workers(s.pool)).map((w) => w.name).sort(),
        'every machine is a Ready node, and every node a machine',
      );
      const created = eventsOf(s, 'NodeCreated', {
        since: t0 - 1000,
        where: (e) => dataOf(e, 'io.scalewise.NodeCreated').action_id === actionId,
      });
      assert.deepEqual(
        [...new Set(created.map((e) => dataOf(e, 'io.scalewise.NodeCreated').node_name))].sort(),
        machines.map((w) => w.name).sort(),
        'NodeCreated names the machines made',
      );
      assert.equal(
        new Set(created.map((e) => e.id)).size,
        2,
        'one NodeCreated per machine (a republished one keeps its id)',
      );
      assert.deepEqual(
        eventsOf(s, 'ScalingActionFailed', {
          since: t0 - 1000,
          where: (e) => dataOf(e, 'io.scalewise.ScalingActionFailed').action_id === actionId,
        }).map((e) => dataOf(e, 'io.scalewise.ScalingActionFailed').message),
        [],
      );
      assert.equal(dataOf(done, 'io.scalewise.ScalingActionCompleted').new_workers, expected);
      await waitForSynced(s, expected, { since: Date.parse(done.time) });
    }
    console.log(resumed.join('\n'));
    // Nothing more appears later: no machine made twice.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await prov.workers(s.pool)).length, expected);
  });
});

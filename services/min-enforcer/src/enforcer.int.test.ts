// min-enforcer as a service on the real Kafka, Redis and S3: seed 000's minimum-node violation
// recovery from fed events and a simulated node-manager, the periodic check repairing again
// after a failed action with no event arriving, and two replicas repairing a violation once.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { type LoadedConfig, loadConfig } from '@scalewise/config';
import {
  type AnyScalewiseEvent,
  causedBy,
  createEvent,
  type EventData,
  type EventType,
  sampleData,
} from '@scalewise/events';
import { createService, type Service } from '@scalewise/service';
import { getStack, type StackEndpoints, serversYaml, uniqueName, waitFor } from '@scalewise/testing';
import { defineMinEnforcer } from './service.ts';

const quiet = new Writable({ write: (_c, _e, done) => done() });
let stack: StackEndpoints;
const running: Service[] = [];

before(async () => {
  stack = await getStack();
});
after(async () => {
  await Promise.all(running.map((s) => s.stop().catch(() => undefined)));
});

function testConfig(checkInterval: number): { loaded: LoadedConfig; prefix: string } {
  const prefix = `${uniqueName('me')}.`;
  const loaded = loadConfig({
    text: `
cluster_id: ${uniqueName('c')}
autoscaler:
  pools: [{ name: workers, min: 2, max: 6 }]
  enforcement: { min_violation_check_interval: ${checkInterval}, emergency_scale_threshold: 2 }
events: { topic_prefix: "${prefix}", group_prefix: "${prefix}", partitions: 3 }
${serversYaml(stack)}
telemetry: { log_level: warn }
shutdown_timeout_seconds: 10
`,
    env: {},
  });
  return { loaded, prefix };
}

async function startEnforcer(loaded: LoadedConfig, groupId?: string): Promise<Service> {
  const service = await createService(
    defineMinEnforcer({
      config: loaded,
      fromBeginning: true,
      ...(groupId ? { groupId } : {}),
      telemetry: { logDestination: quiet },
    }),
  );
  running.push(service);
  await service.start();
  return service;
}

const ev = <T extends EventType>(type: T, data: Partial<EventData<T>>, clusterid: string) =>
  createEvent(type, { ...sampleData[type], ...data } as EventData<T>, {
    source: '/scalewise/test/feeder',
    clusterid,
  }) as AnyScalewiseEvent;
const synced = (workers: number, cid: string) =>
  ev(
    'io.scalewise.ClusterStateSynced',
    { workers, k8s_nodes: workers, docker_containers: workers, db_workers: workers },
    cid,
  );
const short = (e: AnyScalewiseEvent) => e.type.replace('io.scalewise.', '');

describe('min-enforcer on the real broker', () => {
  test('seed 000 flow 2, minimum node violation recovery: the seed chain, in the seed order', async (t) => {
    const { loaded, prefix } = testConfig(60);
    const cid = loaded.config.cluster_id;
    const me = await startEnforcer(loaded);
    const topics = ['nodes', 'decisions', 'actions', 'state'].map((k) => `${prefix}${k}`);
    const rec = await recordTopics(stack.kafka.brokers, topics, uniqueName('rec'));
    t.after(() => rec.stop());
    // node-manager, simulated: carries out the repair and reports each step.
    const nm = await recordTopics(stack.kafka.brokers, [`${prefix}decisions`], uniqueName('nm'));
    t.after(() => nm.stop());
    const acted = new Set<string>();
    const nodeManager = setInterval(() => {
      for (const d of nm.of('io.scalewise.AutoScaleUpToMinimum')) {
        if (acted.has(d.id)) continue;
        acted.add(d.id);
        const data = d.data as EventData<'io.scalewise.AutoScaleUpToMinimum'>;
        const s = { source: '/scalewise/test/node-manager' };
        const base = { pool: data.pool, action_id: d.id };
        const started = causedBy(
          d,
          'io.scalewise.ScaleUpStarted',
          {
            ...base,
            count: data.scale_up_count,
            previous_workers: data.current_workers,
            target_workers: data.min_workers,
          },
          s,
        );
        const created = causedBy(
          started,
          'io.scalewise.NodeCreated',
          { ...sampleData['io.scalewise.NodeCreated'], ...base, node_name: 'k3s-worker-14' },
          s,
        );
        const ready = causedBy(
          created,
          'io.scalewise.NodeReady',
          { ...sampleData['io.scalewise.NodeReady'], ...base, node_name: 'k3s-worker-14' },
          s,
        );
        const done = causedBy(
          ready,
          'io.scalewise.ScalingActionCompleted',
          {
            ...base,
            action: 'scale_up',
            count: data.scale_up_count,
            previous_workers: data.current_workers,
            new_workers: data.min_workers,
            duration: 2.5,
          },
          s,
        );
        void (async () => {
          for (const e of [started, created, ready, done]) await me.bus.publisher.publish(e);
        })();
      }
    }, 50);
    t.after(() => clearInterval(nodeManager));

    await me.bus.publisher.publish(synced(2, cid));
    // 1. NodeUnexpectedlyLost (k3s-worker-3 crashed)
    const lost = ev(
      'io.scalewise.NodeUnexpectedlyLost',
      { node_name: 'k3s-worker-3', remaining_workers: 1, cause: 'container_crash' },
      cid,
    );
    await me.bus.publisher.publish(lost);
    await waitFor(() => rec.of('io.scalewise.MinimumNodesRestored').length >= 1, {
      timeoutMs: 30_000,
      what: 'MinimumNodesRestored',
    });
    // 9. ClusterStateSynced (workers=2): nothing more to do.
    const last = synced(2, cid);
    await me.bus.publisher.publish(last);
    await waitFor(() => rec.events.some((e) => e.id === last.id), {
      timeoutMs: 10_000,
      what: 'the last sync',
    });

    const chain = rec.events.filter((e) => e.correlationid === lost.correlationid);
    const order = [
      'NodeUnexpectedlyLost',
      'MinimumNodesViolation',
      'AutoScaleUpToMinimum',
      'ScaleUpStarted',
      'NodeCreated',
      'NodeReady',
      'ScalingActionCompleted',
      'MinimumNodesRestored',
    ];
    assert.deepEqual(
      chain.map(short).sort(),
      [...order].sort(),
      'one chain, one correlation id, each step once',
    );
    const byType = new Map(chain.map((e) => [short(e), e]));
    const seq = order.map((n) => byType.get(n) as AnyScalewiseEvent);
    // Each caused by the one before it (the violation and its repair both by the loss), times in order.
    assert.equal(seq[1]?.causationid, lost.id);
    assert.equal(seq[2]?.causationid, lost.id);
    for (let i = 3; i < seq.length; i++)
      assert.equal(seq[i]?.causationid, seq[i - 1]?.id, `${order[i]} caused by ${order[i - 1]}`);
    for (let i = 1; i < seq.length; i++) {
      assert.ok(
        Date.parse(seq[i]?.time ?? '') >= Date.parse(seq[i - 1]?.time ?? ''),
        `${order[i]} not before ${order[i - 1]}`,
      );
    }
    const v = seq[1]?.data as EventData<'io.scalewise.MinimumNodesViolation'>;
    assert.equal(v.current_workers, 1);
    assert.equal(v.min_workers, 2);
    const repair = seq[2]?.data as EventData<'io.scalewise.AutoScaleUpToMinimum'>;
    assert.equal(repair.scale_up_count, 1);
    assert.equal(repair.reason, 'minimum_violation');
    const restored = seq[7]?.data as EventData<'io.scalewise.MinimumNodesRestored'>;
    assert.equal(restored.current_workers, 2);
    assert.equal(
      rec.of('io.scalewise.AutoScaleUpToMinimum', 'io.scalewise.EmergencyScaleUp').length,
      1,
      'one repair',
    );
  });

  test('the periodic check repairs again after a failed floor action, with no event arriving', async (t) => {
    const { loaded, prefix } = testConfig(1);
    const cid = loaded.config.cluster_id;
    const me = await startEnforcer(loaded);
    const rec = await recordTopics(stack.kafka.brokers, [`${prefix}decisions`], uniqueName('rec'));
    t.after(() => rec.stop());
    await me.bus.publisher.publish(synced(1, cid));
    await waitFor(() => rec.of('io.scalewise.AutoScaleUpToMinimum').length >= 1, {
      timeoutMs: 30_000,
      what: 'the first repair',
    });
    const first = rec.of('io.scalewise.AutoScaleUpToMinimum')[0] as AnyScalewiseEvent;
    await me.bus.publisher.publish(
      causedBy(
        first,
        'io.scalewise.ScalingActionFailed',
        {
          ...sampleData['io.scalewise.ScalingActionFailed'],
          pool: 'workers',
          action_id: first.id,
        },
        { source: '/scalewise/test/node-manager' },
      ),
    );
    await waitFor(() => rec.of('io.scalewise.AutoScaleUpToMinimum').length >= 2, {
      timeoutMs: 30_000,
      what: 'the repair retried by the check',
    });
    const second = rec.of('io.scalewise.AutoScaleUpToMinimum')[1] as AnyScalewiseEvent;
    assert.match(
      second.id,
      /^check\/workers\/\d+\/workers\/AutoScaleUpToMinimum$/,
      'issued by the periodic check',
    );
    assert.equal(second.causationid, undefined);
    assert.equal((second.data as EventData<'io.scalewise.AutoScaleUpToMinimum'>).scale_up_count, 1);
  });

  test('two replicas that both receive every event and both check every second repair one violation once', async (t) => {
    const { loaded, prefix } = testConfig(1);
    const cid = loaded.config.cluster_id;
    const a = await startEnforcer(loaded, `${prefix}replica-a`);
    await startEnforcer(loaded, `${prefix}replica-b`);
    const rec = await recordTopics(
      stack.kafka.brokers,
      [`${prefix}decisions`, `${prefix}state`],
      uniqueName('rec'),
    );
    t.after(() => rec.stop());
    await a.bus.publisher.publish(synced(3, cid));
    await a.bus.publisher.publish(
      ev(
        'io.scalewise.NodeUnexpectedlyLost',
        { node_name: 'w-1', remaining_workers: 1, cause: 'node_deleted' },
        cid,
      ),
    );
    await waitFor(
      () => rec.of('io.scalewise.EmergencyScaleUp', 'io.scalewise.AutoScaleUpToMinimum').length >= 1,
      { timeoutMs: 30_000, what: 'a repair' },
    );
    // Let both replicas run several checks with the repair in flight.
    await new Promise((r) => setTimeout(r, 3500));
    const repairs = new Set(
      rec.of('io.scalewise.EmergencyScaleUp', 'io.scalewise.AutoScaleUpToMinimum').map((e) => e.id),
    );
    const violations = new Set(rec.of('io.scalewise.MinimumNodesViolation').map((e) => e.id));
    assert.equal(repairs.size, 1, `one repair, not ${[...repairs].join(', ')}`);
    assert.equal(violations.size, 1, 'one violation reported');
  });
});

// min-enforcer as a service on the real Kafka, Redis and S3, with the pool ledger in Redis. The
// producers are simulated as they work: state-sync lists the pool into the ledger and writes
// each loss there before it publishes it; node-manager writes each step of an action before it
// publishes it; the decision engine claims its scale-ups. What min-enforcer publishes is checked
// against the ledger: seed 000's minimum-node violation recovery, the periodic check repairing
// again after a failed action with no event arriving, two replicas repairing one deficit once,
// and a deficit a decision already covers not repaired at all.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import { type Recorder, recordTopics } from '@scalewise/bus/test-support/recorder';
import { type LoadedConfig, loadConfig } from '@scalewise/config';
import {
  type AnyScalewiseEvent,
  causedBy,
  type EventData,
  type EventType,
  sampleChild,
  sampleEvent,
  shortName,
  topicOf,
} from '@scalewise/events';
import {
  claim,
  createPoolStore,
  inFlightOf,
  type Ledger,
  limitsOf,
  listed,
  type PoolStore,
  recordFacts,
  workersOf,
} from '@scalewise/pool';
import { createService, type Service } from '@scalewise/service';
import { kitOpenRoutes, sweepRoutes } from '@scalewise/service/test-support';
import { integrationFixture, quiet, serviceYaml, uniqueName, waitFor } from '@scalewise/testing';
import { defineMinEnforcer } from './service.ts';

const POOL = 'workers';
/** The pool's action_timeout_seconds (the default), as the producers use it. */
const TIMEOUT_MS = 600_000;

const fx = integrationFixture({ recorder: recordTopics });

function testConfig(
  checkInterval: number,
  auth: { apiToken?: string; http?: string; env?: Record<string, string> } = {},
): { loaded: LoadedConfig; prefix: string } {
  const prefix = `${uniqueName('me')}.`;
  const loaded = loadConfig({
    text: serviceYaml(fx.stack, {
      clusterId: uniqueName('c'),
      prefix,
      autoscaler: `  pools: [{ name: ${POOL}, min: 2, max: 6 }]
  enforcement: { min_violation_check_interval: ${checkInterval}, emergency_scale_threshold: 2 }`,
      servers: { apiToken: auth.apiToken, http: auth.http },
    }),
    env: auth.env ?? {},
  });
  return { loaded, prefix };
}

async function startEnforcer(loaded: LoadedConfig, groupId?: string): Promise<Service> {
  const service = createService(
    defineMinEnforcer({
      config: loaded,
      fromBeginning: true,
      ...(groupId ? { groupId } : {}),
      telemetry: { logDestination: quiet },
    }),
  );
  return fx.start(service);
}

/**
 * A test's own min-enforcer: a config of its own checking every `checkInterval` seconds, the
 * service started, and its `topics` (keys after the config's prefix) recorded until the test ends.
 */
async function enforcerFor(t: TestContext, checkInterval: number, topics: readonly string[]) {
  const { loaded, prefix } = testConfig(checkInterval);
  const me = await startEnforcer(loaded);
  const rec = await fx.record(
    topics.map((k) => `${prefix}${k}`),
    { scope: t },
  );
  return { prefix, cid: loaded.config.cluster_id, me, rec };
}

const ev = <T extends EventType>(type: T, data: Partial<EventData<T>>, clusterid: string) =>
  sampleEvent(type, data, { source: '/scalewise/test/feeder', clusterid });
const data = <T extends EventType>(e: AnyScalewiseEvent | undefined, type: T): EventData<T> => {
  assert.equal(e?.type, type);
  return (e as AnyScalewiseEvent).data as EventData<T>;
};
const short = (e: AnyScalewiseEvent): string => shortName(e.type);

/** The pool record as another service reads and writes it: the shared ledger, no part of its own. */
const storeOf = (svc: Service, service: string): PoolStore<null, AnyScalewiseEvent> =>
  createPoolStore({ redis: svc.bus.redis, clusterId: svc.config.cluster_id, service });

const ledgerOf = async (svc: Service): Promise<Ledger> => (await storeOf(svc, 'state-sync').get(POOL)).ledger;

/**
 * A producer (state-sync, node-manager) writes the facts of its events into the ledger, then
 * publishes them with the ledger's numbers; returns them as published.
 */
async function produce(svc: Service, service: string, ...events: AnyScalewiseEvent[]) {
  const applied = await storeOf(svc, service).apply(POOL, events[0]?.id ?? randomUUID(), (ledger) => {
    const r = recordFacts(ledger, events, Date.now(), TIMEOUT_MS);
    return { ledger: r.ledger, outputs: r.events };
  });
  await svc.bus.publisher.publish(...applied.outputs);
  return applied.outputs;
}

/**
 * state-sync lists the pool's nodes into the ledger and publishes what the listing found: a
 * loss per member gone, then the sync (nothing with `publish: false`).
 */
async function listing(svc: Service, names: string[], { publish = true } = {}) {
  const cid = svc.config.cluster_id;
  const applied = await storeOf(svc, 'state-sync').apply(POOL, randomUUID(), (ledger) => {
    const now = Date.now();
    const l = listed(
      ledger,
      names.map((name) => ({ name, ready: true })),
      now,
    );
    const losses = recordFacts(
      l.ledger,
      l.lost.map((node) =>
        ev('io.scalewise.NodeUnexpectedlyLost', { node_name: node, cause: 'node_deleted' }, cid),
      ),
      now,
      TIMEOUT_MS,
    );
    const n = workersOf(losses.ledger) ?? 0;
    const synced = ev(
      'io.scalewise.ClusterStateSynced',
      {
        workers: n,
        k8s_nodes: n,
        docker_containers: n,
        db_workers: n,
        last_sync: new Date(now).toISOString(),
      },
      cid,
    );
    return { ledger: losses.ledger, outputs: [...losses.events, synced] };
  });
  if (publish) await svc.bus.publisher.publish(...applied.outputs);
  return applied.outputs;
}

/**
 * node-manager carries out a scale-up of `count` (the action `parent` decided), each step written
 * into the ledger before it is published: started, then per node created and Ready, completed.
 */
async function carryOut(svc: Service, parent: AnyScalewiseEvent, count: number, nodes: string[]) {
  const s = { source: '/scalewise/test/node-manager' };
  const base = { pool: POOL, action_id: parent.id };
  // previous/target/new_workers are the ledger's, written in by recordFacts.
  let last: AnyScalewiseEvent = causedBy(
    parent,
    'io.scalewise.ScaleUpStarted',
    { ...base, count, previous_workers: 0, target_workers: count },
    s,
  );
  await produce(svc, 'node-manager', last);
  for (const node of nodes.slice(0, count)) {
    const created: AnyScalewiseEvent = sampleChild(
      last,
      'io.scalewise.NodeCreated',
      { ...base, node_name: node },
      s,
    );
    await produce(svc, 'node-manager', created);
    last = sampleChild(created, 'io.scalewise.NodeReady', { ...base, node_name: node }, s);
    await produce(svc, 'node-manager', last);
  }
  const done = causedBy(
    last,
    'io.scalewise.ScalingActionCompleted',
    { ...base, action: 'scale_up', count, previous_workers: 0, new_workers: 0, duration: 2.5 },
    s,
  );
  await produce(svc, 'node-manager', done);
}

/** node-manager, simulated: carries out every floor action it reads, once. */
function simulateNodeManager(
  t: TestContext,
  svc: Service,
  decisions: Recorder,
  names: (i: number) => string,
) {
  const acted = new Set<string>();
  let work: Promise<void> = Promise.resolve();
  let failure: unknown;
  let n = 0;
  const timer = setInterval(() => {
    for (const d of decisions.of('io.scalewise.AutoScaleUpToMinimum', 'io.scalewise.EmergencyScaleUp')) {
      if (acted.has(d.id)) continue;
      acted.add(d.id);
      const count =
        d.type === 'io.scalewise.EmergencyScaleUp'
          ? data(d, 'io.scalewise.EmergencyScaleUp').emergency_scale
          : data(d, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count;
      const nodes = Array.from({ length: count }, () => names(n++));
      work = work
        .then(() => carryOut(svc, d, count, nodes))
        .catch((err: unknown) => {
          failure ??= err;
        });
    }
  }, 50);
  t.after(async () => {
    clearInterval(timer);
    await work;
    if (failure) throw failure;
  });
}

/**
 * Waits until min-enforcer's consumer group has committed `n` records of the topic: it has
 * handled them (and published what they caused).
 */
async function handled(svc: Service, prefix: string, topic: string, n: number): Promise<void> {
  const admin = svc.bus.kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      async () => {
        const [res] = await admin.fetchOffsets({
          groupId: `${prefix}min-enforcer`,
          topics: [`${prefix}${topic}`],
        });
        return (res?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) >= n;
      },
      { timeoutMs: 30_000, what: `min-enforcer to handle ${n} records of ${topic}` },
    );
  } finally {
    await admin.disconnect();
  }
}

/** The floor actions min-enforcer claimed in the ledger. */
const floorActions = (l: Ledger) => Object.values(l.actions).filter((a) => a.origin === 'floor');

describe('min-enforcer on the real broker, with the pool ledger', () => {
  test('seed 000 flow 2, minimum node violation recovery: the seed chain in the seed order, every number the ledger’s', async (t) => {
    const { prefix, cid, me, rec } = await enforcerFor(t, 60, ['nodes', 'decisions', 'actions', 'state']);
    const nm = await fx.record([`${prefix}decisions`], { groupId: uniqueName('nm'), scope: t });
    simulateNodeManager(t, me, nm, () => 'k3s-worker-14');

    await listing(me, ['k3s-worker-1', 'k3s-worker-3']);
    // Read before the loss is written: read after, it would find the loss in the ledger and be
    // what the violation is caused by (right too, but not the seed's chain).
    await handled(me, prefix, 'state', 1);
    // 1. NodeUnexpectedlyLost (k3s-worker-3 crashed): written by state-sync, then published.
    const [lost] = await produce(
      me,
      'state-sync',
      ev('io.scalewise.NodeUnexpectedlyLost', { node_name: 'k3s-worker-3', cause: 'container_crash' }, cid),
    );
    assert.equal(data(lost, 'io.scalewise.NodeUnexpectedlyLost').remaining_workers, 1);
    await waitFor(() => rec.of('io.scalewise.MinimumNodesRestored').length >= 1, {
      timeoutMs: 30_000,
      what: 'MinimumNodesRestored',
    });
    // 9. state-sync lists the pool again: nothing more to do.
    const last = (await listing(me, ['k3s-worker-1', 'k3s-worker-14'])).at(-1) as AnyScalewiseEvent;
    await waitFor(() => rec.events.some((e) => e.id === last.id), {
      timeoutMs: 10_000,
      what: 'the last sync',
    });
    await handled(me, prefix, 'state', rec.events.filter((e) => topicOf(e.type) === 'state').length);

    const chain = rec.events.filter((e) => e.correlationid === lost?.correlationid);
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
    assert.equal(seq[1]?.causationid, lost?.id);
    assert.equal(seq[2]?.causationid, lost?.id);
    for (let i = 3; i < 7; i++)
      assert.equal(seq[i]?.causationid, seq[i - 1]?.id, `${order[i]} caused by ${order[i - 1]}`);
    // The restoration follows whichever of NodeReady and the completion min-enforcer read once
    // the completion was in the ledger: node-manager writes both before it publishes either.
    assert.ok(
      [seq[5]?.id, seq[6]?.id].includes(seq[7]?.causationid),
      `restored after the completion was written, caused by ${seq[7]?.causationid}`,
    );
    for (let i = 1; i < seq.length; i++) {
      assert.ok(
        Date.parse(seq[i]?.time ?? '') >= Date.parse(seq[i - 1]?.time ?? ''),
        `${order[i]} not before ${order[i - 1]}`,
      );
    }

    // Every number is the ledger's at the time: 1 left, one to add, 2 again.
    const ledger = await ledgerOf(me);
    const v = data(seq[1], 'io.scalewise.MinimumNodesViolation');
    assert.deepEqual([v.current_workers, v.min_workers], [1, 2]);
    const repair = data(seq[2], 'io.scalewise.AutoScaleUpToMinimum');
    assert.deepEqual(
      [repair.current_workers, repair.scale_up_count, repair.reason],
      [1, 1, 'minimum_violation'],
    );
    const started = data(seq[3], 'io.scalewise.ScaleUpStarted');
    assert.deepEqual([started.previous_workers, started.target_workers], [1, 2]);
    const done = data(seq[6], 'io.scalewise.ScalingActionCompleted');
    assert.deepEqual([done.previous_workers, done.new_workers], [1, 2]);
    const restored = data(seq[7], 'io.scalewise.MinimumNodesRestored');
    assert.equal(restored.current_workers, 2);
    assert.equal(workersOf(ledger), 2);
    assert.deepEqual(
      floorActions(ledger).map((a) => [a.id, a.state, a.count, a.nodes]),
      [[seq[2]?.id, 'done', 1, ['k3s-worker-14']]],
      'one repair, claimed in the ledger and carried out',
    );
    assert.equal(
      rec.of('io.scalewise.AutoScaleUpToMinimum', 'io.scalewise.EmergencyScaleUp').length,
      1,
      'one repair',
    );
  });

  test('a trigger.update for another cluster, or with bad data, changes nothing; one naming no cluster is applied', async (t) => {
    const { prefix, cid, me, rec } = await enforcerFor(t, 60, ['decisions', 'dlq']);
    await listing(me, ['k3s-worker-1', 'k3s-worker-2']);
    // As an external system sends them (docs/triggers.md), in this order on one partition.
    const raw = (id: string, update: unknown, extra: Record<string, string> = {}) => ({
      key: POOL,
      value: Buffer.from(JSON.stringify(update)),
      headers: {
        ce_specversion: '1.0',
        ce_id: id,
        ce_type: 'io.scalewise.trigger.update',
        ce_source: '/ci/kcat',
        'content-type': 'application/json',
        ...extra,
      },
    });
    const producer = me.bus.kafka.producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    await producer.send({
      topic: `${prefix}triggers`,
      acks: -1,
      messages: [
        raw('up-to-3', { pool: POOL, min: 3 }),
        raw('elsewhere-4', { pool: POOL, min: 4 }, { ce_clusterid: 'elsewhere' }),
        raw('bad-min', { pool: POOL, min: -5 }),
      ],
    });
    await handled(me, prefix, 'triggers', 3);
    assert.deepEqual(limitsOf(await ledgerOf(me), 2, 6), { min: 3, max: 6 }, 'only the first applied');
    // The floor it raised is repaired once, in this cluster, caused by the trigger.
    await waitFor(() => rec.of('io.scalewise.AutoScaleUpToMinimum').length >= 1, {
      timeoutMs: 30_000,
      what: 'the repair of the raised floor',
    });
    const repairs = rec.of('io.scalewise.AutoScaleUpToMinimum');
    assert.deepEqual(
      repairs.map((e) => [
        e.causationid,
        e.clusterid,
        data(e, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count,
      ]),
      [['up-to-3', cid, 1]],
    );
    assert.deepEqual(rec.of('io.scalewise.DeadLetterRecorded'), [], 'nothing dead-lettered');
  });

  test('the periodic check repairs again after a failed floor action, one interval after the failure, with no event arriving', async (t) => {
    const { me, rec } = await enforcerFor(t, 1, ['decisions']);
    // state-sync has listed one node and published nothing: the check finds the pool short.
    await listing(me, ['w-1'], { publish: false });
    await waitFor(() => rec.of('io.scalewise.AutoScaleUpToMinimum').length >= 1, {
      timeoutMs: 30_000,
      what: 'the first repair',
    });
    const first = rec.of('io.scalewise.AutoScaleUpToMinimum')[0] as AnyScalewiseEvent;
    await produce(
      me,
      'node-manager',
      sampleChild(
        first,
        'io.scalewise.ScalingActionFailed',
        { pool: POOL, action_id: first.id, completed_count: 0 },
        { source: '/scalewise/test/node-manager' },
      ),
    );
    await waitFor(() => rec.of('io.scalewise.AutoScaleUpToMinimum').length >= 2, {
      timeoutMs: 30_000,
      what: 'the repair retried by the check',
    });
    const second = rec.of('io.scalewise.AutoScaleUpToMinimum')[1] as AnyScalewiseEvent;
    for (const e of [first, second]) {
      assert.match(
        e.id,
        /^check\/workers\/\d+\/workers\/AutoScaleUpToMinimum$/,
        'issued by the periodic check',
      );
      assert.equal(e.causationid, undefined);
      assert.deepEqual(
        [
          data(e, 'io.scalewise.AutoScaleUpToMinimum').current_workers,
          data(e, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count,
        ],
        [1, 1],
      );
    }
    const ledger = await ledgerOf(me);
    const failed = ledger.actions[first.id];
    assert.equal(failed?.state, 'failed');
    assert.ok(
      Date.parse(second.time) >= (failed?.endedAt ?? Number.POSITIVE_INFINITY) + 1000,
      'not within one check interval of the failure',
    );
    assert.deepEqual(
      inFlightOf(ledger, Date.now()).map((a) => [a.id, a.origin, a.count]),
      [[second.id, 'floor', 1]],
    );
  });

  test('two replicas that both receive every event and both check every second repair one deficit once', async (t) => {
    const { loaded, prefix } = testConfig(1);
    const a = await startEnforcer(loaded, `${prefix}replica-a`);
    await startEnforcer(loaded, `${prefix}replica-b`);
    const rec = await fx.record([`${prefix}decisions`, `${prefix}state`], { scope: t });
    await listing(a, ['w-1', 'w-2', 'w-3']);
    // state-sync finds two of the three gone: two losses, then the sync.
    const found = await listing(a, ['w-3']);
    assert.deepEqual(found.map(short), [
      'NodeUnexpectedlyLost',
      'NodeUnexpectedlyLost',
      'ClusterStateSynced',
    ]);
    await waitFor(
      () => rec.of('io.scalewise.EmergencyScaleUp', 'io.scalewise.AutoScaleUpToMinimum').length >= 1,
      { timeoutMs: 30_000, what: 'a repair' },
    );
    // Nothing to wait for: let both replicas read the other events and run several checks with
    // the repair in flight.
    await new Promise((r) => setTimeout(r, 3500));
    const repairs = new Set(
      rec.of('io.scalewise.EmergencyScaleUp', 'io.scalewise.AutoScaleUpToMinimum').map((e) => e.id),
    );
    const violations = new Set(rec.of('io.scalewise.MinimumNodesViolation').map((e) => e.id));
    assert.equal(repairs.size, 1, `one repair, not ${[...repairs].join(', ')}`);
    assert.equal(violations.size, 1, 'one violation reported');
    // Two lost within the window: the emergency rule, twice the deficit of 1.
    const e = data(rec.of('io.scalewise.EmergencyScaleUp')[0], 'io.scalewise.EmergencyScaleUp');
    assert.deepEqual(
      [e.lost_count, e.remaining_workers, e.min_workers, e.emergency_scale, e.target_workers],
      [2, 1, 2, 2, 3],
    );
    const ledger = await ledgerOf(a);
    assert.equal(workersOf(ledger), e.remaining_workers);
    assert.deepEqual(
      floorActions(ledger).map((x) => [x.id, x.state, x.count]),
      [[[...repairs][0], 'claimed', 2]],
      'one claim in the ledger',
    );
  });

  test('a deficit a decision of the decision engine already covers is not repaired; restored when it completes', async (t) => {
    const { cid, me, rec } = await enforcerFor(t, 1, ['decisions', 'state']);
    await listing(me, ['w-1', 'w-2']);
    // The decision engine decided to add one node and claimed it in the ledger as it decided.
    const decision = ev(
      'io.scalewise.ScaleUpDecision',
      { current_workers: 2, desired_workers: 3, count: 1 },
      cid,
    );
    await storeOf(me, 'decision-engine').apply(POOL, decision.id, (ledger) => ({
      ledger: claim(ledger, {
        id: decision.id,
        direction: 'up',
        count: 1,
        origin: 'decision',
        now: Date.now(),
        timeoutMs: TIMEOUT_MS,
      }),
      outputs: [],
    }));
    await produce(
      me,
      'state-sync',
      ev('io.scalewise.NodeUnexpectedlyLost', { node_name: 'w-2', cause: 'node_deleted' }, cid),
    );
    await waitFor(() => rec.of('io.scalewise.MinimumNodesViolation').length >= 1, {
      timeoutMs: 30_000,
      what: 'the violation',
    });
    // Nothing to wait for: let the check run a few times with the pool short and the decision in flight.
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(rec.of('io.scalewise.EmergencyScaleUp', 'io.scalewise.AutoScaleUpToMinimum'), []);
    assert.equal(
      data(rec.of('io.scalewise.MinimumNodesViolation')[0], 'io.scalewise.MinimumNodesViolation')
        .current_workers,
      1,
    );

    // The route shows what the floor sees, derived from the ledger.
    const res = await me.app.inject({ method: 'GET', url: `/v1/pools/${POOL}/floor` });
    assert.equal(res.statusCode, 200);
    const view = res.json() as {
      workers: number;
      desired: number;
      min: number;
      max: number;
      violation: { since: number } | null;
      in_flight: { id: string; origin: string; remaining: number }[];
      losses: { node: string }[];
    };
    assert.deepEqual([view.workers, view.desired, view.min, view.max], [1, 2, 2, 6]);
    assert.ok(view.violation);
    assert.deepEqual(
      view.in_flight.map((x) => [x.id, x.origin, x.remaining]),
      [[decision.id, 'decision', 1]],
    );
    assert.deepEqual(
      view.losses.map((l) => l.node),
      ['w-2'],
    );

    await carryOut(me, decision, 1, ['w-4']);
    await waitFor(() => rec.of('io.scalewise.MinimumNodesRestored').length >= 1, {
      timeoutMs: 30_000,
      what: 'MinimumNodesRestored',
    });
    const restored = data(
      rec.of('io.scalewise.MinimumNodesRestored')[0],
      'io.scalewise.MinimumNodesRestored',
    );
    assert.equal(restored.current_workers, workersOf(await ledgerOf(me)));
    assert.equal(restored.current_workers, 2);
    assert.deepEqual(rec.of('io.scalewise.EmergencyScaleUp', 'io.scalewise.AutoScaleUpToMinimum'), []);
  });

  test('every route but the probes and /metrics needs a token: the sweep over the real route table', async () => {
    const write = 'me-write-token-0123456789';
    const read = 'me-read-token-01234567890';
    const { loaded } = testConfig(60, {
      apiToken: write,
      http: 'tokens: [{ name: viewer, scope: read, token_env: VIEWER_TOKEN }]',
      env: { VIEWER_TOKEN: read },
    });
    const me = await startEnforcer(loaded);
    const results = await sweepRoutes({
      app: me.app,
      tokens: { read, write },
      open: kitOpenRoutes,
      params: { pool: POOL },
    });
    assert.deepEqual(Object.fromEntries(results.map((r) => [r.route, r.statuses])), {
      'GET /v1/pools/:pool/floor': { none: 401, unknown: 401, read: 200 },
      'HEAD /v1/pools/:pool/floor': { none: 401, unknown: 401, read: 200 },
    });
  });
});

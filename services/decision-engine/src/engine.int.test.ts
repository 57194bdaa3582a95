// The decision engine as a service on the real Kafka, Redis and S3, with the pool ledger in
// Redis. The producers are simulated as they work: state-sync lists the pool into the ledger
// before it publishes ClusterStateSynced; node-manager writes each step of an action into the
// ledger before it publishes it. Seed 000's scale-down flow from fed events, bad triggers
// dead-lettered or rejected while the next one is handled, and two replicas on one pool never
// deciding in conflict; every decision checked against the ledger it was claimed in.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import type { LoadedConfig } from '@scalewise/config';
import {
  type AnyScalewiseEvent,
  causedBy,
  createEvent,
  type EventData,
  type EventType,
  sampleChild,
  sampleEvent,
  shortName,
  toKafkaMessage,
  topicKeys,
  topicName,
} from '@scalewise/events';
import { createPoolStore, desiredOf, inFlightOf, type PoolStore, recordFacts } from '@scalewise/pool';
import { createService, type Service } from '@scalewise/service';
import { kitOpenRoutes, sweepRoutes } from '@scalewise/service/test-support';
import { integrationFixture, quiet, testKafka, uniqueName, waitFor } from '@scalewise/testing';
import type { DecisionEngine } from './app.ts';
import { defineDecisionEngine } from './service.ts';
import { engineTestConfig, listing as listPool } from './test-support.ts';

const POOL = 'workers';
/** The pool's action_timeout_seconds (the default), as the producers use it. */
const TIMEOUT_MS = 600_000;

const fx = integrationFixture({ recorder: recordTopics });

/** A config of its own: topics, groups, DLQ bucket and Redis keys no other test shares. */
const testConfig = (pools: string) => engineTestConfig(fx.stack, pools);

/** The service, and the engine it built (its pool state and ledger, as /v1/pools/:pool shows them). */
interface Running {
  service: Service;
  engine: DecisionEngine;
}

async function startEngine(loaded: LoadedConfig, groupId?: string): Promise<Running> {
  const def = defineDecisionEngine({
    config: loaded,
    fromBeginning: true,
    ...(groupId ? { groupId } : {}),
    telemetry: { logDestination: quiet },
  });
  const service = await fx.start(createService(def));
  const engine = def.engine();
  assert.ok(engine, 'the service built its engine');
  return { service, engine };
}

/** The pool record as another service reads and writes it: the shared ledger, no part of its own. */
const storeOf = (svc: Service, service: string): PoolStore<null, AnyScalewiseEvent> =>
  createPoolStore({ redis: svc.bus.redis, clusterId: svc.config.cluster_id, service });

/**
 * node-manager (or state-sync) writes the facts of `e` into the ledger, then publishes it with
 * the ledger's numbers; returns it as published.
 */
async function produce(svc: Service, service: string, e: AnyScalewiseEvent): Promise<AnyScalewiseEvent> {
  const applied = await storeOf(svc, service).apply(POOL, e.id, (ledger) => {
    const r = recordFacts(ledger, [e], Date.now(), TIMEOUT_MS);
    return { ledger: r.ledger, outputs: r.events };
  });
  await svc.bus.publisher.publish(...applied.outputs);
  return applied.outputs[0] ?? e;
}

/** state-sync lists the pool's nodes (all Ready) into the ledger, then says ClusterStateSynced. */
const listing = (svc: Service, names: readonly string[]) => listPool(svc, POOL, names);

const src = '/scalewise/test/feeder';
const ev = <T extends EventType>(type: T, data: Partial<EventData<T>>, clusterid: string) =>
  sampleEvent(type, data, { source: src, clusterid });

describe('decision-engine on the real broker', () => {
  test('seed 000 flow 1, scale-down with visibility: the seed chain, in the seed order', async (t) => {
    const { loaded, prefix } = testConfig('[{ name: workers, min: 2, max: 6 }]');
    const cid = loaded.config.cluster_id;
    const { service: svc, engine } = await startEngine(loaded);
    const rec = await fx.record(
      ['signals', 'decisions', 'actions', 'state'].map((k) => `${prefix}${k}`),
      { scope: t },
    );
    // node-manager, simulated: carries out each ScaleDownDecision on the real broker, each step
    // written into the ledger before it is published (its numbers are the ledger's).
    const nm = await fx.record([`${prefix}decisions`], { groupId: uniqueName('nm'), scope: t });
    const acted = new Set<string>();
    const carryOut = async (d: AnyScalewiseEvent) => {
      const data = d.data as EventData<'io.scalewise.ScaleDownDecision'>;
      const s = { source: '/scalewise/test/node-manager' };
      const base = { pool: data.pool, action_id: d.id };
      const started = await produce(
        svc,
        'node-manager',
        causedBy(
          d,
          'io.scalewise.ScaleDownStarted',
          { ...base, count: data.count, previous_workers: 0, target_workers: 0, nodes: ['workers-3'] },
          s,
        ),
      );
      await produce(
        svc,
        'node-manager',
        sampleChild(started, 'io.scalewise.NodeRemoved', { ...base, node_name: 'workers-3' }, s),
      );
      await produce(
        svc,
        'node-manager',
        causedBy(
          started,
          'io.scalewise.ScalingActionCompleted',
          {
            ...base,
            action: 'scale_down',
            count: data.count,
            previous_workers: 0,
            new_workers: 0,
            duration: 1.5,
          },
          s,
        ),
      );
    };
    const nodeManager = setInterval(() => {
      for (const d of nm.of('io.scalewise.ScaleDownDecision')) {
        if (acted.has(d.id)) continue;
        acted.add(d.id);
        void carryOut(d);
      }
    }, 50);
    t.after(() => clearInterval(nodeManager));

    // 1. ClusterStateSynced (workers=3), after state-sync listed them; 2. UnderutilizationWarning.
    await listing(svc, ['workers-1', 'workers-2', 'workers-3']);
    const warning = ev(
      'io.scalewise.UnderutilizationWarning',
      { workers: 3, cpu_avg: 25, memory_avg: 35, duration: 300 },
      cid,
    );
    await svc.bus.publisher.publish(warning);
    await waitFor(() => rec.of('io.scalewise.OptimalStateTrigger').length >= 2, {
      timeoutMs: 30_000,
      what: 'OptimalStateTrigger anticipated and active',
    });
    // 8. ClusterStateSynced (workers=2): agrees with the decision, so nothing more is decided.
    const synced2 = await listing(svc, ['workers-1', 'workers-2']);
    await waitFor(() => rec.events.some((e) => e.id === synced2.id), {
      timeoutMs: 10_000,
      what: 'the last sync',
    });

    const chain = rec.events.filter((e) => e.correlationid === warning.correlationid);
    const [anticipated, active] = rec.of('io.scalewise.OptimalStateTrigger');
    const decision = rec.of('io.scalewise.ScaleDownDecision');
    const started = rec.of('io.scalewise.ScaleDownStarted');
    const completed = rec.of('io.scalewise.ScalingActionCompleted');
    assert.equal(decision.length, 1, 'one ScaleDownDecision');
    assert.equal((anticipated?.data as { state: string } | undefined)?.state, 'anticipated');
    assert.equal((active?.data as { state: string } | undefined)?.state, 'active');
    const d = decision[0]?.data as EventData<'io.scalewise.ScaleDownDecision'>;
    assert.equal(d.current_workers, 3);
    assert.equal(d.desired_workers, 2);
    assert.equal(d.reason, 'underutilization');
    assert.equal(d.explanation.inputs.input_event_id, warning.id, 'the explanation names its input event');
    // The numbers node-manager published are the ledger's.
    const s = started[0]?.data as EventData<'io.scalewise.ScaleDownStarted'>;
    assert.deepEqual([s.previous_workers, s.target_workers], [3, 2]);
    const c = completed[0]?.data as EventData<'io.scalewise.ScalingActionCompleted'>;
    assert.deepEqual([c.previous_workers, c.new_workers], [3, 2]);
    // The seed's order: each event caused by the one before it in the chain, its time not earlier.
    const seedOrder = [warning, anticipated, decision[0], started[0], completed[0], active];
    assert.equal(anticipated?.causationid, warning.id);
    assert.equal(decision[0]?.causationid, warning.id);
    assert.equal(started[0]?.causationid, decision[0]?.id);
    assert.equal(completed[0]?.causationid, started[0]?.id);
    assert.equal(active?.causationid, completed[0]?.id);
    for (let i = 1; i < seedOrder.length; i++) {
      assert.ok(
        Date.parse(seedOrder[i]?.time ?? '') >= Date.parse(seedOrder[i - 1]?.time ?? ''),
        `step ${i} in order`,
      );
    }
    assert.deepEqual(
      chain.map((e) => shortName(e.type)).sort(),
      [
        'OptimalStateTrigger',
        'OptimalStateTrigger',
        'ScaleDownDecision',
        'ScaleDownStarted',
        'ScalingActionCompleted',
        'UnderutilizationWarning',
      ],
      'one chain: one correlation id from the warning to the optimal state',
    );
    // Nothing else was decided after the last sync.
    assert.equal(rec.of('io.scalewise.ScaleUpDecision', 'io.scalewise.ScaleDownBlocked').length, 0);
    // The decision was claimed in the ledger, and ended there with the node it removed.
    const held = await engine.poolState(POOL);
    assert.ok(held);
    const claimed = held.ledger.actions[decision[0]?.id ?? ''];
    assert.deepEqual(
      [claimed?.origin, claimed?.direction, claimed?.count, claimed?.state, claimed?.removed],
      ['decision', 'down', 1, 'done', ['workers-3']],
    );
    assert.deepEqual([held.state.workers, held.state.inFlight], [2, []]);
  });

  test('a malformed trigger is dead-lettered with its reason, an out-of-range one rejected, the next valid one decided', async (t) => {
    const { loaded, prefix } = testConfig('[{ name: workers, min: 1, max: 5 }]');
    const cid = loaded.config.cluster_id;
    const { service: svc, engine } = await startEngine(loaded);
    const rec = await fx.record([`${prefix}decisions`, `${prefix}dlq`], { scope: t });
    // The pool's size is the ledger's: known as soon as state-sync listed it.
    await listing(svc, ['workers-1', 'workers-2']);
    // Not JSON, under CloudEvents headers of a trigger: no schema can read it.
    const producer = testKafka(fx.stack).producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    const good = createEvent(
      'io.scalewise.trigger.scale',
      { pool: 'workers', action: 'scale_up', count: 1, reason: 'x' },
      { source: '/ci/pipeline', clusterid: cid },
    );
    const broken = toKafkaMessage(good);
    await producer.send({
      topic: `${prefix}triggers`,
      messages: [
        {
          ...broken,
          value: Buffer.from('{"pool": "workers", "action": '),
          headers: { ...broken.headers, ce_id: 'broken-1' },
        },
      ],
    });
    const beyond = createEvent(
      'io.scalewise.trigger.scale',
      { pool: 'workers', action: 'set', target: 9, reason: 'too many' },
      { source: '/ci/pipeline', clusterid: cid },
    );
    await svc.bus.publisher.publish(beyond);
    await svc.bus.publisher.publish(good);
    await waitFor(() => rec.of('io.scalewise.ScaleUpDecision').length >= 1, {
      timeoutMs: 30_000,
      what: 'the valid trigger decided',
    });
    await waitFor(() => rec.of('io.scalewise.DeadLetterRecorded').length >= 1, {
      timeoutMs: 30_000,
      what: 'the dead letter',
    });
    const dead = rec.of('io.scalewise.DeadLetterRecorded')[0]
      ?.data as EventData<'io.scalewise.DeadLetterRecorded'>;
    assert.equal(dead.event_id, 'broken-1');
    assert.match(dead.error_code, /MALFORMED_RECORD/);
    const rejected = rec.of('io.scalewise.TriggerRejected');
    assert.equal(rejected.length, 1);
    const r = rejected[0]?.data as EventData<'io.scalewise.TriggerRejected'>;
    assert.equal(r.reason, 'out_of_range');
    assert.equal(r.trigger_id, beyond.id);
    assert.match(r.message, /9/);
    const up = rec.of('io.scalewise.ScaleUpDecision')[0];
    assert.equal(up?.causationid, good.id);
    assert.equal((up?.data as EventData<'io.scalewise.ScaleUpDecision'> | undefined)?.desired_workers, 3);
    // Claimed in the ledger: the pool heads for 3 whoever reads it.
    const held = await engine.poolState(POOL);
    assert.ok(held);
    assert.deepEqual(
      inFlightOf(held.ledger, Date.now()).map((a) => [a.id, a.direction, a.count, a.origin]),
      [[up?.id, 'up', 1, 'decision']],
    );
    assert.equal(desiredOf(held.ledger, Date.now()), 3);
  });

  test('external triggers without ce_clusterid, with bad data or for another cluster: one answer each, no dead letter', async (t) => {
    const { loaded, prefix } = testConfig('[{ name: workers, min: 1, max: 5 }]');
    const { service: svc } = await startEngine(loaded);
    const rec = await fx.record([`${prefix}decisions`, `${prefix}dlq`], { scope: t });
    await listing(svc, ['workers-1', 'workers-2']);
    const producer = testKafka(fx.stack).producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    // As kcat sends them (docs/triggers.md): the required ce_ headers only, keyed by pool, so
    // that the records are read in this order.
    const raw = (id: string, data: unknown, extra: Record<string, string> = {}) => ({
      key: POOL,
      value: Buffer.from(JSON.stringify(data)),
      headers: {
        ce_specversion: '1.0',
        ce_id: id,
        ce_type: 'io.scalewise.trigger.scale',
        ce_source: '/ci/kcat',
        'content-type': 'application/json',
        ...extra,
      },
    });
    await producer.send({
      topic: `${prefix}triggers`,
      acks: -1,
      messages: [
        raw('ext-no-cluster', { pool: POOL, action: 'scale_up', count: 1 }),
        raw('ext-bad-count', { pool: POOL, action: 'scale_up', count: -5 }),
        raw('ext-elsewhere', { pool: POOL, action: 'scale_up', count: 1 }, { ce_clusterid: 'elsewhere' }),
        // Structured mode, the four required attributes only, data that breaks the schema.
        {
          key: POOL,
          value: Buffer.from(
            JSON.stringify({
              specversion: '1.0',
              id: 'ext-structured',
              source: '/ci/python',
              type: 'io.scalewise.trigger.scale',
              data: { pool: POOL, action: 'grow', count: 'three' },
            }),
          ),
          headers: { 'content-type': 'application/cloudevents+json' },
        },
        // Last on the partition: once it is dead-lettered, the three before it were handled.
        { ...raw('ext-not-json', {}), value: Buffer.from('{"pool": ') },
      ],
    });
    await waitFor(() => rec.of('io.scalewise.DeadLetterRecorded').length >= 1, {
      timeoutMs: 30_000,
      what: 'the dead letter of the record that is not JSON',
    });
    await waitFor(
      () =>
        rec.of('io.scalewise.ScaleUpDecision').length >= 1 &&
        rec.of('io.scalewise.TriggerRejected').length >= 3,
      { timeoutMs: 30_000, what: 'a decision and three rejections' },
    );
    const dead = rec.of('io.scalewise.DeadLetterRecorded');
    assert.deepEqual(
      dead.map((d) => (d.data as EventData<'io.scalewise.DeadLetterRecorded'>).event_id),
      ['ext-not-json'],
      'only the record that is not JSON is dead-lettered',
    );
    const up = rec.of('io.scalewise.ScaleUpDecision');
    assert.deepEqual(
      up.map((e) => [e.causationid, e.clusterid]),
      [['ext-no-cluster', loaded.config.cluster_id]],
      'the trigger without ce_clusterid is decided, in this cluster',
    );
    const rejected = rec
      .of('io.scalewise.TriggerRejected')
      .map((e) => e.data as EventData<'io.scalewise.TriggerRejected'>);
    assert.deepEqual(
      rejected.map((r) => [r.trigger_id, r.reason]),
      [
        ['ext-bad-count', 'invalid'],
        ['ext-elsewhere', 'wrong_cluster'],
        ['ext-structured', 'invalid'],
      ],
    );
    assert.match(rejected[2]?.message ?? '', /action: .*count: /s);
    assert.deepEqual(
      rec.of('io.scalewise.TriggerRejected').map((e) => [e.partitionkey, e.clusterid]),
      Array(3).fill([POOL, loaded.config.cluster_id]),
      'keyed by the pool the data names, in this cluster',
    );
    assert.match(rejected[0]?.message ?? '', /count: Too small/i);
    assert.match(rejected[1]?.message ?? '', new RegExp(`'elsewhere'.*'${loaded.config.cluster_id}'`));
  });

  test('two replicas that both receive every event of a pool decide once per input, never in conflict', async (t) => {
    const { loaded, prefix } = testConfig(`
    - name: workers
      min: 1
      max: 50
      behavior: { scale_up: { policies: [{ type: Pods, value: 100, period_seconds: 15 }] } }`);
    const cid = loaded.config.cluster_id;
    // Two consumer groups: each replica gets every record (the worst case: a rebalance that
    // overlaps, or a second deployment by mistake). They share the pool state in Redis.
    const { service: a, engine: engineA } = await startEngine(loaded, `${prefix}replica-a`);
    const { service: b } = await startEngine(loaded, `${prefix}replica-b`);
    // Every topic of the pool, so that a timeout can say what the replicas did instead.
    const rec = await fx.record(
      topicKeys.map((k) => topicName(k, prefix)),
      { scope: t },
    );
    // The pool's size is the ledger's, which the replicas share in Redis with their own state:
    // known to both as soon as state-sync has listed it (a trigger read before would be
    // rejected, 'not known yet').
    await listing(a, ['workers-1', 'workers-2', 'workers-3']);
    const base = await a.listen();
    await waitFor(
      async () => {
        const r = (await (await fetch(`${base}/v1/pools`)).json()) as { pools: { workers: number | null }[] };
        return r.pools[0]?.workers === 3;
      },
      { timeoutMs: 60_000, what: 'the pool size known to the replicas' },
    );
    const triggers = Array.from({ length: 12 }, (_, i) =>
      createEvent(
        'io.scalewise.trigger.scale',
        { pool: 'workers', action: 'scale_up', count: 1, reason: `step ${i}` },
        { source: '/ci/pipeline', clusterid: cid },
      ),
    );
    for (const tr of triggers) await (tr.id.charCodeAt(0) % 2 ? a : b).bus.publisher.publish(tr);
    // Each replica handles each trigger; wait until both have (their copies arrive too).
    await waitFor(
      () => {
        const got = rec.of('io.scalewise.ScaleUpDecision');
        if (got.length >= 24) return true;
        // The cause of a timeout: how far the two replicas got.
        const counts = new Map<string, number>();
        for (const e of rec.events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
        throw new Error(
          `${got.length} of 24 decisions, for ${new Set(got.map((d) => d.id)).size} of 12 triggers; on the topics: ${[...counts].map(([k, n]) => `${shortName(k)} ${n}`).join(', ')}`,
        );
      },
      {
        timeoutMs: 60_000,
        what: '12 decisions from each replica',
      },
    );
    const decisions = rec.of('io.scalewise.ScaleUpDecision');
    const byId = new Map<string, string>();
    for (const d of decisions) {
      const data = JSON.stringify(d.data);
      const seen = byId.get(d.id);
      assert.ok(seen === undefined || seen === data, `decision ${d.id} published twice with different data`);
      byId.set(d.id, data);
    }
    assert.equal(byId.size, 12, 'one decision per trigger');
    const targets = [...byId.values()].map(
      (s) => (JSON.parse(s) as { desired_workers: number }).desired_workers,
    );
    assert.deepEqual(
      targets.sort((x, y) => x - y),
      Array.from({ length: 12 }, (_, i) => 4 + i),
      'each step grew the pool by one from the state the previous step left',
    );
    // One claim per decision in the ledger: the pool heads for 3 + 12.
    const held = await engineA.poolState(POOL);
    assert.ok(held);
    assert.deepEqual(
      Object.values(held.ledger.actions)
        .map((x) => x.id)
        .sort(),
      [...byId.keys()].sort(),
    );
    assert.equal(desiredOf(held.ledger, Date.now()), 15);
    // The route shows the same: the engine's view and the ledger it came from.
    const shown = (await (await fetch(`${base}/v1/pools/${POOL}`)).json()) as {
      pool: string;
      state: { workers: number; inFlight: unknown[] };
      ledger: { actions: Record<string, unknown> };
    };
    assert.deepEqual(
      [
        shown.pool,
        shown.state.workers,
        shown.state.inFlight.length,
        Object.keys(shown.ledger.actions).length,
      ],
      [POOL, 3, 12, 12],
    );
  });

  test('every route but the probes and /metrics needs a token: the sweep over the real route table', async () => {
    const write = 'de-write-token-0123456789';
    const read = 'de-read-token-01234567890';
    const { loaded } = engineTestConfig(fx.stack, `[{ name: ${POOL}, min: 1, max: 5 }]`, 'de-auth', {
      apiToken: write,
      http: 'tokens: [{ name: viewer, scope: read, token_env: VIEWER_TOKEN }]',
      env: { VIEWER_TOKEN: read },
    });
    const { service } = await startEngine(loaded);
    const results = await sweepRoutes({
      app: service.app,
      tokens: { read, write },
      open: kitOpenRoutes,
      params: { pool: POOL },
    });
    assert.deepEqual(Object.fromEntries(results.map((r) => [r.route, r.statuses])), {
      'GET /v1/pools': { none: 401, unknown: 401, read: 200 },
      'HEAD /v1/pools': { none: 401, unknown: 401, read: 200 },
      'GET /v1/pools/:pool': { none: 401, unknown: 401, read: 200 },
      'HEAD /v1/pools/:pool': { none: 401, unknown: 401, read: 200 },
    });
  });
});

// End to end with the real decision-engine on the real broker, Redis and S3: a trigger the
// CLI publishes is decided (or rejected) by the engine, and `status` reads the engine's pools.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig } from '@scalewise/config';
import { defineDecisionEngine } from '@scalewise/decision-engine';
import { createEvent, type EventData, sampleData } from '@scalewise/events';
import { createPoolStore, listed } from '@scalewise/pool';
import { createService, type Service } from '@scalewise/service';
import {
  integrationFixture,
  type NodeResult,
  quiet,
  repositoryRoot,
  serversYaml,
  startNode,
  uniqueName,
  waitFor,
} from '@scalewise/testing';

const main = join(repositoryRoot(), 'packages', 'cli', 'src', 'main.ts');
const fx = integrationFixture({ recorder: recordTopics });
let engine: Service;
let prefix: string;
let address: string;

before(async () => {
  await fx.ready();
  prefix = `${uniqueName('cli-e2e')}.`;
  const loaded = loadConfig({
    text: `
cluster_id: ${uniqueName('c')}
autoscaler:
  pools: [{ name: workers, min: 2, max: 6 }]
events: { topic_prefix: "${prefix}", group_prefix: "${prefix}", partitions: 3 }
${serversYaml(fx.stack)}
telemetry: { log_level: warn }
`,
    env: {},
  });
  engine = await fx.start(
    createService(
      defineDecisionEngine({ config: loaded, fromBeginning: true, telemetry: { logDestination: quiet } }),
    ),
  );
  address = await engine.listen();
  // The pool's two workers, listed into its ledger as state-sync lists them.
  const ledgers = createPoolStore({
    redis: engine.bus.redis,
    clusterId: loaded.config.cluster_id,
    service: 'state-sync',
  });
  await ledgers.apply('workers', 'seed', (l) => ({
    ledger: listed(
      l,
      ['workers-1', 'workers-2'].map((name) => ({ name, ready: true })),
      Date.now(),
    ).ledger,
    outputs: [],
  }));
  const synced = createEvent(
    'io.scalewise.ClusterStateSynced',
    {
      ...sampleData['io.scalewise.ClusterStateSynced'],
      workers: 2,
      k8s_nodes: 2,
      docker_containers: 2,
      db_workers: 2,
    },
    { source: '/scalewise/test', clusterid: loaded.config.cluster_id },
  );
  await engine.bus.publisher.publish(synced);
});

function scalewise(args: string[]): Promise<NodeResult> {
  const { SCALEWISE_CONFIG: _f, ...rest } = process.env;
  const env = {
    ...rest,
    KAFKA_BROKERS: fx.stack.kafka.brokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    SCALEWISE_DECISION_ENGINE_URL: address,
    NO_COLOR: '1',
  };
  return startNode(main, args, env).result;
}

test('trigger scale --pool workers --count 2 is decided by the decision-engine: ScaleUpDecision 2 -> 4 caused by it', async (t) => {
  const rec = await fx.record([`${prefix}decisions`], { scope: t });
  const r = await scalewise(['trigger', 'scale', '--pool', 'workers', '--count', '2']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  const decision = await waitFor(
    () => rec.of('io.scalewise.ScaleUpDecision').find((e) => e.causationid === id),
    { timeoutMs: 30_000, what: 'the ScaleUpDecision of the trigger' },
  );
  const d = decision.data as EventData<'io.scalewise.ScaleUpDecision'>;
  assert.equal(d.reason, 'trigger');
  assert.equal(d.current_workers, 2);
  assert.equal(d.desired_workers, 4);
  assert.equal(rec.of('io.scalewise.TriggerRejected').filter((e) => e.causationid === id).length, 0);

  const status = await scalewise(['status']);
  assert.equal(status.code, 0, status.stderr);
  const [header, row] = status.stdout.trimEnd().split('\n');
  assert.match(header as string, /^POOL +WORKERS +DESIRED +MIN +MAX +STATE +IN-FLIGHT +HOLD$/);
  // The trigger's target, reached by its decision, is held for trigger_hold_seconds.
  assert.match(row as string, /^workers +2 +4 +2 +6 +active +1 +4 until \d\d:\d\d:\d\d$/);
});

test('a trigger for a pool the engine does not know comes back as TriggerRejected unknown_pool', async (t) => {
  const rec = await fx.record([`${prefix}decisions`], { scope: t });
  const r = await scalewise(['trigger', 'pause', '--pool', 'gpu']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  const rejected = await waitFor(
    () =>
      rec
        .of('io.scalewise.TriggerRejected')
        .find((e) => (e.data as { trigger_id: string }).trigger_id === id),
    { timeoutMs: 30_000, what: 'the TriggerRejected' },
  );
  assert.equal((rejected.data as EventData<'io.scalewise.TriggerRejected'>).reason, 'unknown_pool');
  const status = await scalewise(['status', '--pool', 'gpu']);
  assert.equal(status.code, 1);
  assert.equal(
    status.stderr,
    "scalewise status: NOT_FOUND: decision-engine: no pool named 'gpu' in the configuration\n",
  );
});

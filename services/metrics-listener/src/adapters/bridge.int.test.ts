// The seed 004 trigger bridge on the real Redis, Kafka and S3: an XADD becomes a trigger on
// Kafka and is acknowledged after it; a malformed entry is dead-lettered with its reason; while
// the broker is down entries stay pending and are bridged once it is back.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type PrivateKafka, startPrivateKafka } from '@scalewise/bus/test-support';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { type LoadedConfig, loadConfig } from '@scalewise/config';
import type { EventData } from '@scalewise/events';
import { createService, type Service } from '@scalewise/service';
import { getStack, type StackEndpoints, serversYaml, uniqueName, waitFor } from '@scalewise/testing';
import { Redis } from 'ioredis';
import { recordedData } from '../test-support/listener.ts';
import { createTriggerBridge, type TriggerBridge } from './bridge.ts';

const quiet = new Writable({ write: (_c, _e, done) => done() });
let stack: StackEndpoints;
let redis: Redis;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  stack = await getStack();
  redis = new Redis(stack.redis.url);
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await redis.quit();
});

function config(brokers: string[]): { loaded: LoadedConfig; prefix: string; stream: string } {
  const prefix = `${uniqueName('ml')}.`;
  const stream = uniqueName('otto:scale:events');
  const loaded = loadConfig({
    text: `
cluster_id: ${uniqueName('c')}
autoscaler: { pools: [{ name: agents }] }
trigger_bridge: { enabled: true, stream: "${stream}", default_pool: agents, block_ms: 200 }
events:
  topic_prefix: "${prefix}"
  group_prefix: "${prefix}"
  partitions: 1
  retry: { attempts: 2, initial_ms: 50, max_ms: 200 }
${serversYaml(stack, { brokers })}
telemetry: { log_level: fatal }
shutdown_timeout_seconds: 10
`,
    env: {},
  });
  return { loaded, prefix, stream };
}

async function startBridge(loaded: LoadedConfig): Promise<{ service: Service; bridge: TriggerBridge }> {
  const service = await createService({
    name: 'metrics-listener',
    config: loaded,
    telemetry: { logDestination: quiet },
  });
  await service.start();
  const conn = new Redis(stack.redis.url);
  const tb = loaded.config.trigger_bridge;
  const bridge = createTriggerBridge({
    redis: conn,
    publisher: service.bus.publisher,
    dlq: service.bus.dlq,
    stream: tb.stream,
    group: tb.group,
    ...(tb.default_pool ? { defaultPool: tb.default_pool } : {}),
    blockMs: tb.block_ms,
    service: 'metrics-listener',
    clusterid: loaded.config.cluster_id,
    logger: service.telemetry.logger,
  });
  await bridge.start();
  cleanups.push(async () => {
    await bridge.stop();
    await conn.quit();
    await service.stop();
  });
  return { service, bridge };
}

const pendingCount = async (stream: string, group: string) =>
  Number(((await redis.xpending(stream, group)) as [number, ...unknown[]])[0]);

describe('the Redis Streams trigger bridge', () => {
  test('the seed XADD becomes an io.scalewise.trigger.scale on Kafka, then the entry is acknowledged', async (t) => {
    const { loaded, prefix, stream } = config(stack.kafka.brokers);
    await startBridge(loaded);
    const rec = await recordTopics(stack.kafka.brokers, [`${prefix}triggers`], uniqueName('rec'));
    t.after(() => rec.stop());
    const entry = (await redis.xadd(
      stream,
      '*',
      'type',
      'scale_up',
      'pod_count',
      '3',
      'task_id',
      'task-123',
    )) as string;
    await waitFor(() => rec.events.length >= 1, { timeoutMs: 20_000, what: 'the trigger on Kafka' });
    const e = rec.events[0];
    assert.equal(e?.type, 'io.scalewise.trigger.scale');
    assert.equal(e?.id, `redis:${stream}:${entry}`);
    assert.equal(e?.source, `/redis/${stream}`);
    const d = e?.data as EventData<'io.scalewise.trigger.scale'>;
    assert.deepEqual([d.pool, d.action, d.count, d.task_id], ['agents', 'scale_up', 3, 'task-123']);
    await waitFor(async () => (await pendingCount(stream, loaded.config.trigger_bridge.group)) === 0, {
      timeoutMs: 5000,
      what: 'the entry acknowledged',
    });
  });

  test('a malformed entry is dead-lettered with the reason and acknowledged; the next one is bridged', async (t) => {
    const { loaded, prefix, stream } = config(stack.kafka.brokers);
    const { service } = await startBridge(loaded);
    const rec = await recordTopics(
      stack.kafka.brokers,
      [`${prefix}triggers`, `${prefix}dlq`],
      uniqueName('rec'),
    );
    t.after(() => rec.stop());
    const bad = (await redis.xadd(stream, '*', 'type', 'scale_up', 'pod_count', 'lots')) as string;
    await redis.xadd(stream, '*', 'type', 'scale_down', 'pod_count', '1');
    await waitFor(() => rec.of('io.scalewise.trigger.scale').length >= 1, {
      timeoutMs: 20_000,
      what: 'the good entry',
    });
    const dl = await waitFor(() => recordedData(rec, 'io.scalewise.DeadLetterRecorded')[0], {
      timeoutMs: 20_000,
      what: 'the dead letter',
    });
    assert.match(dl.reason, new RegExp(`entry ${bad}: 'pod_count' must be an integer >= 1, got 'lots'`));
    assert.equal(dl.topic, `redis:${stream}`);
    const stored = await service.bus.dlq.get(dl.key);
    assert.equal(stored.record.key, bad);
    assert.deepEqual(JSON.parse(Buffer.from(stored.record.value_base64 ?? '', 'base64').toString()), {
      type: 'scale_up',
      pod_count: 'lots',
    });
    assert.equal(await pendingCount(stream, loaded.config.trigger_bridge.group), 0);
  });

  test('broker down: the entry stays pending, nothing is acknowledged; broker back: it is bridged once', async (t) => {
    const kafka: PrivateKafka = await startPrivateKafka();
    cleanups.push(() => kafka.destroy());
    const { loaded, prefix, stream } = config(kafka.brokers);
    const { bridge } = await startBridge(loaded);
    await kafka.stop();
    const entry = (await redis.xadd(stream, '*', 'type', 'scale_up', 'pod_count', '2')) as string;
    await waitFor(() => bridge.stats.failures >= 2, {
      timeoutMs: 60_000,
      what: 'publishing to fail while the broker is down',
    });
    assert.equal(
      await pendingCount(stream, loaded.config.trigger_bridge.group),
      1,
      'read but not acknowledged',
    );
    await kafka.start();
    const rec = await recordTopics(kafka.brokers, [`${prefix}triggers`], uniqueName('rec'));
    t.after(() => rec.stop());
    await waitFor(() => rec.events.length >= 1, {
      timeoutMs: 90_000,
      what: 'the trigger after the broker returned',
    });
    await waitFor(async () => (await pendingCount(stream, loaded.config.trigger_bridge.group)) === 0, {
      timeoutMs: 10_000,
      what: 'the entry acknowledged',
    });
    assert.deepEqual([...new Set(rec.events.map((e) => e.id))], [`redis:${stream}:${entry}`]);
  });
});

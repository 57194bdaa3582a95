// A dependency that fails opens its circuit breaker, and the service says so with an event
// (DESIGN.md section 6: breaker state is a metric and an event) that alert-manager notifies on.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { loadConfig } from '@scalewise/config';
import type { EventData } from '@scalewise/events';
import { freePort, getStack, serversYaml, uniqueName, waitFor } from '@scalewise/testing';
import { createService } from './index.ts';

test('Redis unreachable: the redis breaker opens and CircuitBreakerStateChanged(open) is published, critical', async (t) => {
  const stack = await getStack();
  // A port that was free a moment ago: nothing answers there.
  const port = await freePort();
  const prefix = `${uniqueName('brk')}.`;
  const loaded = loadConfig({
    text: `
autoscaler: { pools: [{ name: workers }] }
events:
  topic_prefix: "${prefix}"
  partitions: 1
  breaker: { error_threshold_percent: 50, reset_timeout_ms: 60000, call_timeout_ms: 300 }
${serversYaml(stack, { redisUrl: `redis://127.0.0.1:${port}` })}
telemetry: { log_level: fatal }
shutdown_timeout_seconds: 5
`,
    env: {},
  });
  const service = await createService({
    name: 'breaker-test',
    config: loaded,
    telemetry: { logDestination: new Writable({ write: (_c, _e, done) => done() }) },
  });
  t.after(() => service.stop().catch(() => undefined));
  await service.start();
  const rec = await recordTopics(stack.kafka.brokers, [`${prefix}state`], uniqueName('rec'));
  t.after(() => rec.stop());
  for (let i = 0; i < 12 && service.bus.breakers.redis.state() !== 'open'; i++) {
    await service.bus.breakers.redis.call(() => service.bus.redis.ping()).catch(() => undefined);
  }
  assert.equal(service.bus.breakers.redis.state(), 'open');
  await waitFor(() => rec.of('io.scalewise.CircuitBreakerStateChanged').length >= 1, {
    timeoutMs: 20_000,
    what: 'CircuitBreakerStateChanged on the state topic',
  });
  const e = rec.of('io.scalewise.CircuitBreakerStateChanged')[0];
  const d = e?.data as EventData<'io.scalewise.CircuitBreakerStateChanged'>;
  assert.deepEqual([d.service, d.breaker, d.state, d.previous], ['breaker-test', 'redis', 'open', 'closed']);
  assert.equal(e?.severity, 'critical');
  assert.equal(e?.partitionkey, 'breaker-test');
});

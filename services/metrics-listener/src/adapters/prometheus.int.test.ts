// The Prometheus source against a real Prometheus-API server: VictoriaMetrics single-node
// v1.122.0 (built from the Go module proxy by scripts/go-tool, cached outside the work tree),
// started here on a free 127.0.0.1 port with samples imported through its API; then
// metrics-listener with a pool that scales on a query, on the real apiserver + KWOK, Kafka,
// Redis and S3.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import type { PoolConfig } from '@scalewise/config';
import { connectKube, ensureNode, kwokNodeManifest, POOL_LABEL } from '@scalewise/kube';
import {
  freePort,
  integrationFixture,
  type Proc,
  poolServiceYaml,
  startProcess,
  uniqueName,
  waitFor,
} from '@scalewise/testing';
import { recordedData, startListener } from '../test-support/listener.ts';
import { goTool } from '../test-support/processes.ts';
import { createPrometheusSource } from './prometheus.ts';

const fx = integrationFixture({ kubernetes: true, connect: connectKube, recorder: recordTopics });
let vm: Proc;
let vmUrl: string;
let dir: string;

/** Writes samples (Prometheus text format, stamped now) and makes them searchable at once. */
async function write(lines: string[]): Promise<void> {
  const res = await fetch(`${vmUrl}/api/v1/import/prometheus`, {
    method: 'POST',
    body: `${lines.join('\n')}\n`,
  });
  assert.equal(res.status, 204, `import: ${res.status} ${await res.text()}`);
  assert.equal((await fetch(`${vmUrl}/internal/force_flush`)).status, 200);
}

type Source = NonNullable<PoolConfig['metrics']['prometheus']>;
const source = (query: string, extra: Partial<Source> = {}): Source => ({
  server_address: vmUrl,
  query,
  threshold: 100,
  activation_threshold: 5,
  metric_type: 'AverageValue',
  ignore_null_values: true,
  timeout_seconds: 5,
  name: 'queue_depth',
  headers: {},
  ...extra,
});

before(async () => {
  fx.defer(async () => {
    await vm?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const bin = await goTool('victoria-metrics');
  dir = await mkdtemp(join(tmpdir(), 'scalewise-vm-'));
  const port = await freePort();
  vmUrl = `http://127.0.0.1:${port}`;
  vm = startProcess(
    bin,
    [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${join(dir, 'data')}`,
      '-retentionPeriod=1d',
      // Samples are visible to queries at once (the default hides the last 30 s).
      '-search.latencyOffset=0s',
      '-search.disableCache',
    ],
    join(dir, 'vm.log'),
  );
  await waitFor(async () => (await fetch(`${vmUrl}/health`)).ok, {
    timeoutMs: 30_000,
    what: 'VictoriaMetrics /health',
  });
});

describe('Prometheus source on a real query API (VictoriaMetrics)', () => {
  test('one series, an aggregate, several series, nothing, a bad query and a server that is down', async () => {
    const run = uniqueName('q').replace(/[^a-zA-Z0-9_]/g, '_');
    await write([`queue_depth{queue="a",run="${run}"} 450`, `queue_depth{queue="b",run="${run}"} 50`]);
    const at = Date.now();

    const one = createPrometheusSource('p', source(`queue_depth{queue="a",run="${run}"}`));
    assert.deepEqual(await one.read(at), { ok: true, value: 450, series: 1 });
    const sum = createPrometheusSource('p', source(`sum(queue_depth{run="${run}"})`));
    assert.deepEqual(await sum.read(at), { ok: true, value: 500, series: 1 });

    const several = await createPrometheusSource('p', source(`queue_depth{run="${run}"}`)).read(at);
    assert.equal(several.ok, false);
    assert.match(several.ok ? '' : several.error, /returned 2 series; it must return one/);

    const none = `sum(queue_depth{run="${run}-nothing"})`;
    assert.deepEqual(await createPrometheusSource('p', source(none)).read(at), {
      ok: true,
      value: 0,
      series: 0,
    });
    const strict = await createPrometheusSource('p', source(none, { ignore_null_values: false })).read(at);
    assert.match(strict.ok ? '' : strict.error, /returned no series \(ignore_null_values is false\)/);

    const bad = await createPrometheusSource('p', source('sum((')).read(at);
    assert.match(bad.ok ? '' : bad.error, /query 'sum\(\(' failed: 422: .*unexpected token/);

    const down = await createPrometheusSource(
      'p',
      source('up', { server_address: `http://127.0.0.1:${await freePort()}` }),
    ).read(at);
    assert.match(down.ok ? '' : down.error, /ECONNREFUSED/);
    for (const s of [one, sum]) s.shutdown();
  });

  test('a pool scaling on a query: nothing under the activation threshold, then pressure asking ceil(value / threshold)', async () => {
    const pool = uniqueName('mp');
    const series = pool.replace(/-/g, '_');
    const prefix = `${pool}.`;
    fx.defer(() => fx.kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${pool}` }));
    for (const i of [1, 2]) {
      await ensureNode(
        fx.kube,
        kwokNodeManifest({ name: `${pool}-${i}`, pool, cpuMillicores: 4000, memoryBytes: 8 * 2 ** 30 }),
      );
    }
    await write([`jobs_waiting{pool="${series}"} 3`]);
    // The pool's metric as configured: what every reading of it names besides its value.
    const configured = {
      name: 'jobs_waiting',
      query: `sum(jobs_waiting{pool="${series}"})`,
      threshold: 100,
      activation_threshold: 5,
    };
    const text = poolServiceYaml(fx.stack, pool, {
      pool: { min: 1, max: 10, metrics: { prometheus: { server_address: vmUrl, ...configured } } },
      autoscaler: { sensing: { sample_interval_seconds: 1, utilization_source: 'requests' } },
    });
    const { rec } = await startListener(fx, text, prefix, ['metrics', 'signals']);
    const observed = () =>
      recordedData(rec, 'io.scalewise.PoolMetricsObserved', pool).filter((d) => d.ready_workers === 2);
    const alerts = () => recordedData(rec, 'io.scalewise.ResourcePressureAlert', pool);

    // 3 jobs waiting, activation at 5: the metric is inactive and asks for nothing.
    await waitFor(() => observed().filter((d) => d.metric?.value === 3).length >= 2, {
      timeoutMs: 30_000,
      what: 'two samples of the metric at 3',
    });
    const idle = observed().find((d) => d.metric?.value === 3)?.metric;
    assert.deepEqual([idle?.active, idle?.desired_workers, idle?.query], [false, 0, configured.query]);
    assert.equal(alerts().length, 0);

    // 450 waiting at 100 a worker: the pool of 2 needs ceil(450 / 100) = 5.
    await write([`jobs_waiting{pool="${series}"} 450`]);
    const alert = await waitFor(() => alerts().at(-1), {
      timeoutMs: 30_000,
      what: 'ResourcePressureAlert on the metric',
    });
    assert.equal(alert.resource, 'metric');
    assert.equal(alert.workers, 2);
    assert.deepEqual(alert.metric, {
      ...configured,
      value: 450,
      metric_type: 'AverageValue',
      active: true,
      desired_workers: 5,
    });

    // 150 waiting: 2 workers are enough (ceil(1.5) = 2), the alerts stop.
    await write([`jobs_waiting{pool="${series}"} 150`]);
    await waitFor(() => observed().filter((d) => d.metric?.value === 150).length >= 3, {
      timeoutMs: 30_000,
      what: 'three samples at 150',
    });
    assert.deepEqual(
      alerts().filter((a) => a.metric?.value === 150),
      [],
      'no pressure while the workers suffice',
    );
    assert.equal(observed().at(-1)?.metric?.desired_workers, 2);
  });
});

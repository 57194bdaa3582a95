import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseData, shortName } from '@scalewise/events';
import fc from 'fast-check';
import {
  initialSenseState,
  type NodeSample,
  type PendingPod,
  type PoolSample,
  pendingPodsEvent,
  type SenseIntent,
  type SensePolicy,
  sense,
  utilization,
} from './sense.ts';

const T0 = Date.parse('2026-11-22T11:00:00Z');
const GiB = 2 ** 30;
const policy: SensePolicy = {
  pool: 'workers',
  min: 2,
  max: 6,
  cpuHighPercent: 80,
  memoryHighPercent: 85,
  cpuLowPercent: 30,
  memoryLowPercent: 40,
  underutilizedPeriods: 3,
  healthRepeatSeconds: 60,
};
const node = (name: string, cpuReq: number, memReq: number, extra: Partial<NodeSample> = {}): NodeSample => ({
  name,
  ready: true,
  pressure: [],
  cpuAllocatableMillicores: 4000,
  memoryAllocatableBytes: 8 * GiB,
  cpuRequestedMillicores: cpuReq,
  memoryRequestedBytes: memReq,
  ...extra,
});
const sample = (s: number, nodes: NodeSample[], pending: PendingPod[] = []): PoolSample => ({
  pool: 'workers',
  at: T0 + s * 1000,
  nodes,
  pending,
});
const types = (events: SenseIntent[]) => events.map((e) => shortName(e.type));
const of = <T extends SenseIntent['type']>(events: SenseIntent[], type: T) =>
  events.find((e) => e.type === type)?.data as Extract<SenseIntent, { type: T }>['data'] | undefined;
/** Samples of the pool 10 s apart from t=0, one of each list of nodes in turn. */
const tenSecondsApart = (...rounds: NodeSample[][]): PoolSample[] =>
  rounds.map((nodes, i) => sample(i * 10, nodes));
/** Every sample sensed in turn, each from the state the one before left. */
function sensed(samples: PoolSample[], p = policy): ReturnType<typeof sense>[] {
  let state = initialSenseState();
  return samples.map((s) => {
    const r = sense(state, s, p);
    state = r.state;
    return r;
  });
}
/** What the core said at each sample, in turn. */
function run(samples: PoolSample[], p = policy): { events: SenseIntent[][] } {
  return { events: sensed(samples, p).map((r) => r.events) };
}

describe('PoolMetricsObserved and utilisation', () => {
  test('Given three nodes with requests, Then CPU and memory are requested / allocatable of the ready nodes', () => {
    const { events } = run([
      sample(0, [node('a', 2000, 4 * GiB), node('b', 1000, 2 * GiB), node('c', 0, 0, { ready: false })]),
    ]);
    const m = of(events[0] ?? [], 'io.scalewise.PoolMetricsObserved');
    assert.deepEqual(
      [m?.workers, m?.ready_workers, m?.cpu_avg, m?.memory_avg, m?.source],
      [3, 2, 37.5, 37.5, 'requests'],
    );
  });

  test('Given usage on every ready node, Then the metrics server numbers are used', () => {
    const u = utilization([
      node('a', 100, 100, { cpuUsageMillicores: 3600, memoryUsageBytes: 4 * GiB }),
      node('b', 100, 100, { cpuUsageMillicores: 2800, memoryUsageBytes: 2 * GiB }),
    ]);
    assert.deepEqual(u, { cpu: 80, memory: 37.5, source: 'metrics-server' });
    // One node without usage: back to requests for all, never a mix.
    assert.equal(
      utilization([node('a', 100, 100, { cpuUsageMillicores: 1 }), node('b', 100, 100)]).source,
      'requests',
    );
  });

  test('an empty pool reports 0 % and no pressure', () => {
    const { events } = run([sample(0, [])]);
    assert.deepEqual(types(events[0] ?? []), ['PoolMetricsObserved']);
  });
});

describe('ResourcePressureAlert', () => {
  test('Given CPU above 80 %, Then pressure on cpu, repeated with the time it has held; it ends when CPU drops', () => {
    const hot = [node('a', 3600, GiB), node('b', 3400, GiB)];
    const { events } = run([
      sample(0, hot),
      sample(10, hot),
      sample(20, [node('a', 1000, GiB), node('b', 1000, GiB)]),
    ]);
    assert.equal(of(events[0] ?? [], 'io.scalewise.ResourcePressureAlert')?.resource, 'cpu');
    assert.equal(of(events[0] ?? [], 'io.scalewise.ResourcePressureAlert')?.duration, 0);
    assert.equal(of(events[1] ?? [], 'io.scalewise.ResourcePressureAlert')?.duration, 10);
    assert.equal(of(events[2] ?? [], 'io.scalewise.ResourcePressureAlert'), undefined);
  });

  test('memory above 85 % alone, and both', () => {
    const mem = run([sample(0, [node('a', 100, 7.5 * GiB)])]).events[0] ?? [];
    assert.equal(of(mem, 'io.scalewise.ResourcePressureAlert')?.resource, 'memory');
    const both = run([sample(0, [node('a', 3900, 7.5 * GiB)])]).events[0] ?? [];
    assert.equal(of(both, 'io.scalewise.ResourcePressureAlert')?.resource, 'both');
    // Exactly at the threshold is not above it.
    assert.equal(
      of(run([sample(0, [node('a', 3200, GiB)])]).events[0] ?? [], 'io.scalewise.ResourcePressureAlert'),
      undefined,
    );
  });
});

describe('UnderutilizationWarning', () => {
  const idle = [node('a', 400, GiB), node('b', 400, GiB), node('c', 400, GiB)];
  test('Given an idle pool above min, Then the warning comes only from the third consecutive sample, with its duration', () => {
    const { events } = run(tenSecondsApart(idle, idle, idle, idle));
    assert.equal(of(events[1] ?? [], 'io.scalewise.UnderutilizationWarning'), undefined);
    const w = of(events[2] ?? [], 'io.scalewise.UnderutilizationWarning');
    assert.deepEqual([w?.periods, w?.duration, w?.cpu_avg, w?.min_workers], [3, 20, 10, 2]);
    assert.equal(of(events[3] ?? [], 'io.scalewise.UnderutilizationWarning')?.duration, 30);
  });

  test('a busy sample in between starts the count again', () => {
    const busy = [node('a', 2000, GiB), node('b', 2000, GiB), node('c', 2000, GiB)];
    const { events } = run(tenSecondsApart(idle, idle, busy, idle, idle));
    assert.ok(events.every((e) => of(e, 'io.scalewise.UnderutilizationWarning') === undefined));
  });

  test('never at the minimum, and memory must be low too; pods pending do not stop it (the engine blocks on them, saying so)', () => {
    const atMin = [node('a', 100, GiB), node('b', 100, GiB)];
    assert.ok(
      run([0, 10, 20, 30].map((s) => sample(s, atMin))).events.every(
        (e) => !of(e, 'io.scalewise.UnderutilizationWarning'),
      ),
    );
    const waiting: PendingPod = {
      namespace: 'd',
      name: 'p',
      cpuMillicores: 9000,
      memoryBytes: 0,
      pendingSince: T0,
      reason: 'Unschedulable',
    };
    assert.ok(
      of(
        run([0, 10, 20, 30].map((s) => sample(s, idle, [waiting]))).events[3] ?? [],
        'io.scalewise.UnderutilizationWarning',
      ),
    );
    const memBusy = [node('a', 100, 4 * GiB), node('b', 100, 4 * GiB), node('c', 100, 4 * GiB)];
    assert.ok(
      run([0, 10, 20, 30].map((s) => sample(s, memBusy))).events.every(
        (e) => !of(e, 'io.scalewise.UnderutilizationWarning'),
      ),
    );
  });
});

describe('scale-down candidates, node by node', () => {
  test('Given a busy pool with one nearly empty node, Then that node alone is a candidate, though the average is not low', () => {
    const nodes = [node('a', 3600, 6 * GiB), node('b', 3600, 6 * GiB), node('c', 100, GiB)];
    const last = sensed(tenSecondsApart(nodes, nodes, nodes)).at(-1);
    const w = of(last?.events ?? [], 'io.scalewise.UnderutilizationWarning');
    assert.ok(w, 'warned');
    assert.ok((w?.cpu_avg ?? 0) > policy.cpuLowPercent, 'the pool average is above the low threshold');
    assert.deepEqual(
      last?.candidates.map((c) => c.node),
      ['c'],
    );
  });

  test('Given several candidates, Then the least requested first, the newest first among equals', () => {
    const nodes = [
      node('old', 400, GiB, { createdAt: 1 }),
      node('new', 400, GiB, { createdAt: 2 }),
      node('emptiest', 0, 0, { createdAt: 0 }),
    ];
    const last = sensed(tenSecondsApart(nodes, nodes, nodes)).at(-1);
    assert.deepEqual(
      last?.candidates.map((c) => c.node),
      ['emptiest', 'new', 'old'],
    );
  });

  test('Given a node that turned low later, Then the duration is that of the most recent candidate', () => {
    const busyC = [node('a', 100, GiB), node('b', 100, GiB), node('c', 3000, GiB)];
    const idleC = [node('a', 100, GiB), node('b', 100, GiB), node('c', 100, GiB)];
    const { events } = run(tenSecondsApart(busyC, busyC, idleC, idleC, idleC));
    const w = of(events[4] ?? [], 'io.scalewise.UnderutilizationWarning');
    assert.equal(w?.duration, 20, 'c has been low since t=20');
    assert.equal(w?.periods, 3);
  });

  test('property: every candidate is a Ready node under both low thresholds for the periods', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            cpu: fc.integer({ min: 0, max: 4000 }),
            mem: fc.integer({ min: 0, max: 8 }),
            ready: fc.boolean(),
          }),
          { minLength: 3, maxLength: 8 },
        ),
        (specs) => {
          const nodes = specs.map((x, i) => node(`n${i}`, x.cpu, x.mem * GiB, { ready: x.ready }));
          const last = sensed(tenSecondsApart(nodes, nodes, nodes)).at(-1);
          for (const c of last?.candidates ?? []) {
            const n = nodes.find((x) => x.name === c.node);
            assert.ok(n?.ready);
            assert.ok(c.cpuPercent < policy.cpuLowPercent && c.memoryPercent < policy.memoryLowPercent);
          }
        },
      ),
    );
  });
});

describe('PendingPodsDetected', () => {
  test('Given pods of two Deployments waiting, Then count, longest wait, deployments, summed requests and the largest pod', () => {
    const pods: PendingPod[] = [
      {
        namespace: 'shop',
        name: 'web-1',
        cpuMillicores: 1000,
        memoryBytes: GiB,
        pendingSince: T0 - 45_000,
        owner: 'Deployment/web',
        reason: 'Unschedulable',
      },
      {
        namespace: 'shop',
        name: 'web-2',
        cpuMillicores: 1000,
        memoryBytes: GiB,
        pendingSince: T0 - 5_000,
        owner: 'Deployment/web',
        reason: 'Unschedulable',
      },
      {
        namespace: 'jobs',
        name: 'etl-x',
        cpuMillicores: 3000,
        memoryBytes: 2 * GiB,
        pendingSince: T0 - 10_000,
        owner: 'Job/etl',
        reason: 'Unschedulable',
      },
      {
        namespace: 'ops',
        name: 'api-1',
        cpuMillicores: 500,
        memoryBytes: GiB,
        pendingSince: T0,
        owner: 'Deployment/api',
        reason: 'Unschedulable',
      },
    ];
    const p = of(
      run([sample(0, [node('a', 3900, GiB)], pods)]).events[0] ?? [],
      'io.scalewise.PendingPodsDetected',
    );
    assert.deepEqual(
      [
        p?.pending_count,
        p?.waiting_time,
        p?.affected_deployments,
        p?.requested_cpu_millicores,
        p?.requested_memory_bytes,
        p?.largest_pod,
      ],
      [4, 45, ['ops/api', 'shop/web'], 5500, 5 * GiB, { cpu_millicores: 3000, memory_bytes: 2 * GiB }],
    );
    assert.equal(p?.pods?.[0]?.name, 'web-1', 'longest-waiting first');
  });

  test('Given the same waiting pods, Then the event reported from the watch is the one a round reports', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
            cpu: fc.integer({ min: 0, max: 8000 }),
            memMiB: fc.integer({ min: 0, max: 16_384 }),
            waitedMs: fc.integer({ min: 0, max: 600_000 }),
            owner: fc.constantFrom(undefined, 'Deployment/web', 'Job/etl'),
          }),
          { maxLength: 60 },
        ),
        (specs) => {
          const pods: PendingPod[] = specs.map((x) => ({
            namespace: 'ns',
            name: x.name,
            cpuMillicores: x.cpu,
            memoryBytes: x.memMiB * 2 ** 20,
            pendingSince: T0 - x.waitedMs,
            ...(x.owner ? { owner: x.owner } : {}),
            reason: 'Unschedulable',
          }));
          const fromRound =
            run([{ ...sample(0, [node('a', 0, 0)], pods) }]).events[0]?.find(
              (e) => e.type === 'io.scalewise.PendingPodsDetected',
            ) ?? null;
          const fromWatch = pendingPodsEvent('workers', pods, T0);
          assert.deepEqual(fromWatch, fromRound);
          if (fromWatch) parseData(fromWatch.type, fromWatch.data); // throws naming the field when invalid
        },
      ),
      { numRuns: 300 },
    );
  });

  test('Given no pod waiting, Then nothing to report', () => {
    assert.equal(pendingPodsEvent('workers', [], T0), null);
  });
});

describe('a pods pool (workerKind pod)', () => {
  const podsPolicy: SensePolicy = { ...policy, workerKind: 'pod', min: 0 };
  const worker = (name: string, running: boolean): NodeSample => ({
    name,
    ready: running,
    pressure: [],
    cpuAllocatableMillicores: 0,
    memoryAllocatableBytes: 0,
    cpuRequestedMillicores: 0,
    memoryRequestedBytes: 0,
  });

  test('Given two Running worker pods and one starting, Then 3 workers, 2 ready, worker_kind pod, and nothing else for ten samples', () => {
    const samples = Array.from({ length: 10 }, (_, i) =>
      sample(i * 10, [worker('w-1', true), worker('w-2', true), worker('w-3', false)]),
    );
    const { events } = run(samples, podsPolicy);
    for (const round of events) assert.deepEqual(types(round), ['PoolMetricsObserved']);
    const m = of(events[0] ?? [], 'io.scalewise.PoolMetricsObserved');
    assert.deepEqual(
      [m?.workers, m?.ready_workers, m?.cpu_avg, m?.memory_avg, m?.worker_kind],
      [3, 2, 0, 0, 'pod'],
    );
  });

  test('Given a queue metric asking for more workers than there are pods, Then ResourcePressureAlert on the metric', () => {
    const metricPolicy: SensePolicy = {
      ...podsPolicy,
      prometheus: {
        name: 'queue',
        query: 'q',
        threshold: 10,
        activationThreshold: 0,
        metricType: 'Value',
        ignoreNullValues: true,
      },
    };
    const r = sense(
      initialSenseState(),
      { ...sample(0, [worker('w-1', true)]), metric: { ok: true, value: 35, series: 1 } },
      metricPolicy,
    );
    const a = of(r.events, 'io.scalewise.ResourcePressureAlert');
    assert.equal(a?.resource, 'metric');
    assert.equal(a?.metric?.desired_workers, 4);
  });

  test('Given the same sample as a nodes pool, Then the nodes pool reports no worker_kind', () => {
    const m = of(
      sense(initialSenseState(), sample(0, [node('a', 0, 0)]), policy).events,
      'io.scalewise.PoolMetricsObserved',
    );
    assert.equal(m?.worker_kind, undefined);
  });
});

describe('NodeHealthDegraded', () => {
  test('Given a node NotReady, Then reported at once, again after 60 s, and forgotten once Ready', () => {
    const sick = node('b', 0, 0, {
      ready: false,
      readyCondition: {
        type: 'Ready',
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
      },
    });
    const { events } = run([
      sample(0, [node('a', 0, 0), sick]),
      sample(30, [node('a', 0, 0), sick]),
      sample(60, [node('a', 0, 0), sick]),
      sample(70, [node('a', 0, 0), node('b', 0, 0)]),
      sample(80, [node('a', 0, 0), sick]),
    ]);
    const h = of(events[0] ?? [], 'io.scalewise.NodeHealthDegraded');
    assert.deepEqual(
      [h?.node_name, h?.status, h?.condition, h?.reason],
      ['b', 'NotReady', 'Ready', 'NodeStatusUnknown'],
    );
    assert.equal(of(events[1] ?? [], 'io.scalewise.NodeHealthDegraded'), undefined, 'not again within 60 s');
    assert.ok(of(events[2] ?? [], 'io.scalewise.NodeHealthDegraded'), 'again after 60 s');
    assert.equal(of(events[3] ?? [], 'io.scalewise.NodeHealthDegraded'), undefined);
    assert.ok(of(events[4] ?? [], 'io.scalewise.NodeHealthDegraded'), 'a new problem is reported at once');
  });

  test('a pressure condition on a Ready node is reported with its type, and a change of problem at once', () => {
    const mp = node('a', 0, 0, {
      pressure: [{ type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory' }],
    });
    const dp = node('a', 0, 0, { pressure: [{ type: 'DiskPressure', status: 'True' }] });
    const { events } = run([sample(0, [mp]), sample(10, [dp])]);
    assert.equal(of(events[0] ?? [], 'io.scalewise.NodeHealthDegraded')?.status, 'MemoryPressure');
    assert.equal(of(events[1] ?? [], 'io.scalewise.NodeHealthDegraded')?.status, 'DiskPressure');
  });
});

describe('properties', () => {
  const arbNode = fc.record({
    name: fc.constantFrom('a', 'b', 'c', 'd'),
    ready: fc.boolean(),
    pressure: fc.constantFrom([], [{ type: 'PIDPressure', status: 'True' }]),
    cpuAllocatableMillicores: fc.integer({ min: 0, max: 64_000 }),
    memoryAllocatableBytes: fc.integer({ min: 0, max: 256 * GiB }),
    cpuRequestedMillicores: fc.integer({ min: 0, max: 100_000 }),
    memoryRequestedBytes: fc.integer({ min: 0, max: 512 * GiB }),
  });
  const arbPod = fc.record({
    namespace: fc.constantFrom('a', 'b'),
    name: fc.string({ minLength: 1, maxLength: 8 }),
    cpuMillicores: fc.integer({ min: 0, max: 10_000 }),
    memoryBytes: fc.integer({ min: 0, max: 16 * GiB }),
    pendingSince: fc.integer({ min: T0 - 3_600_000, max: T0 + 3_600_000 }),
    owner: fc.option(fc.constantFrom('Deployment/web', 'Job/x', 'ReplicaSet/r'), { nil: undefined }),
    reason: fc.constant('Unschedulable'),
  });
  test('every event validates against the catalogue, percentages stay 0-100, and it never throws', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.uniqueArray(arbNode, { selector: (n) => n.name, maxLength: 4 }),
            fc.array(arbPod, { maxLength: 60 }),
          ),
          {
            maxLength: 8,
          },
        ),
        (steps) => {
          let state = initialSenseState();
          steps.forEach(([nodes, pods], i) => {
            const r = sense(state, sample(i * 10, nodes as NodeSample[], pods as PendingPod[]), policy);
            state = r.state;
            for (const e of r.events) parseData(e.type, e.data);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

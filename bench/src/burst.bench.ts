// A burst of mixed pods across three pools, with all six services as processes on the native
// stack (e2e's startSystem: the kwok provider, the real kube-apiserver, scheduler and KWOK):
// `--pods` pods (default 500) of four Deployments created at once, and the time until all of
// them are Running; the ScaleUpDecisions it took and the nodes bought per pool, beside the
// minimum a packer finds: packages/scheduling's planScaleUp run offline on the same pods (as
// the API server holds them, their node taken away) and the empty pools' templates (from the
// configuration the services read), first-fit decreasing.
//
// Pools (min 0, max `--max` each, default 200; scale-up rate policy Pods `--rate` (default 100)
// per 15 s; cooldown 0, so that the rate limits do not dominate): `small` 4 CPU / 8 GiB,
// `big` 16 CPU / 64 GiB, `tnt` 8 CPU / 16 GiB with the label workload=batch and the taint
// dedicated=batch:NoSchedule. The pods select the system's label and no pool: the simulation
// chooses. Of every 10 pods: 6 web (250m, 512Mi), 1 batch-big (6 CPU, 24Gi: only `big` takes
// them), 2 tolerating the taint and selecting workload=batch (1 CPU, 2Gi), 1 in a hostname
// anti-affinity group (500m, 512Mi).
//
// Reported, never asserted.
//
//   node bench/src/burst.bench.ts [--pods 500] [--max 200] [--rate 100] [--sample-interval 1] [--sources]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, poolTemplate } from '@scalewise/config';
import { deploy, type ExtraPool, type SystemOptions, startSystem, type WorkloadSpec } from '@scalewise/e2e';
import { POOL_LABEL, projectPod, simPod } from '@scalewise/kube';
import { planScaleUp } from '@scalewise/scheduling';
import { waitFor } from '@scalewise/testing';
import { benchArgs } from './args.ts';
import { imageLauncher } from './image.ts';

const { counts, values } = benchArgs(
  { pods: 500, max: 200, rate: 100, 'sample-interval': 1 },
  { sources: { type: 'boolean', default: false } },
);
const { pods: podsN, max, rate, 'sample-interval': sampleInterval } = counts;

const bundleDir = mkdtempSync(join(tmpdir(), 'scalewise-burst-'));
const launch: SystemOptions['launch'] = values.sources ? undefined : imageLauncher(bundleDir);

// The rate and cooldown of every pool. ExtraPool does not list them (the harness gives extra
// pools the main pool's defaults): the spread passes them through to the YAML, and the pools'
// lines of the config file are printed below to show what the services read.
const behaviour = { scaleUpPodsPer15s: rate, cooldownSeconds: 0 };
const taint = { key: 'dedicated', value: 'batch', effect: 'NoSchedule' as const };
const extraPools: ExtraPool[] = [
  {
    suffix: 'big',
    min: 0,
    max,
    cpuMillicores: 16000,
    memoryMib: 65536,
    nodeLabels: { size: 'big' },
    ...behaviour,
  },
  {
    suffix: 'tnt',
    min: 0,
    max,
    cpuMillicores: 8000,
    memoryMib: 16384,
    nodeLabels: { workload: 'batch' },
    taints: [taint],
    ...behaviour,
  },
];
const system = await startSystem({
  label: 'bench-burst',
  pool: { min: 0, max, cpuMillicores: 4000, memoryMib: 8192, nodeLabels: { size: 'small' }, ...behaviour },
  extraPools,
  systemLabel: true,
  initialWorkers: 0,
  sampleIntervalSeconds: sampleInterval,
  ...(launch ? { launch } : {}),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const share = (k: number) => Math.round((podsN * k) / 10);
const sel = system.systemSelector;
const workloads: WorkloadSpec[] = [
  { name: 'web', replicas: podsN - share(1) - share(2) - share(1), cpu: '250m', memory: '512Mi' },
  { name: 'batch-big', replicas: share(1), cpu: '6', memory: '24Gi' },
  {
    name: 'batch-tnt',
    replicas: share(2),
    cpu: '1',
    memory: '2Gi',
    nodeSelector: { workload: 'batch' },
    podSpec: {
      tolerations: [{ key: taint.key, operator: 'Equal', value: taint.value, effect: taint.effect }],
    },
  },
  {
    name: 'solo',
    replicas: share(1),
    cpu: '500m',
    memory: '512Mi',
    podSpec: {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'solo' } }, topologyKey: 'kubernetes.io/hostname' },
          ],
        },
      },
    },
  },
].map((w) => ({ ...w, selectPool: false, nodeSelector: { ...sel, ...w.nodeSelector } }));

try {
  const configFile = join(system.logDir, 'config.yaml');
  const yaml = readFileSync(configFile, 'utf8');
  console.log('pools as the services read them:');
  for (const l of yaml.split('\n'))
    if (/^ {4}- name:|node_size|node_labels|node_taints|policies|cooldown|^ {6}(min|max):/.test(l))
      console.log(`  ${l.trim()}`);

  const t0 = Date.now();
  await Promise.all(workloads.map((w) => deploy(system, w)));
  const created = Date.now() - t0;
  let allRunning = 0;
  let lastRunning = -1;
  await waitFor(
    async () => {
      const pods = (await system.kube.core.listNamespacedPod({ namespace: system.namespace })).items;
      const running = pods.filter((p) => p.status?.phase === 'Running').length;
      if (running !== lastRunning) {
        lastRunning = running;
        process.stdout.write(`${running} `);
      }
      if (pods.length === podsN && running === podsN) {
        allRunning = Date.now() - t0;
        return true;
      }
      return false;
    },
    { timeoutMs: 15 * 60_000, intervalMs: 500, what: `${podsN} pods Running` },
  );
  process.stdout.write('\n');

  // What the system did: its decisions since the pods were created, the nodes per pool.
  const decisions = system.rec.events.filter(
    (e) => e.type === 'io.scalewise.ScaleUpDecision' && Date.parse(e.time) >= t0,
  );
  const decisionsOf = new Map<string, number>();
  for (const d of decisions) {
    const pool = (d.data as { pool: string }).pool;
    decisionsOf.set(pool, (decisionsOf.get(pool) ?? 0) + 1);
  }
  const lastDecision = Math.max(...decisions.map((d) => Date.parse(d.time) - t0));
  const bought = new Map<string, number>();
  for (const pool of system.pools) bought.set(pool, (await system.workersOf(pool)).length);

  // The packer: the same pods, unbound, onto new nodes of the empty pools' templates.
  const { config } = loadConfig({ text: yaml, env: {} });
  const templates = config.autoscaler.pools.map((p) => ({ ...poolTemplate(p), maxNew: p.max }));
  const listed = (await system.kube.core.listNamespacedPod({ namespace: system.namespace })).items;
  const pending = listed.map((p) => {
    const { nodeName: _bound, ...spec } = p.spec ?? { containers: [] };
    return simPod(projectPod({ ...p, spec, status: {} }));
  });
  const plan = planScaleUp({ snapshot: { nodes: [], pods: [] }, pending, templates });
  const packed = new Map(plan.pools.map((p) => [p.pool, p.newNodes.length]));

  const short = (pool: string) => (pool === system.pool ? 'small' : pool.slice(system.name.length + 1));
  const rows: Record<string, Record<string, number | string>> = {};
  let tb = 0;
  let tp = 0;
  for (const pool of system.pools) {
    const b = bought.get(pool) ?? 0;
    const k = packed.get(pool) ?? 0;
    tb += b;
    tp += k;
    rows[short(pool)] = {
      ScaleUpDecisions: decisionsOf.get(pool) ?? 0,
      'nodes bought': b,
      'packer (FFD)': k,
      'bought / packer': k > 0 ? (b / k).toFixed(2) : '-',
    };
  }
  rows.total = {
    ScaleUpDecisions: decisions.length,
    'nodes bought': tb,
    'packer (FFD)': tp,
    'bought / packer': tp > 0 ? (tb / tp).toFixed(2) : '-',
  };
  console.log(
    `\n${podsN} pods (${workloads.map((w) => `${w.name} ${w.replicas}`).join(', ')}) created at once in ${created} ms; ` +
      `pools min 0, max ${max}, scale-up policy Pods ${rate} per 15 s, cooldown 0; sample interval ${sampleInterval} s; ` +
      `2 shared cores, load average at the end ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' / ')}`,
  );
  console.log(
    `pods created -> all ${podsN} Running: ${(allRunning / 1000).toFixed(1)} s; ` +
      `last ScaleUpDecision at +${(lastDecision / 1000).toFixed(1)} s; ` +
      `packer: ${plan.unplaceable.length} unplaceable`,
  );
  console.table(rows);
  console.log(
    `pools: ${system.pools.map((p) => `${short(p)} = ${p}`).join(', ')} (${POOL_LABEL}); logs ${system.logDir}`,
  );
} finally {
  await system.stop();
  rmSync(bundleDir, { recursive: true, force: true });
}
await sleep(100);
process.exit(0);

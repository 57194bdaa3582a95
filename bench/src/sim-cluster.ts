/**
 * A synthetic cluster for the scheduling simulation bench, as Kubernetes API objects (V1Node,
 * V1Pod, V1PodDisruptionBudget) that the bench projects with packages/kube as metrics-listener's
 * watch caches do. Deterministic: the same options give the same cluster.
 *
 * Shape (every number follows from the options):
 * - `pools` pools, node `i` in pool `i % pools`; pool 0 general (16 CPU, 64 GiB), pool 1
 *   highmem (16 CPU, 128 GiB), pool 2 batch (16 CPU, 32 GiB, label `workload=batch`, taint
 *   `dedicated=batch:NoSchedule`), then general again; three zones taken in turn per pool;
 * - one DaemonSet pod per node; every 10th node nearly empty (the DaemonSet pod and two small
 *   pods: under the low thresholds); the other nodes share the rest of `nodes * podsPerNode`;
 * - pods of ReplicaSets of Deployments, 50 % small (100m, 128Mi), 35 % medium (250m, 512Mi),
 *   15 % large (1, 2Gi); on the tainted pool they tolerate the taint and select its label;
 * - 10 groups of 30 pods with required hostname anti-affinity (300 pods, one per node);
 * - 10 Deployments of 300 pods with a zone topology spread (maxSkew 1, DoNotSchedule);
 * - 20 PDBs over the first Deployments (`web-0`..`web-4` allow no disruption, the others 3);
 * - on every 50th nearly-empty node a pod with no controller (not evictable).
 */
import type { projectNode, projectPdb, projectPod } from '@scalewise/kube';
import {
  HOSTNAME_LABEL,
  type NodeTemplate,
  POOL_LABEL,
  type ResourceList,
  ZONE_LABEL,
} from '@scalewise/scheduling';

// The API types as packages/kube takes them (bench does not depend on the client itself).
type V1Node = Parameters<typeof projectNode>[0];
type V1Pod = Parameters<typeof projectPod>[0];
type V1PodSpec = NonNullable<V1Pod['spec']>;
type V1PodDisruptionBudget = Parameters<typeof projectPdb>[0];

export interface ClusterOptions {
  nodes: number;
  podsPerNode: number;
  pools: number;
}

interface PoolShape {
  name: string;
  cpu: number;
  memoryGi: number;
  labels: Record<string, string>;
  taint?: { key: string; value: string; effect: 'NoSchedule' };
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;
export const ZONES = ['zone-a', 'zone-b', 'zone-c'] as const;
const BATCH_TAINT = { key: 'dedicated', value: 'batch', effect: 'NoSchedule' as const };
const CREATED = '2026-11-20T00:00:00Z';

/** The shape of pool `p`: general, highmem, batch (tainted), then general again. */
export function poolShape(p: number): PoolShape {
  const kind = p % 3;
  const name = `pool-${p}`;
  if (kind === 1)
    return { name, cpu: 16, memoryGi: 128, labels: { 'node.kubernetes.io/instance-type': 'm-16' } };
  if (kind === 2)
    return {
      name,
      cpu: 16,
      memoryGi: 32,
      labels: { 'node.kubernetes.io/instance-type': 'b-16', workload: 'batch' },
      taint: BATCH_TAINT,
    };
  return { name, cpu: 16, memoryGi: 64, labels: { 'node.kubernetes.io/instance-type': 'g-16' } };
}

/**
 * The template of pool `p` as metrics-listener builds it (packages/config's poolTemplate): the
 * nodes' labels but the hostname and the zone, the taint, the allocatable, the zones. The
 * highmem pool's template also carries `disk=nvme`, which none of its existing nodes has (a
 * label added to the pool since): pods that select it need new nodes.
 */
export function templateOf(p: number, maxNew: number): NodeTemplate {
  const s = poolShape(p);
  return {
    pool: s.name,
    labels: { ...s.labels, [POOL_LABEL]: s.name, ...(p % 3 === 1 ? { disk: 'nvme' } : {}) },
    taints: s.taint ? [s.taint] : [],
    allocatable: { cpu: s.cpu * 1000, memory: s.memoryGi * GiB, pods: 110 },
    zones: [...ZONES],
    maxNew,
  };
}

const sizes = [
  { cpu: '100m', memory: '128Mi' },
  { cpu: '250m', memory: '512Mi' },
  { cpu: '1', memory: '2Gi' },
] as const;
/** 50 % small, 35 % medium, 15 % large, by the pod's slot. */
const sizeOf = (slot: number) => sizes[slot % 20 < 10 ? 0 : slot % 20 < 17 ? 1 : 2];

export function nodeObject(i: number, pools: number, ready = true): V1Node {
  const p = i % pools;
  const s = poolShape(p);
  const name = `node-${i}`;
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: CREATED,
      labels: {
        ...s.labels,
        [POOL_LABEL]: s.name,
        [HOSTNAME_LABEL]: name,
        [ZONE_LABEL]: ZONES[Math.floor(i / pools) % ZONES.length] as string,
        'kubernetes.io/os': 'linux',
      },
    },
    spec: { ...(s.taint ? { taints: [s.taint] } : {}), providerID: `kwok://${name}` },
    status: {
      allocatable: { cpu: String(s.cpu), memory: `${s.memoryGi}Gi`, pods: '110' },
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'KubeletReady' : 'KubeletNotReady',
          lastTransitionTime: CREATED,
        },
      ],
    },
  } as V1Node;
}

export interface PodShape {
  namespace: string;
  name: string;
  app: string;
  cpu: string;
  memory: string;
  /** Owner kind: a Deployment's ReplicaSet, a DaemonSet, or none. */
  owner: 'ReplicaSet' | 'DaemonSet' | 'none';
  spec?: Partial<V1PodSpec>;
}

export function podObject(shape: PodShape, nodeName: string | undefined): V1Pod {
  const { namespace, name, app } = shape;
  const ownerName = shape.owner === 'ReplicaSet' ? `${app}-5d8f7c` : app;
  return {
    metadata: {
      namespace,
      name,
      uid: `uid-${namespace}-${name}`,
      resourceVersion: '1',
      creationTimestamp: CREATED,
      labels: { app, ...(shape.owner === 'ReplicaSet' ? { 'pod-template-hash': '5d8f7c' } : {}) },
      ...(shape.owner === 'none'
        ? {}
        : {
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: shape.owner,
                name: ownerName,
                uid: `uid-${ownerName}`,
                controller: true,
              },
            ],
          }),
    },
    spec: {
      ...shape.spec,
      ...(nodeName ? { nodeName } : {}),
      containers: [
        { name: 'main', image: app, resources: { requests: { cpu: shape.cpu, memory: shape.memory } } },
      ],
    },
    status: nodeName
      ? { phase: 'Running' }
      : {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              lastTransitionTime: CREATED,
            },
          ],
        },
  } as V1Pod;
}

const batchSpec: Partial<V1PodSpec> = {
  nodeSelector: { workload: 'batch' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' }],
};
const antiAffinity = (app: string): Partial<V1PodSpec> => ({
  affinity: {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app } }, topologyKey: HOSTNAME_LABEL },
      ],
    },
  },
});
const zoneSpread = (app: string): Partial<V1PodSpec> => ({
  topologySpreadConstraints: [
    {
      maxSkew: 1,
      topologyKey: ZONE_LABEL,
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { app } },
    },
  ],
});

/** Whether node `i` is one of the nearly empty ones (every 10th). */
export const nearlyEmpty = (i: number) => i % 10 === 9;

export const ANTI_GROUPS = 10;
export const ANTI_PER_GROUP = 30;
export const SPREAD_APPS = 10;
export const SPREAD_PER_APP = 300;
const WEB_APPS = 200;
const BATCH_APPS = 20;

/**
 * Every bound pod of the cluster, node by node, as [node index, pod shape]: the caller turns
 * each into a V1Pod and projects it at once (so that no more than one API object is alive).
 */
export function* boundPods(o: ClusterOptions): Generator<[number, PodShape]> {
  const { nodes, podsPerNode, pools } = o;
  const tainted = (i: number) => pools > 2 && (i % pools) % 3 === 2;
  const busy: number[] = [];
  for (let i = 0; i < nodes; i++) if (!nearlyEmpty(i) && !tainted(i)) busy.push(i);
  // Special pods land on busy untainted nodes: anti-affinity group g, pod j on busy[g + 10 j]
  // (distinct nodes); spread app k, pod j in zone j % 3, on that zone's busy nodes in turn.
  const special = new Map<number, PodShape[]>();
  /** Replica `j` of a shop app, a quarter of a CPU, placed by `spec`. */
  const replica = (app: string, j: number, spec: Partial<V1PodSpec>): PodShape => ({
    namespace: 'shop',
    name: `${app}-${j}`,
    app,
    cpu: '250m',
    memory: '256Mi',
    owner: 'ReplicaSet',
    spec,
  });
  const add = (i: number, s: PodShape) => {
    const l = special.get(i);
    if (l) l.push(s);
    else special.set(i, [s]);
  };
  for (let g = 0; g < ANTI_GROUPS; g++)
    for (let j = 0; j < ANTI_PER_GROUP; j++) {
      const app = `solo-${g}`;
      const i = busy[(g + ANTI_GROUPS * j) % busy.length] as number;
      add(i, replica(app, j, antiAffinity(app)));
    }
  const byZone = ZONES.map((_, z) => busy.filter((i) => Math.floor(i / pools) % ZONES.length === z));
  for (let k = 0; k < SPREAD_APPS; k++)
    for (let j = 0; j < SPREAD_PER_APP; j++) {
      const app = `zonal-${k}`;
      const zone = byZone[j % ZONES.length] as number[];
      const i = zone[(k * 97 + Math.floor(j / ZONES.length)) % zone.length] as number;
      add(i, replica(app, j, zoneSpread(app)));
    }
  const empties = Math.floor(nodes / 10);
  const onEmpty = 3;
  const perBusy = (nodes * podsPerNode - empties * onEmpty) / Math.max(1, nodes - empties);
  let seq = 0;
  let emptySeen = 0;
  let busySeen = 0;
  for (let i = 0; i < nodes; i++) {
    yield [
      i,
      {
        namespace: 'kube-system',
        name: `node-agent-${i}`,
        app: 'node-agent',
        cpu: '50m',
        memory: '64Mi',
        owner: 'DaemonSet',
      },
    ];
    if (nearlyEmpty(i)) {
      const unowned = emptySeen++ % 50 === 0;
      for (let j = 0; j < onEmpty - 1; j++) {
        const app = tainted(i) ? `batch-${seq % BATCH_APPS}` : `web-${seq % WEB_APPS}`;
        seq++;
        yield [
          i,
          {
            namespace: tainted(i) ? 'batch' : 'shop',
            name: `${app}-e${i}-${j}`,
            app,
            ...sizes[0],
            owner: unowned && j === 0 ? 'none' : 'ReplicaSet',
            ...(tainted(i) ? { spec: batchSpec } : {}),
          },
        ];
      }
      continue;
    }
    // This node's share of the rest, the specials counted in it.
    const target = Math.round((busySeen + 1) * perBusy) - Math.round(busySeen * perBusy) - 1;
    busySeen++;
    const extra = special.get(i) ?? [];
    for (const s of extra) yield [i, s];
    for (let j = extra.length; j < target; j++) {
      const app = tainted(i) ? `batch-${seq % BATCH_APPS}` : `web-${seq % WEB_APPS}`;
      seq++;
      yield [
        i,
        {
          namespace: tainted(i) ? 'batch' : 'shop',
          name: `${app}-${i}-${j}`,
          app,
          ...sizeOf(j),
          owner: 'ReplicaSet',
          ...(tainted(i) ? { spec: batchSpec } : {}),
        },
      ];
    }
  }
}

/** The PDBs: `web-0`..`web-4` allow no disruption, `web-5`..`web-19` three each. */
export function budgets(): V1PodDisruptionBudget[] {
  return Array.from({ length: 20 }, (_, k) => ({
    metadata: { namespace: 'shop', name: `web-${k}`, resourceVersion: '1' },
    spec: { selector: { matchLabels: { app: `web-${k}` } }, maxUnavailable: 1 },
    status: {
      disruptionsAllowed: k < 5 ? 0 : 3,
      currentHealthy: 100,
      desiredHealthy: 99,
      expectedPods: 100,
    },
  }));
}

/**
 * The pending pods, `count` of them (500 by default), mixed: 40 % plain of the three sizes,
 * 20 % batch (4 CPU, 8Gi, tolerating the tainted pool and selecting it), 20 % in a hostname
 * anti-affinity group, 10 % in a zone spread, 10 % selecting `disk=nvme` (2 CPU, 4Gi), a label
 * only the highmem pool's template has.
 */
export function pendingPods(count: number, pools: number): PodShape[] {
  const out: PodShape[] = [];
  for (let j = 0; j < count; j++) {
    const k = (j * 10) / count;
    const name = `pending-${j}`;
    if (k < 4) out.push({ namespace: 'shop', name, app: 'pending-web', ...sizeOf(j), owner: 'ReplicaSet' });
    else if (k < 6)
      out.push({
        namespace: 'batch',
        name,
        app: 'pending-batch',
        cpu: '4',
        memory: '8Gi',
        owner: 'ReplicaSet',
        ...(pools > 2 ? { spec: batchSpec } : {}),
      });
    else if (k < 8)
      out.push({
        namespace: 'shop',
        name,
        app: 'pending-solo',
        cpu: '500m',
        memory: '1Gi',
        owner: 'ReplicaSet',
        spec: antiAffinity('pending-solo'),
      });
    else if (k < 9)
      out.push({
        namespace: 'shop',
        name,
        app: 'pending-zonal',
        cpu: '500m',
        memory: '1Gi',
        owner: 'ReplicaSet',
        spec: zoneSpread('pending-zonal'),
      });
    else
      out.push({
        namespace: 'shop',
        name,
        app: 'pending-nvme',
        cpu: '2',
        memory: '4Gi',
        owner: 'ReplicaSet',
        spec: { nodeSelector: { disk: 'nvme' } },
      });
  }
  return out;
}

/** cpu (millicores) and memory (bytes) of a Kubernetes quantity of this module's shapes. */
export function requestsOf(s: Pick<PodShape, 'cpu' | 'memory'>): ResourceList {
  const cpu = s.cpu.endsWith('m') ? Number(s.cpu.slice(0, -1)) : Number(s.cpu) * 1000;
  const memory = s.memory.endsWith('Gi')
    ? Number(s.memory.slice(0, -2)) * GiB
    : Number(s.memory.slice(0, -2)) * MiB;
  return { cpu, memory };
}

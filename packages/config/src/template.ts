/**
 * A pool's node template: what a new node of the pool looks like to the scheduling
 * simulation, and the worker node-manager's kwok provider creates from the same config, so
 * that what the simulation assumes of a new node is true of the node that comes. Pure.
 */
import { KWOK_NODE_KEY, KWOK_NODE_VALUE, MANAGED_BY, POOL_LABEL, type WorkerSpec } from '@scalewise/kube';
import { HOSTNAME_LABEL, type NodeTemplate, type Taint, ZONE_LABEL } from '@scalewise/scheduling';
import type { PoolConfig } from './schema.ts';

const MiB = 2 ** 20;

const isDocker = (pool: PoolConfig): boolean => pool.provider === 'docker' || pool.provider === 'k3s-docker';

/** A docker pool's `provider_options.node_taints` entry (`key[=value]:Effect`) as a taint. */
function parseTaint(text: string): Taint {
  const colon = text.lastIndexOf(':');
  const effect = text.slice(colon + 1);
  const kv = text.slice(0, colon);
  const eq = kv.indexOf('=');
  return eq < 0 ? { key: kv, effect } : { key: kv.slice(0, eq), value: kv.slice(eq + 1), effect };
}

/**
 * The taints of a pool's new nodes: `node_taints`, then for a docker pool the taints its
 * `provider_options.node_taints` gives the k3s agent.
 */
export function poolTaints(pool: PoolConfig): Taint[] {
  const taints: Taint[] = pool.node_taints.map((t) => ({
    key: t.key,
    ...(t.value !== undefined ? { value: t.value } : {}),
    effect: t.effect,
  }));
  const options = pool.provider_options.node_taints;
  if (isDocker(pool) && Array.isArray(options))
    for (const t of options) if (typeof t === 'string') taints.push(parseTaint(t));
  return taints;
}

/**
 * The node template of a pool, for the scheduling simulation (its `maxNew` is the caller's,
 * from the ledger): labels, taints, allocatable, zones and priority.
 *
 * - labels: `node_labels`, the pool label, `kubernetes.io/os: linux` and
 *   `kubernetes.io/arch: amd64`, and for a kwok pool what {@link kwokNodeManifest} adds
 *   (`type: kwok`, the KWOK node label, `app.kubernetes.io/managed-by: scalewise`): every label
 *   a created node carries but its hostname and its zone (the simulation gives those).
 * - taints: `node_taints` (and a docker pool's `provider_options.node_taints`).
 * - allocatable: `node_size` as the scheduler counts it: cpu in millicores, memory and
 *   ephemeral-storage in bytes, pods, extended resources.
 *
 * A docker pool's real nodes report the allocatable of the machine their kubelet runs on;
 * `node_size` must describe it for the simulation to be true. A `pods` pool's workers are
 * pods, not nodes: its template means nothing to the simulation, which must not be given it.
 */
export function poolTemplate(pool: PoolConfig): Omit<NodeTemplate, 'maxNew'> {
  const size = pool.node_size;
  const labels: Record<string, string> = {
    ...pool.node_labels,
    [POOL_LABEL]: pool.name,
    ...(pool.provider === 'kwok'
      ? { [MANAGED_BY]: 'scalewise', type: 'kwok', [KWOK_NODE_KEY]: KWOK_NODE_VALUE }
      : {}),
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
  };
  // Each node has its own hostname; the zone of a pool with zones is the simulation's to give.
  delete labels[HOSTNAME_LABEL];
  if (pool.zones.length > 0) delete labels[ZONE_LABEL];
  return {
    pool: pool.name,
    labels,
    taints: poolTaints(pool),
    allocatable: {
      cpu: size.cpu_millicores,
      memory: size.memory_mib * MiB,
      pods: size.pods,
      ...(size.ephemeral_storage_mib !== undefined
        ? { 'ephemeral-storage': size.ephemeral_storage_mib * MiB }
        : {}),
      ...size.extended_resources,
    },
    zones: pool.zones,
    priority: pool.priority,
  };
}

/**
 * The zone of the next new node of a pool: the one of `zones` with the fewest of the pool's
 * nodes (`count` per zone), the first listed among equals; undefined when the pool has no
 * zones. The rule the simulation assumes (NodeTemplate.zones).
 */
export function nextZone(
  zones: readonly string[],
  count: Readonly<Record<string, number>>,
): string | undefined {
  let best: string | undefined;
  let fewest = Number.POSITIVE_INFINITY;
  for (const z of zones) {
    const n = count[z] ?? 0;
    if (n < fewest) {
      best = z;
      fewest = n;
    }
  }
  return best;
}

/**
 * The zones of new nodes of a pool created together, by {@link nextZone}, counting those
 * already given: `existing` is the zone of each of the pool's nodes (name -> zone; nodes being
 * deleted left out). A name already there (made by an earlier attempt) keeps its zone and is
 * not counted twice. A zone `asked` for a node (the scheduling simulation's, carried by the
 * ScaleUpDecision) is taken when it is one of the pool's. Empty when the pool has no zones.
 */
export function zonesOfNew(
  zones: readonly string[],
  existing: ReadonlyMap<string, string>,
  nodes: readonly string[],
  asked: Readonly<Record<string, string>> = {},
): Map<string, string> {
  const out = new Map<string, string>();
  if (zones.length === 0) return out;
  const count: Record<string, number> = {};
  for (const zone of existing.values()) count[zone] = (count[zone] ?? 0) + 1;
  for (const name of nodes) {
    let zone = existing.get(name);
    const wanted = asked[name];
    if (zone === undefined && wanted !== undefined && zones.includes(wanted)) {
      zone = wanted;
      count[zone] = (count[zone] ?? 0) + 1;
    }
    if (zone === undefined) {
      zone = nextZone(zones, count);
      if (zone === undefined) continue;
      count[zone] = (count[zone] ?? 0) + 1;
    }
    out.set(name, zone);
  }
  return out;
}

/**
 * The kwok provider's worker of a pool ({@link kwokNodeManifest}'s spec): named `name`, of the
 * pool's node_size, labels and taints, in `zone`.
 */
export function kwokWorkerSpec(
  pool: PoolConfig,
  name: string,
  options: { zone?: string | undefined; actionId?: string | undefined } = {},
): WorkerSpec {
  const size = pool.node_size;
  return {
    name,
    pool: pool.name,
    cpuMillicores: size.cpu_millicores,
    memoryBytes: size.memory_mib * MiB,
    pods: size.pods,
    ...(size.ephemeral_storage_mib !== undefined
      ? { ephemeralStorageBytes: size.ephemeral_storage_mib * MiB }
      : {}),
    ...(Object.keys(size.extended_resources).length > 0 ? { extended: size.extended_resources } : {}),
    ...(options.zone ? { zone: options.zone } : {}),
    labels: pool.node_labels,
    taints: poolTaints(pool),
    ...(options.actionId ? { actionId: options.actionId } : {}),
  };
}

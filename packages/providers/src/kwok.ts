/**
 * The `kwok` provider: workers are Node objects on the real API server that KWOK plays the
 * kubelet for (the default for local runs and tests). The node is its own instance.
 *
 * A worker is the pool's node template made real (packages/config template.ts): its
 * node_size (cpu, memory, pods, ephemeral storage, extended resources), node_labels,
 * node_taints and, for a pool with zones, the zone with the fewest of the pool's nodes.
 */
import { kwokWorkerSpec, type PoolConfig, zonesOfNew } from '@scalewise/config';
import { deleteNode, ensureNode, type Kube, kwokNodeManifest, POOL_LABEL, ZONE_LABEL } from '@scalewise/kube';
import type { Instance, Provider } from './provider.ts';

/** The zone of each of the pool's nodes not being deleted (name -> zone). */
async function zonesOfPool(kube: Kube, pool: PoolConfig): Promise<Map<string, string>> {
  const list = await kube.core.listNode({ labelSelector: `${POOL_LABEL}=${pool.name}` });
  const zones = new Map<string, string>();
  for (const n of list.items) {
    const zone = n.metadata?.labels?.[ZONE_LABEL];
    if (zone && n.metadata?.name && !n.metadata.deletionTimestamp) zones.set(n.metadata.name, zone);
  }
  return zones;
}

export function kwokProvider(kube: Kube): Provider {
  return {
    name: 'kwok',
    async create(pool, nodes, actionId, options = {}) {
      // A node made by an earlier attempt keeps its zone (creation is idempotent by name).
      const zones =
        pool.zones.length > 0
          ? zonesOfNew(pool.zones, await zonesOfPool(kube, pool), nodes, options.zones)
          : undefined;
      const out: { node: string; providerId: string }[] = [];
      for (const name of nodes) {
        const manifest = kwokNodeManifest(kwokWorkerSpec(pool, name, { zone: zones?.get(name), actionId }));
        await ensureNode(kube, manifest);
        out.push({ node: name, providerId: manifest.spec?.providerID ?? `kwok://${name}` });
      }
      return out;
    },
    async remove(_pool, node) {
      return { existed: (await deleteNode(kube, node)).deleted };
    },
    async list(pool: PoolConfig): Promise<Instance[]> {
      const nodes = await kube.core.listNode({ labelSelector: `${POOL_LABEL}=${pool.name}` });
      return nodes.items.map((n) => ({
        id: n.spec?.providerID ?? `kwok://${n.metadata?.name}`,
        node: n.metadata?.name ?? '',
        alive: n.metadata?.deletionTimestamp === undefined,
        createdAt: Date.parse(String(n.metadata?.creationTimestamp ?? 0)) || 0,
      }));
    },
  };
}

/**
 * The `kwok` provider: workers are Node objects on the real API server that KWOK plays the
 * kubelet for (the default for local runs and tests). The node is its own instance.
 */
import type { PoolConfig } from '@scalewise/config';
import { deleteNode, ensureNode, type Kube, kwokNodeManifest, POOL_LABEL } from '@scalewise/kube';
import type { Instance, Provider } from './provider.ts';

export function kwokProvider(kube: Kube): Provider {
  return {
    name: 'kwok',
    async create(pool, nodes, actionId) {
      const out: { node: string; providerId: string }[] = [];
      for (const name of nodes) {
        const manifest = kwokNodeManifest({
          name,
          pool: pool.name,
          cpuMillicores: pool.node_size.cpu_millicores,
          memoryBytes: pool.node_size.memory_mib * 2 ** 20,
          labels: pool.node_labels,
          actionId,
        });
        await ensureNode(kube, manifest);
        out.push({ node: name, providerId: manifest.spec?.providerID ?? `kwok://${name}` });
      }
      return out;
    },
    async remove(_pool, node) {
      await deleteNode(kube, node);
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

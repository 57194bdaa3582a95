/**
 * The pools' nodes, watched (packages/kube's cache: resumes, relists, retries): a node an
 * action waits for that turns Ready is applied to its action. By the pool label, not
 * managed-by: a kubelet may not register its node with app.kubernetes.io labels
 * (NodeRestriction), so the nodes of docker and external pools carry only the pool label.
 */
import { type Kube, nodeCache, POOL_LABEL } from '@scalewise/kube';
import type { Observations } from '../handlers/observations.ts';

export interface NodeWatch {
  /** Whether the node is Ready, as the watch last saw it. */
  isReady(node: string): boolean;
  start(): void;
  /** Resolves once the first list is in. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

export function createNodeWatch(deps: {
  kube: Kube;
  /** Node -> the running action that waits for it. */
  waiting: ReadonlyMap<string, string>;
  apply: Observations['apply'];
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}): NodeWatch {
  const nodes = nodeCache(deps.kube, { labelSelector: POOL_LABEL });
  nodes.onError((err) => deps.log.warn({ err }, 'node watch failed; it retries by itself'));
  nodes.on((e) => {
    if (e.type === 'delete') return;
    const n = e.object;
    const actionId = deps.waiting.get(n.name);
    if (actionId && n.conditions.Ready?.status === 'True')
      void deps
        .apply(actionId, { kind: 'ready', node: n.name }, `ready/${n.name}`)
        .catch((err) => deps.log.error({ err }, 'recording Ready failed'));
  });
  return {
    isReady: (node) => nodes.get(node)?.conditions.Ready?.status === 'True',
    start: () => nodes.start(),
    get synced() {
      return nodes.synced;
    },
    stop: () => nodes.stop(),
  };
}

/**
 * Drain: cordon a node, then evict its pods through the Eviction API (policy/v1), so that
 * PodDisruptionBudgets are respected: a 429 (the budget allows no disruption now) is retried
 * with backoff until the deadline, then the drain fails naming the pod and the budget.
 * DaemonSet pods, mirror (static) pods and finished pods are left alone, as `kubectl drain`
 * does. The drain ends when the evicted pods are gone from the node.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { ScalewiseError } from '@scalewise/errors';
import { isStatus, type Kube, kubeCall } from './client.ts';
import { cordon } from './nodes.ts';
import { isActiveOn } from './resources.ts';

export interface DrainOptions {
  /** @default 120000 */
  timeoutMs?: number;
  /** First wait after a refused eviction; doubles up to 5 s. @default 250 */
  retryMs?: number;
  /** Grace period given to each pod. @default the pod's own */
  gracePeriodSeconds?: number;
}

export interface DrainResult {
  evicted: string[];
  skipped: { pod: string; why: string }[];
}

const isMirror = (p: V1Pod) => p.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined;
const isDaemon = (p: V1Pod) => p.metadata?.ownerReferences?.some((r) => r.kind === 'DaemonSet') ?? false;
const id = (p: V1Pod) => `${p.metadata?.namespace}/${p.metadata?.name}`;

export async function podsOn(kube: Kube, node: string): Promise<V1Pod[]> {
  const list = await kubeCall(`listing pods on ${node}`, () =>
    kube.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` }),
  );
  return list.items.filter((p) => isActiveOn(p, node));
}

/** The budget that covers a pod, for the error message. */
async function budgetFor(kube: Kube, pod: V1Pod): Promise<string> {
  try {
    const ns = pod.metadata?.namespace ?? 'default';
    const pdbs = await kube.policy.listNamespacedPodDisruptionBudget({ namespace: ns });
    const labels = pod.metadata?.labels ?? {};
    const hit = pdbs.items.find((b) =>
      Object.entries(b.spec?.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
    );
    return hit
      ? `PodDisruptionBudget ${ns}/${hit.metadata?.name} (disruptions allowed: ${hit.status?.disruptionsAllowed ?? '?'})`
      : 'a PodDisruptionBudget';
  } catch {
    return 'a PodDisruptionBudget';
  }
}

export async function drain(kube: Kube, node: string, options: DrainOptions = {}): Promise<DrainResult> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  await cordon(kube, node);
  const pods = await podsOn(kube, node);
  const result: DrainResult = { evicted: [], skipped: [] };
  const toEvict: V1Pod[] = [];
  for (const p of pods) {
    if (isMirror(p)) result.skipped.push({ pod: id(p), why: 'mirror pod' });
    else if (isDaemon(p)) result.skipped.push({ pod: id(p), why: 'DaemonSet pod' });
    else toEvict.push(p);
  }
  for (const p of toEvict) {
    let wait = options.retryMs ?? 250;
    for (;;) {
      try {
        await kube.core.createNamespacedPodEviction({
          name: p.metadata?.name ?? '',
          namespace: p.metadata?.namespace ?? 'default',
          body: {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? 'default' },
            ...(options.gracePeriodSeconds !== undefined
              ? { deleteOptions: { gracePeriodSeconds: options.gracePeriodSeconds } }
              : {}),
          },
        });
        result.evicted.push(id(p));
        break;
      } catch (err) {
        if (isStatus(err, 404)) break; // already gone
        if (isStatus(err, 429)) {
          if (Date.now() + wait > deadline) {
            throw new ScalewiseError(
              'CONFLICT',
              `draining ${node}: ${await budgetFor(kube, p)} kept refusing the eviction of ${id(p)}`,
              { retriable: true, details: { node, pod: id(p), reason: 'PDB_BLOCKED' } },
            );
          }
          await new Promise((r) => setTimeout(r, wait));
          wait = Math.min(wait * 2, 5000);
          continue;
        }
        throw await kubeCall(`evicting ${id(p)} from ${node}`, () => Promise.reject(err)).catch((e) => e);
      }
    }
  }
  // Done when the evicted pods have left the node (deleted, or finished).
  const evicted = new Set(result.evicted);
  for (;;) {
    const left = (await podsOn(kube, node)).filter((p) => evicted.has(id(p)));
    if (left.length === 0) return result;
    if (Date.now() > deadline) {
      throw new ScalewiseError(
        'TIMEOUT',
        `draining ${node}: ${left.map(id).join(', ')} still on it at the deadline`,
        {
          details: { node },
        },
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

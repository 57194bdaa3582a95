/**
 * Drain: cordon a node, then evict its pods through the Eviction API (policy/v1), so that
 * PodDisruptionBudgets are respected: a 429 (the budget allows no disruption now) is retried
 * with backoff until the deadline, then the drain fails naming the pod and the budget.
 * DaemonSet pods, mirror (static) pods and finished pods are left alone, as `kubectl drain`
 * does. Pods are evicted side by side (one blocked pod does not hold the others back). The
 * drain ends when the evicted pods are gone from the node.
 */
import { ScalewiseError } from '@scalewise/errors';
import { isStatus, type Kube, kubeCall, toKubeError } from './client.ts';
import { cordon } from './nodes.ts';
import { isActiveOn } from './resources.ts';
import type { V1Pod } from './types.ts';

export interface DrainOptions {
  /** The whole drain, evictions and waiting for the pods to go. @default 120000 */
  timeoutMs?: number;
  /** First wait after a refused eviction; doubles up to `maxRetryMs`. @default 250 */
  retryMs?: number;
  /** @default 5000 */
  maxRetryMs?: number;
  /** Grace period given to each pod. @default the pod's own */
  gracePeriodSeconds?: number;
}

export interface DrainResult {
  /** `namespace/name` of each pod evicted. */
  evicted: string[];
  /** Pods left on the node on purpose, with why. */
  skipped: { pod: string; why: string }[];
}

const isMirror = (p: V1Pod) => p.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined;
const isDaemon = (p: V1Pod) => p.metadata?.ownerReferences?.some((r) => r.kind === 'DaemonSet') ?? false;
const id = (p: V1Pod) => `${p.metadata?.namespace}/${p.metadata?.name}`;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pods holding a node: bound to it and not finished. */
export async function podsOn(kube: Kube, node: string): Promise<V1Pod[]> {
  const list = await kubeCall(`listing pods on ${node}`, () =>
    kube.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` }),
  );
  return list.items.filter((p) => isActiveOn(p, node));
}

/**
 * The budget named in a refused eviction: the API server's 429 Status carries a cause
 * `{reason: "DisruptionBudget", message: "The disruption budget web-pdb needs 2 healthy pods
 * and has 2 currently"}`. Pure; undefined when the body says nothing of a budget.
 */
export function budgetInRefusal(body: unknown): { name: string; message: string } | undefined {
  let status = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const causes = (status as { details?: { causes?: { reason?: string; message?: string }[] } } | null)
    ?.details?.causes;
  const cause = causes?.find((c) => c.reason === 'DisruptionBudget');
  const m = cause?.message ? /disruption budget (\S+)/.exec(cause.message) : null;
  return m?.[1] ? { name: m[1], message: cause?.message ?? '' } : undefined;
}

/** The budget that covers a pod, by its selector's matchLabels, when the refusal did not name it. */
async function budgetCovering(kube: Kube, pod: V1Pod): Promise<string | undefined> {
  try {
    const ns = pod.metadata?.namespace ?? 'default';
    const pdbs = await kube.policy.listNamespacedPodDisruptionBudget({ namespace: ns });
    const labels = pod.metadata?.labels ?? {};
    return pdbs.items.find((b) =>
      Object.entries(b.spec?.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
    )?.metadata?.name;
  } catch {
    return undefined;
  }
}

async function evict(
  kube: Kube,
  node: string,
  p: V1Pod,
  deadline: number,
  options: DrainOptions,
): Promise<boolean> {
  const name = p.metadata?.name ?? '';
  const namespace = p.metadata?.namespace ?? 'default';
  let wait = options.retryMs ?? 250;
  for (;;) {
    try {
      await kube.core.createNamespacedPodEviction({
        name,
        namespace,
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name, namespace },
          // Evict this pod, not a namesake created after we listed it.
          deleteOptions: {
            preconditions: { uid: p.metadata?.uid },
            ...(options.gracePeriodSeconds !== undefined
              ? { gracePeriodSeconds: options.gracePeriodSeconds }
              : {}),
          },
        },
      });
      return true;
    } catch (err) {
      if (isStatus(err, 404)) return false; // already gone
      if (isStatus(err, 409)) return false; // a namesake: ours is gone
      if (!isStatus(err, 429)) throw toKubeError(`evicting ${id(p)} from ${node}`, err);
      if (Date.now() >= deadline) {
        const named = budgetInRefusal((err as { body?: unknown }).body);
        const budget = named?.name ?? (await budgetCovering(kube, p));
        throw new ScalewiseError(
          'CONFLICT',
          `draining ${node}: ${
            budget ? `PodDisruptionBudget ${namespace}/${budget}` : 'a PodDisruptionBudget'
          } kept refusing the eviction of ${id(p)}${named ? ` (${named.message})` : ''}`,
          {
            cause: err,
            retriable: true,
            details: {
              node,
              pod: id(p),
              pdb: budget ? `${namespace}/${budget}` : null,
              reason: 'PDB_BLOCKED',
            },
          },
        );
      }
      // The last try is at the deadline itself.
      await pause(Math.max(0, Math.min(wait, deadline - Date.now())));
      wait = Math.min(wait * 2, options.maxRetryMs ?? 5000);
    }
  }
}

/**
 * Cordons `node` and evicts its pods, then waits until the evicted pods have left it.
 * @throws ScalewiseError CONFLICT (retriable, `details.reason` PDB_BLOCKED, `details.pdb`)
 *   when a PodDisruptionBudget still refuses an eviction at the deadline; TIMEOUT when evicted
 *   pods are still on the node at the deadline; KUBERNETES_API / DEPENDENCY_UNAVAILABLE for
 *   other API failures. The node stays cordoned in every case.
 */
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
  const outcomes = await Promise.allSettled(toEvict.map((p) => evict(kube, node, p, deadline, options)));
  const uids = new Set<string>();
  outcomes.forEach((o, i) => {
    const p = toEvict[i] as V1Pod;
    if (o.status === 'fulfilled') {
      result.evicted.push(id(p));
      if (o.value) uids.add(p.metadata?.uid ?? '');
    }
  });
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
  // Done when the evicted pods have left the node (deleted, or finished).
  for (;;) {
    const left = (await podsOn(kube, node)).filter((p) => uids.has(p.metadata?.uid ?? ''));
    if (left.length === 0) return result;
    if (Date.now() > deadline) {
      throw new ScalewiseError(
        'TIMEOUT',
        `draining ${node}: ${left.map(id).join(', ')} still on it at the deadline`,
        { details: { node, pods: left.map(id) } },
      );
    }
    await pause(250);
  }
}

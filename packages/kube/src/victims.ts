/**
 * Which nodes a scale-down removes, pure: the least requested utilisation first, the newest
 * first among equals (as the Cluster Autoscaler prefers), never a node annotated
 * `scalewise.io/scale-down-disabled: "true"`, never one running a pod that may not be moved
 * (annotated `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`, with local storage, or
 * without a controller that would recreate it). Each refusal says why.
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { SCALE_DOWN_DISABLED } from './nodes.ts';
import { isActiveOn, nodeAllocatable, podRequests } from './resources.ts';

export interface VictimChoice {
  victims: string[];
  refused: { node: string; why: string }[];
}

function blocker(p: V1Pod): string | undefined {
  const a = p.metadata?.annotations ?? {};
  const name = `${p.metadata?.namespace}/${p.metadata?.name}`;
  if (a['kubernetes.io/config.mirror'] !== undefined) return undefined;
  const owners = p.metadata?.ownerReferences ?? [];
  if (owners.some((r) => r.kind === 'DaemonSet')) return undefined;
  if (a['cluster-autoscaler.kubernetes.io/safe-to-evict'] === 'false')
    return `pod ${name} is annotated safe-to-evict: "false"`;
  if (a['cluster-autoscaler.kubernetes.io/safe-to-evict'] === 'true') return undefined;
  if (p.spec?.volumes?.some((v) => v.emptyDir || v.hostPath)) return `pod ${name} has local storage`;
  if (owners.length === 0) return `pod ${name} has no controller to recreate it`;
  return undefined;
}

export function chooseVictims(nodes: readonly V1Node[], pods: readonly V1Pod[], count: number): VictimChoice {
  const refused: VictimChoice['refused'] = [];
  const candidates: { name: string; util: number; created: number }[] = [];
  for (const n of nodes) {
    const name = n.metadata?.name ?? '';
    if (n.metadata?.annotations?.[SCALE_DOWN_DISABLED] === 'true') {
      refused.push({ node: name, why: `annotated ${SCALE_DOWN_DISABLED}` });
      continue;
    }
    const on = pods.filter((p) => isActiveOn(p, name));
    const why = on.map(blocker).find((b) => b !== undefined);
    if (why) {
      refused.push({ node: name, why });
      continue;
    }
    const alloc = nodeAllocatable(n);
    let cpu = 0;
    let mem = 0;
    for (const p of on) {
      const r = podRequests(p);
      cpu += r.cpuMillicores;
      mem += r.memoryBytes;
    }
    const util = Math.max(
      alloc.cpuMillicores > 0 ? cpu / alloc.cpuMillicores : 0,
      alloc.memoryBytes > 0 ? mem / alloc.memoryBytes : 0,
    );
    const created = Date.parse(String(n.metadata?.creationTimestamp ?? 0)) || 0;
    candidates.push({ name, util, created });
  }
  candidates.sort((a, b) => a.util - b.util || b.created - a.created || a.name.localeCompare(b.name));
  return { victims: candidates.slice(0, Math.max(0, count)).map((c) => c.name), refused };
}

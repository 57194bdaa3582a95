/**
 * metrics.k8s.io, pure: a NodeMetricsList (what `GET /apis/metrics.k8s.io/v1beta1/nodes`
 * answers) to each node's CPU and memory in use. Quantities are parsed as the apiserver
 * writes them ("1234567n", "250m", "3", "2Gi", "1536Ki"); CPU is rounded up to millicores as
 * the scheduler rounds requests, so usage and requests compare in the same unit.
 */
import { cpuMillicores, memoryBytes } from '@scalewise/kube';

export interface NodeUsage {
  cpuMillicores: number;
  memoryBytes: number;
  /** The end of the window the metrics server averaged over (epoch ms), when it said. */
  at?: number;
}

export interface ParsedNodeMetrics {
  usage: Map<string, NodeUsage>;
  /** Items that could not be read, with why (they count as "no usage" for their node). */
  skipped: { name: string; reason: string }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * Each node's usage from a NodeMetricsList body. Never throws for a bad item: an item without
 * a name or with an unreadable quantity is skipped with the reason, so one odd node does not
 * hide the others.
 * @throws TypeError when the body is not a list at all (no `items` array): the caller treats
 *   the API as failing for this round.
 */
export function parseNodeMetricsList(body: unknown): ParsedNodeMetrics {
  if (!isObject(body) || !Array.isArray(body.items)) {
    throw new TypeError('not a NodeMetricsList: no items array');
  }
  const usage = new Map<string, NodeUsage>();
  const skipped: ParsedNodeMetrics['skipped'] = [];
  for (const item of body.items as unknown[]) {
    const name = isObject(item) && isObject(item.metadata) ? item.metadata.name : undefined;
    if (typeof name !== 'string' || name === '') {
      skipped.push({ name: '', reason: 'item without metadata.name' });
      continue;
    }
    const u = isObject(item) && isObject(item.usage) ? item.usage : undefined;
    if (!u || u.cpu === undefined || u.memory === undefined) {
      skipped.push({ name, reason: 'usage.cpu or usage.memory missing' });
      continue;
    }
    try {
      const cpu = cpuMillicores(u.cpu as string);
      const mem = memoryBytes(u.memory as string);
      if (cpu < 0 || mem < 0) throw new RangeError('negative usage');
      const at =
        typeof (item as { timestamp?: unknown }).timestamp === 'string'
          ? Date.parse((item as { timestamp: string }).timestamp)
          : Number.NaN;
      usage.set(name, { cpuMillicores: cpu, memoryBytes: mem, ...(Number.isFinite(at) ? { at } : {}) });
    } catch (err) {
      skipped.push({ name, reason: (err as Error).message });
    }
  }
  return { usage, skipped };
}

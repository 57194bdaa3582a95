/** Resource quantities as a person reads them: cpu in millicores, memory in binary units. */

const KI = 1024;
const UNITS: readonly [string, number][] = [
  ['Ti', KI ** 4],
  ['Gi', KI ** 3],
  ['Mi', KI ** 2],
  ['Ki', KI],
];

function bytes(n: number): string {
  for (const [unit, size] of UNITS) {
    if (Math.abs(n) >= size) {
      const v = n / size;
      return `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`;
    }
  }
  return `${n}`;
}

/** `cpu` 2500 -> "2500m"; `memory` 2147483648 -> "2Gi"; counts as they are. */
export function formatQuantity(resource: string, n: number): string {
  if (resource === 'cpu') return `${Math.round(n)}m`;
  if (resource === 'memory' || resource === 'ephemeral-storage' || resource.startsWith('hugepages-')) {
    return bytes(n);
  }
  return `${n}`;
}

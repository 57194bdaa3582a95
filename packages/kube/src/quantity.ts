/**
 * Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity) as numbers: CPU in
 * millicores, memory in bytes. Pure.
 */

const suffixes: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// <signedNumber><suffix>, the suffix a binary SI, a decimal SI or a decimal exponent ("e3", "E-2").
const quantity = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

/**
 * The value of a quantity in base units ("500m" -> 0.5, "1Gi" -> 1073741824, "1e3" -> 1000).
 * An absent or empty quantity is 0; a number is taken as it is.
 * @throws RangeError naming the text when it is not a quantity.
 */
export function parseQuantity(text: string | number | undefined | null): number {
  if (text === undefined || text === null || text === '') return 0;
  if (typeof text === 'number') {
    if (!Number.isFinite(text)) throw new RangeError(`'${text}' is not a Kubernetes quantity`);
    return text;
  }
  const m = quantity.exec(text.trim());
  if (!m) throw new RangeError(`'${text}' is not a Kubernetes quantity`);
  const base = Number(m[1]);
  const factor = m[2] ? 10 ** Number(m[2].slice(1)) : (suffixes[m[3] ?? ''] ?? 1);
  return base * factor;
}

/**
 * Rounds up as Quantity.MilliValue()/Value() do, ignoring the last bits of floating point
 * noise ("0.3" * 1000 is 300.00000000000006, which is 300).
 */
const ceil = (x: number): number => {
  const near = Math.round(x);
  return (Math.abs(x - near) <= Math.abs(x) * 1e-12 ? near : Math.ceil(x)) + 0;
};

/** CPU in millicores, rounded up as the scheduler does ("100m" -> 100, "0.5" -> 500, "2" -> 2000). */
export const cpuMillicores = (q: string | number | undefined | null): number => ceil(parseQuantity(q) * 1000);

/** Memory (or any count) in base units, rounded up ("512Mi" -> 536870912, "1.5G" -> 1500000000). */
export const memoryBytes = (q: string | number | undefined | null): number => ceil(parseQuantity(q));

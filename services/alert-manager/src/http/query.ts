/** Reading the query strings and bodies of alert-manager's routes. */
import { ScalewiseError } from '@scalewise/errors';

/** A list given as repeated parameters, comma-separated, or both; undefined when empty. */
export function list(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const xs = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).filter(Boolean);
  return xs.length > 0 ? xs : undefined;
}

/** An instant given as epoch ms or ISO 8601. */
export function instant(name: string, v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const s = String(v);
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(t)) {
    throw new ScalewiseError(
      'BAD_REQUEST',
      `${name}: '${s}' is neither epoch milliseconds nor an ISO 8601 time`,
      {
        details: { field: name },
      },
    );
  }
  return t;
}

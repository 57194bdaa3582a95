/**
 * Seed 004's Redis Streams trigger format, read into a trigger CloudEvent's parts. Pure.
 *
 *   XADD otto:scale:events * type scale_up pod_count 3 task_id task-123
 *
 * Fields: `type` scale_up | scale_down | set (required); `pod_count` (or `count`), a positive
 * integer, for scale_up/scale_down; `target` for set; optional `pool` (else the configured
 * default pool), `task_id`, `reason`. Unknown fields are ignored, as Ottoscaler ignores them.
 * The event id is derived from the entry id, so a re-read entry yields the same event.
 */
import { type EventData, parseData } from '@scalewise/events';

export interface BridgeDefaults {
  stream: string;
  /** The pool of entries that name none. */
  pool?: string;
}

export type Bridged =
  | { ok: true; id: string; source: string; data: EventData<'io.scalewise.trigger.scale'> }
  | { ok: false; id: string; reason: string };

/** XREADGROUP returns an entry's fields as a flat [name, value, name, value, ...] list. */
export function fieldsOf(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i] as string;
    if (!Object.hasOwn(out, k)) out[k] = flat[i + 1] as string;
  }
  return out;
}

const positiveInt = /^[1-9]\d{0,8}$/;
const nonNegativeInt = /^(0|[1-9]\d{0,8})$/;

export function bridgeEntry(
  entryId: string,
  fields: Record<string, string>,
  defaults: BridgeDefaults,
): Bridged {
  const id = `redis:${defaults.stream}:${entryId}`;
  const fail = (reason: string): Bridged => ({ ok: false, id, reason: `entry ${entryId}: ${reason}` });
  const type = fields.type;
  if (type === undefined) return fail("no 'type' field (expected scale_up, scale_down or set)");
  if (type !== 'scale_up' && type !== 'scale_down' && type !== 'set') {
    return fail(`type '${type}' is not scale_up, scale_down or set`);
  }
  const pool = fields.pool ?? defaults.pool;
  if (pool === undefined) return fail("no 'pool' field and no trigger_bridge.default_pool configured");
  const data: Record<string, unknown> = { pool, action: type };
  if (type === 'set') {
    const t = fields.target;
    if (t === undefined || !nonNegativeInt.test(t))
      return fail(`'target' must be an integer >= 0, got '${t ?? ''}'`);
    data.target = Number(t);
  } else {
    const c = fields.pod_count ?? fields.count;
    if (c === undefined || !positiveInt.test(c))
      return fail(`'pod_count' must be an integer >= 1, got '${c ?? ''}'`);
    data.count = Number(c);
  }
  if (fields.task_id !== undefined) data.task_id = fields.task_id;
  data.reason = fields.reason ?? `redis stream ${defaults.stream} entry ${entryId}`;
  try {
    return {
      ok: true,
      id,
      source: `/redis/${defaults.stream}`,
      data: parseData('io.scalewise.trigger.scale', data),
    };
  } catch (err) {
    return fail((err as Error).message);
  }
}

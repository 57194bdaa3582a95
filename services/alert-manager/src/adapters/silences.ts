/**
 * Silences in Redis, one hash per cluster (`scalewise:<cluster id>:alert-manager:silences`,
 * field = silence id, value = the silence as JSON), so every replica creates, lists, deletes
 * and routes against the same set. A silence past its `endsAt` counts as gone everywhere: it
 * is never listed nor applied, and the read that finds it deletes it.
 */
import type { Redis } from 'ioredis';
import type { Silence } from '../core/index.ts';

export interface SilenceStore {
  /** Stores a silence (already validated). */
  add(silence: Silence): Promise<void>;
  /** @returns false when no silence in force has that id. */
  remove(id: string): Promise<boolean>;
  /** The silences in force at `now()`, ending soonest first. */
  list(): Promise<Silence[]>;
}

export function createRedisSilences(redis: Redis, options: { key: string; now: () => number }): SilenceStore {
  const { key, now } = options;
  const inForce = async (): Promise<Map<string, Silence>> => {
    const all = await redis.hgetall(key);
    const t = now();
    const live = new Map<string, Silence>();
    const ended: string[] = [];
    for (const [id, json] of Object.entries(all)) {
      let s: Silence | undefined;
      try {
        s = JSON.parse(json) as Silence;
      } catch {
        // Written by nothing but add(): a field that is not JSON is not a silence.
      }
      if (s && typeof s.endsAt === 'number' && t < s.endsAt) live.set(id, s);
      else ended.push(id);
    }
    if (ended.length > 0) await redis.hdel(key, ...ended);
    return live;
  };
  return {
    async add(silence) {
      await redis.hset(key, silence.id, JSON.stringify(silence));
    },
    async remove(id) {
      if (!(await inForce()).has(id)) return false;
      return (await redis.hdel(key, id)) === 1;
    },
    async list() {
      return [...(await inForce()).values()].sort((a, b) => a.endsAt - b.endsAt || a.id.localeCompare(b.id));
    },
  };
}

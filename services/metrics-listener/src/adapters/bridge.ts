/**
 * Seed 004's Redis Streams trigger bridge: a consumer group on the configured stream turns
 * each entry into an io.scalewise.trigger.scale on the triggers topic. At least once, nothing
 * lost: an entry is acknowledged (XACK) only after Kafka acknowledged its event, or after a
 * malformed entry was stored in the dead-letter store (and DeadLetterRecorded published).
 * Entries read but not acknowledged (a crash, Kafka down) are read again from the group's
 * pending list; those of a consumer gone for a minute are claimed (XAUTOCLAIM), so two
 * replicas share the stream and pick up after each other. The event id comes from the entry
 * id, so an entry bridged twice is one event to its consumers.
 *
 * A dead letter of an entry is recorded with `topic` `redis:<stream>`, partition 0, `offset`
 * the entry id's millisecond part, the whole entry id as the record key and the fields as its
 * JSON value.
 */
import { hostname } from 'node:os';
import type { DeadLetterStore, Publisher } from '@scalewise/bus';
import { createEvent } from '@scalewise/events';
import type { Redis } from 'ioredis';
import { bridgeEntry, fieldsOf } from '../core/index.ts';

export interface BridgeDeps {
  /** A connection of its own: XREADGROUP BLOCK holds it while it waits. */
  redis: Redis;
  publisher: Publisher;
  dlq: DeadLetterStore;
  stream: string;
  group: string;
  defaultPool?: string;
  blockMs: number;
  service: string;
  clusterid: string;
  logger: {
    info(o: object, m?: string): void;
    warn(o: object, m?: string): void;
    error(o: object, m?: string): void;
  };
  /** Entries idle this long in another consumer's pending list are claimed. @default 60000 */
  claimIdleMs?: number;
}

export interface TriggerBridge {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly stats: { bridged: number; deadLettered: number; failures: number };
}

type Entry = [id: string, fields: string[]];

export function createTriggerBridge(deps: BridgeDeps): TriggerBridge {
  const { redis, stream, group } = deps;
  const consumer = `${deps.service}-${hostname()}-${process.pid}`;
  const stats = { bridged: 0, deadLettered: 0, failures: 0 };
  let running = false;
  let loop: Promise<void> | undefined;

  async function handle([entryId, flat]: Entry): Promise<void> {
    const r = bridgeEntry(entryId, fieldsOf(flat), {
      stream,
      ...(deps.defaultPool ? { pool: deps.defaultPool } : {}),
    });
    if (r.ok) {
      await deps.publisher.publish(
        createEvent('io.scalewise.trigger.scale', r.data, {
          id: r.id,
          source: r.source,
          clusterid: deps.clusterid,
        }),
      );
      stats.bridged++;
    } else {
      const at = new Date().toISOString();
      const offset = entryId.split('-')[0] ?? '0';
      const key = await deps.dlq.put({
        version: 1,
        service: deps.service,
        consumer_group: group,
        topic: `redis:${stream}`,
        partition: 0,
        offset,
        record: {
          key: entryId,
          value_base64: Buffer.from(JSON.stringify(fieldsOf(flat))).toString('base64'),
          headers: {},
          timestamp: offset,
        },
        event_id: r.id,
        event_type: 'io.scalewise.trigger.scale',
        error: { code: 'SCHEMA_VIOLATION', message: r.reason, stack: null, retriable: false },
        attempts: 1,
        first_failure_at: at,
        last_failure_at: at,
      });
      await deps.publisher.publish(
        createEvent(
          'io.scalewise.DeadLetterRecorded',
          {
            bucket: deps.dlq.bucket,
            key,
            topic: `redis:${stream}`,
            partition: 0,
            offset,
            consumer_group: group,
            service: deps.service,
            event_id: r.id,
            event_type: 'io.scalewise.trigger.scale',
            error_code: 'SCHEMA_VIOLATION',
            reason: r.reason,
            attempts: 1,
          },
          {
            id: `dlq:${group}:redis:${stream}:${entryId}`,
            source: `/scalewise/${deps.service}`,
            clusterid: deps.clusterid,
            partitionkey: deps.defaultPool ?? stream,
          },
        ),
      );
      stats.deadLettered++;
      deps.logger.warn({ stream, entry: entryId, reason: r.reason, key }, 'stream entry dead-lettered');
    }
    await redis.xack(stream, group, entryId);
  }

  async function read(id: string, block: boolean): Promise<Entry[]> {
    const args: (string | number)[] = ['GROUP', group, consumer, 'COUNT', 100];
    if (block) args.push('BLOCK', deps.blockMs);
    const res = (await (redis.xreadgroup as (...a: (string | number)[]) => Promise<unknown>)(
      ...args,
      'STREAMS',
      stream,
      id,
    )) as [string, Entry[]][] | null;
    return res?.[0]?.[1] ?? [];
  }

  async function run(): Promise<void> {
    let backoff = 100;
    while (running) {
      try {
        // Ours first: entries read before and not acknowledged (a failure, a restart).
        let entries = await read('0', false);
        if (entries.length === 0) {
          const claimed = (await redis.xautoclaim(
            stream,
            group,
            consumer,
            deps.claimIdleMs ?? 60_000,
            '0-0',
            'COUNT',
            100,
          )) as [string, Entry[]];
          entries = (claimed[1] ?? []).filter((e): e is Entry => Array.isArray(e) && e[1] !== null);
        }
        if (entries.length === 0) entries = await read('>', true);
        for (const e of entries) {
          if (!running) break;
          await handle(e);
        }
        backoff = 100;
      } catch (err) {
        if (!running) break;
        stats.failures++;
        deps.logger.error(
          { err, stream, retry_in_ms: backoff },
          'trigger bridge: entries stay pending, retrying',
        );
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  return {
    stats,
    async start() {
      try {
        // `$`: a new group starts at the end; old entries are not replayed as fresh triggers.
        await redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      }
      running = true;
      loop = run();
      deps.logger.info({ stream, group, consumer }, 'trigger bridge started');
    },
    async stop() {
      running = false;
      // The blocked XREADGROUP returns within blockMs; the entry in hand finishes first.
      await loop;
    },
  };
}

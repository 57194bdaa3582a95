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
import type { DeadLetter, DeadLetterStore, Publisher } from '@scalewise/bus';
import { createEvent } from '@scalewise/events';
import type { Redis } from 'ioredis';
import { type Bridged, bridgeEntry, fieldsOf } from '../core/index.ts';

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

type Rejected = Extract<Bridged, { ok: false }>;

/** A dead letter's offset: the entry id's millisecond part. */
const offsetOf = (entryId: string): string => entryId.split('-')[0] ?? '0';

/** The dead letter of a malformed entry: the entry id as the record key, its fields as the value. */
function deadLetterOf(deps: BridgeDeps, [entryId, flat]: Entry, r: Rejected): DeadLetter {
  const at = new Date().toISOString();
  const offset = offsetOf(entryId);
  return {
    version: 1,
    service: deps.service,
    consumer_group: deps.group,
    topic: `redis:${deps.stream}`,
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
  };
}

/** DeadLetterRecorded for the dead letter of `entryId` stored at `key`; its id is the entry's. */
function deadLetterEvent(deps: BridgeDeps, entryId: string, r: Rejected, key: string) {
  const { stream, group } = deps;
  return createEvent(
    'io.scalewise.DeadLetterRecorded',
    {
      bucket: deps.dlq.bucket,
      key,
      topic: `redis:${stream}`,
      partition: 0,
      offset: offsetOf(entryId),
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
  );
}

class RedisTriggerBridge implements TriggerBridge {
  readonly stats = { bridged: 0, deadLettered: 0, failures: 0 };
  private readonly deps: BridgeDeps;
  private readonly redis: Redis;
  private readonly stream: string;
  private readonly group: string;
  /** This replica's name in the group: two replicas share the stream. */
  private readonly consumer: string;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(deps: BridgeDeps) {
    this.deps = deps;
    this.redis = deps.redis;
    this.stream = deps.stream;
    this.group = deps.group;
    this.consumer = `${deps.service}-${hostname()}-${process.pid}`;
  }

  async start(): Promise<void> {
    try {
      // `$`: a new group starts at the end; old entries are not replayed as fresh triggers.
      await this.redis.xgroup('CREATE', this.stream, this.group, '$', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.running = true;
    this.loop = this.run();
    this.deps.logger.info(
      { stream: this.stream, group: this.group, consumer: this.consumer },
      'trigger bridge started',
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    // The blocked XREADGROUP returns within blockMs; the entry in hand finishes first.
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      try {
        for (const e of await this.nextEntries()) {
          if (!this.running) break;
          await this.handle(e);
        }
        backoff = 100;
      } catch (err) {
        if (!this.running) break;
        this.stats.failures++;
        this.deps.logger.error(
          { err, stream: this.stream, retry_in_ms: backoff },
          'trigger bridge: entries stay pending, retrying',
        );
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /** The entries to bridge next: ours still pending, else another consumer's idle ones, else new ones. */
  private async nextEntries(): Promise<Entry[]> {
    // Ours first: entries read before and not acknowledged (a failure, a restart).
    let entries = await this.read('0', false);
    if (entries.length === 0) entries = await this.claim();
    if (entries.length === 0) entries = await this.read('>', true);
    return entries;
  }

  private async read(id: string, block: boolean): Promise<Entry[]> {
    const args: (string | number)[] = ['GROUP', this.group, this.consumer, 'COUNT', 100];
    if (block) args.push('BLOCK', this.deps.blockMs);
    const res = (await (this.redis.xreadgroup as (...a: (string | number)[]) => Promise<unknown>)(
      ...args,
      'STREAMS',
      this.stream,
      id,
    )) as [string, Entry[]][] | null;
    return res?.[0]?.[1] ?? [];
  }

  /** Entries idle in another consumer's pending list for `claimIdleMs` (one gone), now ours. */
  private async claim(): Promise<Entry[]> {
    const claimed = (await this.redis.xautoclaim(
      this.stream,
      this.group,
      this.consumer,
      this.deps.claimIdleMs ?? 60_000,
      '0-0',
      'COUNT',
      100,
    )) as [string, Entry[]];
    return (claimed[1] ?? []).filter((e): e is Entry => Array.isArray(e) && e[1] !== null);
  }

  /** One entry bridged, or dead-lettered when malformed; acknowledged only after either. */
  private async handle(entry: Entry): Promise<void> {
    const [entryId, flat] = entry;
    const r = bridgeEntry(entryId, fieldsOf(flat), {
      stream: this.stream,
      ...(this.deps.defaultPool ? { pool: this.deps.defaultPool } : {}),
    });
    if (r.ok) {
      await this.deps.publisher.publish(
        createEvent('io.scalewise.trigger.scale', r.data, {
          id: r.id,
          source: r.source,
          clusterid: this.deps.clusterid,
        }),
      );
      this.stats.bridged++;
    } else {
      await this.deadLetter(entry, r);
    }
    await this.redis.xack(this.stream, this.group, entryId);
  }

  private async deadLetter(entry: Entry, r: Rejected): Promise<void> {
    const key = await this.deps.dlq.put(deadLetterOf(this.deps, entry, r));
    await this.deps.publisher.publish(deadLetterEvent(this.deps, entry[0], r, key));
    this.stats.deadLettered++;
    this.deps.logger.warn(
      { stream: this.stream, entry: entry[0], reason: r.reason, key },
      'stream entry dead-lettered',
    );
  }
}

export function createTriggerBridge(deps: BridgeDeps): TriggerBridge {
  return new RedisTriggerBridge(deps);
}

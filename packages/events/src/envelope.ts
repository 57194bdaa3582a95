import { randomUUID } from 'node:crypto';
import { ScalewiseError } from '@scalewise/errors';
import type { z } from 'zod';
import {
  catalogue,
  EVENT_TYPE_PREFIX,
  type EventData,
  type EventType,
  isEventType,
  type Severity,
  topicOf,
} from './catalogue.ts';

/** The CloudEvents types an external system sends on the triggers topic (docs/triggers.md). */
export type TriggerEventType = Extract<EventType, `io.scalewise.trigger.${string}`>;

/** The prefix of a trigger's type, known or not. */
const TRIGGER_PREFIX = `${EVENT_TYPE_PREFIX}trigger.`;

/** Whether `type` is a trigger type of the catalogue (io.scalewise.trigger.*, the triggers topic). */
export function isTriggerType(type: unknown): type is TriggerEventType {
  return isEventType(type) && topicOf(type) === 'triggers';
}

/**
 * The partition key of a trigger whose producer sent none: the pool its data names, else the
 * record key, else this constant (docs/triggers.md).
 */
export const UNKEYED_TRIGGER_KEY = 'scalewise.triggers';

/**
 * The pool an event's data names, read before (or without) checking the data against the
 * catalogue: a trigger's data is as its sender wrote it. Undefined when it names none.
 */
export function poolNamed(data: unknown): string | undefined {
  const pool = typeof data === 'object' && data !== null ? (data as { pool?: unknown }).pool : undefined;
  return typeof pool === 'string' ? pool : undefined;
}

/** The partition key of a trigger sent without one (see {@link UNKEYED_TRIGGER_KEY}). */
export function triggerPartitionKey(data: unknown, recordKey?: string): string {
  const pool = poolNamed(data);
  if (pool !== undefined && pool.length > 0) return pool;
  return recordKey !== undefined && recordKey.length > 0 ? recordKey : UNKEYED_TRIGGER_KEY;
}

/**
 * Whether a trigger is for the cluster `clusterId`: one that names no cluster is for the
 * cluster whose triggers topic it is on (docs/triggers.md).
 */
export function isForCluster(event: { clusterid?: string | undefined }, clusterId: string): boolean {
  return event.clusterid === undefined || event.clusterid === clusterId;
}

/**
 * A trigger's data when it is valid against its type's schema, else undefined: what a
 * consumer other than the decision-engine reads (it ignores an invalid trigger; the
 * decision-engine answers it with TriggerRejected).
 */
export function triggerData<T extends TriggerEventType>(type: T, data: unknown): EventData<T> | undefined {
  const parsed = (catalogue[type].schema as z.ZodType).safeParse(data);
  return parsed.success ? (parsed.data as EventData<T>) : undefined;
}

/**
 * A Scalewise event: a CloudEvents 1.0 event whose extensions every service relies on
 * (DESIGN.md section 4). Attribute names are the CloudEvents ones.
 *
 * A trigger (`T` a {@link TriggerEventType}) comes from outside and is decoded with its data
 * as sent, valid or not, and its `clusterid` absent when the producer sent none: its consumers
 * check both (the decision-engine answers a bad one with TriggerRejected).
 */
export interface ScalewiseEvent<T extends EventType = EventType> {
  specversion: '1.0';
  id: string;
  type: T;
  /** URI-reference of the producer, e.g. `/scalewise/decision-engine`. */
  source: string;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  /** The data, valid against the type's schema; a trigger's as sent (unchecked). */
  data: T extends TriggerEventType ? unknown : EventData<T>;
  /** The pool; also the Kafka record key. */
  partitionkey: string;
  /** One chain of cause and effect. */
  correlationid: string;
  /** The id of the event that caused this one. */
  causationid?: string;
  severity: Severity;
  /** The cluster; a trigger's is absent when its producer named none (this cluster). */
  clusterid: T extends TriggerEventType ? string | undefined : string;
  region?: string;
  /** W3C trace context of the producing span. */
  traceparent?: string;
  /** Set on a replayed event: the id of the original. */
  replayof?: string;
}

/** Any event of the catalogue, as a discriminated union over `type`. */
export type AnyScalewiseEvent = { [T in EventType]: ScalewiseEvent<T> }[EventType];

export interface CreateEventOptions {
  source: string;
  /** The pool. @default data.pool when the data has one */
  partitionkey?: string;
  clusterid: string;
  /** @default a new id: this event starts a chain */
  correlationid?: string;
  causationid?: string;
  /** @default the catalogue's severity of the type */
  severity?: Severity;
  region?: string;
  traceparent?: string;
  subject?: string;
  /** @default a random UUID */
  id?: string;
  /** @default now */
  time?: string;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `data.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * Validates `data` against the schema of `type`.
 * @throws ScalewiseError UNKNOWN_EVENT_TYPE or SCHEMA_VIOLATION naming every bad field.
 */
export function parseData<T extends EventType>(type: T, data: unknown): EventData<T> {
  if (!isEventType(type)) {
    throw new ScalewiseError('UNKNOWN_EVENT_TYPE', `unknown event type '${String(type)}'`, {
      details: { type },
    });
  }
  const result = (catalogue[type].schema as z.ZodType).safeParse(data);
  if (!result.success) {
    throw new ScalewiseError('SCHEMA_VIOLATION', `${type}: ${describeIssues(result.error)}`, {
      details: {
        type,
        issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      },
    });
  }
  return result.data as EventData<T>;
}

/**
 * Builds a valid event of `type`.
 * @throws ScalewiseError SCHEMA_VIOLATION when `data` does not match the type's schema, or
 *   when no partition key is given and the data names no pool.
 */
export function createEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  options: CreateEventOptions,
): ScalewiseEvent<T> {
  const parsed = parseData(type, data);
  const pool = (parsed as { pool?: unknown }).pool;
  const partitionkey = options.partitionkey ?? (typeof pool === 'string' ? pool : undefined);
  if (!partitionkey) {
    throw new ScalewiseError('SCHEMA_VIOLATION', `${type}: no partition key and the data names no pool`);
  }
  const id = options.id ?? randomUUID();
  const event: ScalewiseEvent<T> = {
    specversion: '1.0',
    id,
    type,
    source: options.source,
    time: options.time ?? new Date().toISOString(),
    datacontenttype: 'application/json',
    data: parsed as ScalewiseEvent<T>['data'],
    partitionkey,
    correlationid: options.correlationid ?? id,
    severity: options.severity ?? catalogue[type].severity,
    clusterid: options.clusterid,
  };
  if (options.causationid !== undefined) event.causationid = options.causationid;
  if (options.region !== undefined) event.region = options.region;
  if (options.traceparent !== undefined) event.traceparent = options.traceparent;
  if (options.subject !== undefined) event.subject = options.subject;
  return event;
}

/**
 * Builds an event caused by `parent`: same correlation id, pool, cluster, region and trace;
 * `causationid` is the parent's id.
 * @throws ScalewiseError SCHEMA_VIOLATION as createEvent, or when neither `options` nor the
 *   parent names a cluster (a trigger sent without `clusterid`: pass the consumer's own).
 */
export function causedBy<T extends EventType>(
  parent: ScalewiseEvent,
  type: T,
  data: EventData<T>,
  options: { source: string } & Partial<Omit<CreateEventOptions, 'correlationid' | 'causationid'>>,
): ScalewiseEvent<T> {
  const clusterid = options.clusterid ?? parent.clusterid;
  if (clusterid === undefined) {
    throw new ScalewiseError(
      'SCHEMA_VIOLATION',
      `${type}: no clusterid: its parent ${parent.type} ${parent.id} names none and none was given`,
    );
  }
  return createEvent(type, data, {
    clusterid,
    ...(parent.region !== undefined ? { region: parent.region } : {}),
    ...(parent.traceparent !== undefined ? { traceparent: parent.traceparent } : {}),
    ...options,
    partitionkey: options.partitionkey ?? ((data as { pool?: string }).pool || parent.partitionkey),
    correlationid: parent.correlationid,
    causationid: parent.id,
  });
}

const severities: readonly Severity[] = ['info', 'warning', 'critical'];
const requiredAttributes = ['id', 'type', 'source', 'specversion'] as const;
const keyAttributes = ['partitionkey', 'clusterid'] as const;
const optionalAttributes = [
  'time',
  'subject',
  'correlationid',
  'causationid',
  'severity',
  'region',
  'traceparent',
  'replayof',
] as const;
const copiedAttributes = ['subject', 'causationid', 'region', 'traceparent', 'replayof'] as const;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number written by the decimal digits of `s` from `from` to `to` (excluded), or -1. */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Whether `s` is a time as `Date#toISOString` writes it (`YYYY-MM-DDTHH:MM:SS.sssZ`, years
 * 0000-9999) and names a real instant: then `new Date(s).toISOString() === s` and it is an
 * RFC 3339 date-time, with no Date built (the codec's hot path keeps such times as they are).
 */
export function isCanonicalIsoTime(s: string): boolean {
  if (s.length !== 24) return false;
  if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return false;
  if (s[19] !== '.' || s[23] !== 'Z' || digits(s, 20, 23) < 0) return false;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 7);
  const day = digits(s, 8, 10);
  const hour = digits(s, 11, 13);
  const minute = digits(s, 14, 16);
  const second = digits(s, 17, 19);
  if (year < 0 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  return day <= days && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59;
}

/**
 * Checks a whole event (envelope and data) that came from outside, and returns it typed.
 *
 * A trigger (io.scalewise.trigger.*) is checked less, so that the decision-engine can answer
 * it with TriggerRejected saying what was wrong (docs/triggers.md): its `clusterid` may be
 * absent (this cluster), a missing `partitionkey` is its data's pool (see
 * {@link triggerPartitionKey}), and data that breaks its schema is kept as sent.
 * @throws ScalewiseError MALFORMED_RECORD (envelope), UNKNOWN_EVENT_TYPE or, for a type other
 *   than a trigger, SCHEMA_VIOLATION.
 */
export function validateEvent(candidate: Record<string, unknown>): AnyScalewiseEvent {
  // By name, so that an unknown io.scalewise.trigger.* is UNKNOWN_EVENT_TYPE, not a missing clusterid.
  const trigger = typeof candidate.type === 'string' && candidate.type.startsWith(TRIGGER_PREFIX);
  const problems: string[] = [];
  const str = (k: string, required: boolean) => {
    const v = candidate[k];
    if (v === undefined || v === null || v === '') {
      if (required) problems.push(`${k} is missing`);
      return undefined;
    }
    if (typeof v !== 'string') problems.push(`${k} must be a string, got ${typeof v}`);
    return v;
  };
  for (const k of requiredAttributes) str(k, true);
  // A trigger from outside may leave both out (docs/triggers.md); every other event has them.
  for (const k of keyAttributes) str(k, !trigger);
  for (const k of optionalAttributes) str(k, false);
  if (candidate.specversion !== undefined && candidate.specversion !== '1.0') {
    problems.push(`specversion must be 1.0, got ${String(candidate.specversion)}`);
  }
  const ct = candidate.datacontenttype;
  if (ct !== undefined && (typeof ct !== 'string' || !ct.startsWith('application/json'))) {
    problems.push(`datacontenttype must be application/json, got ${String(ct)}`);
  }
  // A time in the normal form is valid and kept as it is; another is parsed and normalised.
  const canonicalTime = typeof candidate.time === 'string' && isCanonicalIsoTime(candidate.time);
  if (typeof candidate.time === 'string' && !canonicalTime && Number.isNaN(Date.parse(candidate.time))) {
    problems.push(`time is not a valid time: ${candidate.time}`);
  }
  if (candidate.severity !== undefined && !severities.includes(candidate.severity as Severity)) {
    problems.push(`severity must be one of ${severities.join(', ')}, got ${String(candidate.severity)}`);
  }
  if (problems.length > 0) {
    throw new ScalewiseError('MALFORMED_RECORD', `not a Scalewise event: ${problems.join('; ')}`, {
      details: { problems, id: candidate.id, type: candidate.type },
    });
  }
  const type = candidate.type as string;
  if (!isEventType(type)) {
    throw new ScalewiseError('UNKNOWN_EVENT_TYPE', `unknown event type '${type}'`, {
      details: { type, id: candidate.id },
    });
  }
  let data: unknown;
  if (trigger) {
    // Kept as sent when it breaks the schema: the decision-engine re-validates it and answers
    // with TriggerRejected `invalid` and the schema's message.
    data = triggerData(type as TriggerEventType, candidate.data) ?? candidate.data;
  } else {
    data = parseData(type, candidate.data);
  }
  const partitionkey =
    typeof candidate.partitionkey === 'string' && candidate.partitionkey !== ''
      ? candidate.partitionkey
      : triggerPartitionKey(data);
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id: candidate.id,
    type,
    source: candidate.source,
    time: canonicalTime
      ? candidate.time
      : typeof candidate.time === 'string'
        ? new Date(candidate.time).toISOString()
        : new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
    partitionkey,
    correlationid: candidate.correlationid ?? candidate.id,
    severity: candidate.severity ?? catalogue[type].severity,
  };
  if (typeof candidate.clusterid === 'string' && candidate.clusterid !== '')
    event.clusterid = candidate.clusterid;
  for (const k of copiedAttributes) {
    if (typeof candidate[k] === 'string') event[k] = candidate[k];
  }
  return event as unknown as AnyScalewiseEvent;
}

/** Extension attribute names used by Scalewise (all valid CloudEvents extension names). */
export const extensionNames = [
  'partitionkey',
  'correlationid',
  'causationid',
  'severity',
  'clusterid',
  'region',
  'traceparent',
  'replayof',
] as const;

import { randomUUID } from 'node:crypto';
import { ScalewiseError } from '@scalewise/errors';
import type { z } from 'zod';
import { catalogue, type EventData, type EventType, isEventType, type Severity } from './catalogue.ts';

/**
 * A Scalewise event: a CloudEvents 1.0 event whose extensions every service relies on
 * (DESIGN.md section 4). Attribute names are the CloudEvents ones.
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
  data: EventData<T>;
  /** The pool; also the Kafka record key. */
  partitionkey: string;
  /** One chain of cause and effect. */
  correlationid: string;
  /** The id of the event that caused this one. */
  causationid?: string;
  severity: Severity;
  clusterid: string;
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
    data: parsed,
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
 */
export function causedBy<T extends EventType>(
  parent: ScalewiseEvent,
  type: T,
  data: EventData<T>,
  options: { source: string } & Partial<Omit<CreateEventOptions, 'correlationid' | 'causationid'>>,
): ScalewiseEvent<T> {
  return createEvent(type, data, {
    clusterid: parent.clusterid,
    ...(parent.region !== undefined ? { region: parent.region } : {}),
    ...(parent.traceparent !== undefined ? { traceparent: parent.traceparent } : {}),
    ...options,
    partitionkey: options.partitionkey ?? ((data as { pool?: string }).pool || parent.partitionkey),
    correlationid: parent.correlationid,
    causationid: parent.id,
  });
}

const severities: readonly Severity[] = ['info', 'warning', 'critical'];

/**
 * Checks a whole event (envelope and data) that came from outside, and returns it typed.
 * @throws ScalewiseError MALFORMED_RECORD (envelope), UNKNOWN_EVENT_TYPE or SCHEMA_VIOLATION.
 */
export function validateEvent(candidate: Record<string, unknown>): AnyScalewiseEvent {
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
  for (const k of ['id', 'type', 'source', 'specversion', 'partitionkey', 'clusterid']) str(k, true);
  for (const k of [
    'time',
    'subject',
    'correlationid',
    'causationid',
    'severity',
    'region',
    'traceparent',
    'replayof',
  ])
    str(k, false);
  if (candidate.specversion !== undefined && candidate.specversion !== '1.0') {
    problems.push(`specversion must be 1.0, got ${String(candidate.specversion)}`);
  }
  const ct = candidate.datacontenttype;
  if (ct !== undefined && (typeof ct !== 'string' || !ct.startsWith('application/json'))) {
    problems.push(`datacontenttype must be application/json, got ${String(ct)}`);
  }
  if (typeof candidate.time === 'string' && Number.isNaN(Date.parse(candidate.time))) {
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
  const data = parseData(type, candidate.data);
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id: candidate.id,
    type,
    source: candidate.source,
    time:
      typeof candidate.time === 'string' ? new Date(candidate.time).toISOString() : new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
    partitionkey: candidate.partitionkey,
    correlationid: candidate.correlationid ?? candidate.id,
    severity: candidate.severity ?? catalogue[type].severity,
    clusterid: candidate.clusterid,
  };
  for (const k of ['subject', 'causationid', 'region', 'traceparent', 'replayof']) {
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

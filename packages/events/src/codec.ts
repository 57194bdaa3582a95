/**
 * CloudEvent <-> Kafka record, binary content mode (DESIGN.md section 4): attributes as
 * `ce_*` headers (UTF-8 strings), `content-type: application/json`, the data as JSON bytes
 * in the value, the pool as the key. Structured-mode records from external producers
 * (`content-type: application/cloudevents+json`) are accepted on the way in.
 *
 * Triggers (io.scalewise.trigger.*, from systems outside Scalewise) are decoded by the
 * contract of docs/triggers.md, in both modes: `clusterid` and `partitionkey` may be absent,
 * and data that breaks the schema is kept as sent, for the decision-engine to answer with
 * TriggerRejected. A broken envelope throws for them as for any record.
 *
 * The `cloudevents` package is the model (its `CloudEvent` validates attributes and
 * extension names) and its Kafka binding does the mapping, with guards for the binding's
 * defects, except on the hot path: a binary-mode record is decoded by
 * {@link binaryAttributes}, the binding's own rules without its second JSON parse and its
 * model (half the cost of a consumed record), and a property test holds it equal to the
 * binding's result for any record; on the way out, an event of the plain shape the bus builds
 * is encoded by the binding's rules directly ({@link encodeBinary}, 10 -> 2 us per record),
 * property-tested equal to the SDK's record, and any other event goes through the SDK. Each guard is marked GUARD and has a test in
 * codec.test.ts:
 *   1. `Kafka.binary` copies every own property, unset ones included, into headers as
 *      `undefined` (kafkajs rejects those) and emits non-string extension values as-is.
 *   2. `Kafka.binary` puts the data object itself in `value`; Kafka needs bytes.
 *   3. kafkajs delivers header values as Buffers (or arrays of them when a header repeats)
 *      and keys as Buffers; the binding calls string methods on them and `new Date(buffer)`.
 *   4. A record without `ce_time` gets the time of decoding in binary mode, and a
 *      structured record without `time` makes the binding throw a RangeError.
 *   5. A null value (a tombstone) throws a bare ValidationError with no context.
 *   6. `new CloudEvent` rejects an own property whose value is undefined ("invalid extension
 *      value"), as a trigger that names no cluster has.
 */

import { ScalewiseError } from '@scalewise/errors';
import { CloudEvent, Kafka, ValidationError } from 'cloudevents';
import {
  type AnyScalewiseEvent,
  extensionNames,
  isCanonicalIsoTime,
  isTriggerType,
  type ScalewiseEvent,
  triggerPartitionKey,
  validateEvent,
} from './envelope.ts';

/** A record ready for kafkajs' `producer.send({ messages: [record] })`. */
export interface EncodedRecord {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  /** Milliseconds since the epoch, as a string (kafkajs' convention): the event's time. */
  timestamp: string;
}

/** The parts of a consumed record the decoder reads (kafkajs' `KafkaMessage` fits). */
export interface RawRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  /** Milliseconds since the epoch, as a string. */
  timestamp?: string;
}

/** Where a record came from, for error messages. */
export interface RecordOrigin {
  topic?: string;
  partition?: number;
  offset?: string;
}

const JSON_TYPE = 'application/json';
const STRUCTURED_TYPE = 'application/cloudevents+json';
const BATCH_TYPE = 'application/cloudevents-batch';

/**
 * Encodes an event as a binary-mode Kafka record.
 *
 * An event of the shape the bus builds (the attributes of {@link ScalewiseEvent}, strings,
 * a canonical UTC time, a source already seen valid) is encoded directly by the Kafka
 * binding's rules ({@link encodeBinary}), without building the SDK's model: the same headers
 * in the same order, the same key, value and timestamp (a property test holds it equal to
 * the binding's output over the catalogue). Any other event goes through the SDK's strict
 * model and binding ({@link toKafkaMessageViaSdk}), which also gives the errors.
 * @throws ScalewiseError SCHEMA_VIOLATION when the cloudevents model rejects an attribute.
 */
export function toKafkaMessage(event: ScalewiseEvent | AnyScalewiseEvent): EncodedRecord {
  return encodeBinary(event) ?? toKafkaMessageViaSdk(event);
}

/**
 * The SDK's way: the strict `CloudEvent` model (attribute and extension checks, the JSON
 * schema of CloudEvents 1.0) and `Kafka.binary`, with the guards. The reference the direct
 * encoder is tested against, and the path of any event it does not take.
 * @throws ScalewiseError SCHEMA_VIOLATION when the cloudevents model rejects an attribute.
 */
export function toKafkaMessageViaSdk(event: ScalewiseEvent | AnyScalewiseEvent): EncodedRecord {
  let ce: CloudEvent<unknown>;
  try {
    // GUARD 6: an attribute present as undefined (a trigger that names no cluster) is unset;
    // the model would reject it as an invalid extension value.
    const set: Record<string, unknown> = { ...event };
    for (const k of Object.keys(set)) if (set[k] === undefined) delete set[k];
    ce = new CloudEvent<unknown>(set, true);
  } catch (err) {
    throw new ScalewiseError('SCHEMA_VIOLATION', `${event.type} ${event.id}: ${firstLine(err)}`, {
      cause: err,
    });
  }
  const message = Kafka.binary(ce);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    // GUARD 1: unset attributes arrive as undefined; kafkajs would throw on them.
    if (value === undefined || value === null) continue;
    // content-type carries datacontenttype in binary mode; a second copy could disagree.
    if (name === 'ce_datacontenttype') continue;
    // GUARD 1: extension values of other CloudEvents types (integer, boolean) as text.
    headers[name] = typeof value === 'string' ? value : String(value);
  }
  headers['content-type'] = JSON_TYPE;
  return {
    key: event.partitionkey,
    // GUARD 2: the binding hands over the data object; the record needs JSON bytes.
    value: Buffer.from(JSON.stringify(event.data), 'utf8'),
    headers,
    timestamp: message.timestamp ?? String(Date.parse(event.time)),
  };
}

/** The attributes the direct encoder takes, each a string (or unset): the ScalewiseEvent ones. */
const DIRECT_CORE = new Set([
  'specversion',
  'id',
  'type',
  'source',
  'time',
  'subject',
  'datacontenttype',
  'data',
]);
const DIRECT_EXTENSIONS = new Set<string>(extensionNames);

/**
 * Sources the SDK's strict model accepted (its uri-reference format); a producer has one or
 * a few. Bounded: past the bound a new source is checked by the SDK on each event.
 */
const validSources = new Set<string>();
const MAX_SOURCES = 1024;

function isValidSource(source: string): boolean {
  if (validSources.has(source)) return true;
  try {
    new CloudEvent({ id: 'x', type: 'x', specversion: '1.0', source }, true);
  } catch {
    return false;
  }
  if (validSources.size < MAX_SOURCES) validSources.add(source);
  return true;
}

/**
 * The binary-mode record of an event by the Kafka binding's rules, without the SDK's model,
 * or undefined when the event is not of the plain shape this covers (the caller then takes
 * the SDK's path, which validates and encodes anything else, errors included). The shape:
 * only {@link ScalewiseEvent}'s attributes; id, type and source non-empty strings,
 * specversion 1.0, datacontenttype application/json, the time a canonical UTC time
 * ({@link isCanonicalIsoTime}: the date-time format holds), subject unset or non-empty, every
 * extension a string or unset, the source one the SDK accepted. For such an event the
 * binding's headers are: content-type, then ce_ + each attribute in the order of the model
 * (id, time, type, source, specversion, subject), then the extensions in the event's order;
 * unset ones left out, datacontenttype carried by content-type alone.
 */
export function encodeBinary(event: ScalewiseEvent | AnyScalewiseEvent): EncodedRecord | undefined {
  const e = event as unknown as Record<string, unknown>;
  const { id, type, source, time, subject } = e;
  if (typeof id !== 'string' || id === '' || typeof type !== 'string' || type === '') return undefined;
  if (typeof source !== 'string' || source === '') return undefined;
  if (e.specversion !== '1.0' || e.datacontenttype !== JSON_TYPE) return undefined;
  if (typeof time !== 'string' || !isCanonicalIsoTime(time)) return undefined;
  if (subject !== undefined && (typeof subject !== 'string' || subject === '')) return undefined;
  const headers: Record<string, string> = {
    'content-type': JSON_TYPE,
    ce_id: id,
    ce_time: time,
    ce_type: type,
    ce_source: source,
    ce_specversion: '1.0',
  };
  if (subject !== undefined) headers.ce_subject = subject;
  for (const k of Object.keys(e)) {
    if (DIRECT_CORE.has(k)) continue;
    if (!DIRECT_EXTENSIONS.has(k)) return undefined;
    const v = e[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') return undefined;
    headers[`ce_${k}`] = v;
  }
  if (!isValidSource(source)) return undefined;
  return {
    key: event.partitionkey,
    value: Buffer.from(JSON.stringify(event.data), 'utf8'),
    headers,
    timestamp: String(Date.parse(time)),
  };
}

/**
 * Decodes a consumed record (binary or structured mode) into a validated event; a trigger's
 * data is validated but kept as sent when invalid (validateEvent).
 * @throws ScalewiseError MALFORMED_RECORD (not a CloudEvent, bad JSON, null value, bad
 *   envelope), UNKNOWN_EVENT_TYPE, or SCHEMA_VIOLATION (a type other than a trigger); never
 *   retriable.
 */
export function fromKafkaMessage(record: RawRecord, origin: RecordOrigin = {}): AnyScalewiseEvent {
  const where = describeOrigin(origin);
  // GUARD 5: a tombstone or null value gets a message that says so.
  if (record.value === null || record.value === undefined) {
    throw malformed(`${where}record has no value (null or tombstone)`, origin);
  }
  // GUARD 3: Buffer and repeated header values to strings, names lower-cased.
  const headers = normalizeHeaders(record.headers);
  const key = record.key === null || record.key === undefined ? undefined : text(record.key);
  const value = text(record.value);
  const contentType = headers['content-type'] ?? '';

  let candidate: Record<string, unknown>;
  if (contentType.startsWith(BATCH_TYPE)) {
    throw malformed(
      `${where}batched CloudEvents (${contentType}) are not accepted; send one event per record`,
      origin,
    );
  } else if (contentType.startsWith('application/cloudevents')) {
    if (!contentType.startsWith(STRUCTURED_TYPE)) {
      throw malformed(
        `${where}unsupported structured encoding '${contentType}'; expected ${STRUCTURED_TYPE}`,
        origin,
      );
    }
    const parsed = parseJson(value, () => `${where}structured record`, origin);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw malformed(`${where}structured record is not a JSON object`, origin);
    }
    const obj = { ...(parsed as Record<string, unknown>) };
    // GUARD 4: the binding would throw a RangeError on a missing time; use the record's.
    if (obj.time === undefined) {
      const recordTime = recordTimeIso(record.timestamp);
      if (recordTime) obj.time = recordTime;
    }
    if (obj.partitionkey === undefined) {
      // A trigger is keyed by the pool it names (docs/triggers.md); other events by the record's.
      if (isTriggerType(obj.type)) obj.partitionkey = triggerPartitionKey(obj.data, key);
      else if (key !== undefined) obj.partitionkey = key;
    }
    candidate = model(obj, where, origin);
  } else {
    if (!headers.ce_id) {
      throw malformed(
        `${where}not a CloudEvent: no ce_id header and content-type '${contentType || '(none)'}'`,
        origin,
      );
    }
    // Binary mode: data is JSON whatever the producer forgot to say.
    if (!contentType) headers['content-type'] = headers.ce_datacontenttype ?? JSON_TYPE;
    if (!headers['content-type']?.startsWith(JSON_TYPE)) {
      throw malformed(`${where}data content type '${headers['content-type']}' is not ${JSON_TYPE}`, origin);
    }
    delete headers.ce_datacontenttype;
    // GUARD 4: without ce_time the binding stamps the time of decoding.
    if (!headers.ce_time) {
      const recordTime = recordTimeIso(record.timestamp);
      if (recordTime) headers.ce_time = recordTime;
    }
    const data = parseJson(value, () => `${where}value`, origin);
    try {
      candidate = binaryAttributes(headers, key ?? headers.ce_partitionkey ?? '', data);
    } catch (err) {
      throw malformed(`${where}${firstLine(err)}`, origin, err);
    }
    // A trigger sent without ce_partitionkey is keyed by the pool it names (docs/triggers.md);
    // the binding took the record key (or nothing) for it.
    if (!headers.ce_partitionkey && isTriggerType(candidate.type)) {
      candidate.partitionkey = triggerPartitionKey(candidate.data, key);
    }
  }
  try {
    return validateEvent(candidate);
  } catch (err) {
    if (err instanceof ScalewiseError && where) {
      throw new ScalewiseError(err.code, `${where}${err.message}`, {
        cause: err,
        details: { ...err.details, ...origin },
      });
    }
    throw err;
  }
}

/**
 * A binary-mode record's attributes and data, as the `cloudevents` Kafka binding
 * (`Kafka.toEvent`, then `CloudEvent#toJSON`, not strict) makes them: every `ce_` header an
 * attribute, a non-empty `ce_time` and the time as ISO strings (a bad one throws
 * RangeError), `content-type` the datacontenttype, the record key the partitionkey,
 * specversion 1.0 unless given, and the data as parsed. Headers are lower-cased strings.
 * @throws RangeError or TypeError as the binding would.
 */
export function binaryAttributes(
  headers: Readonly<Record<string, string>>,
  key: string,
  data: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = { datacontenttype: headers['content-type'] };
  for (const name in headers) {
    if (name.startsWith('ce_')) out[name.slice(3)] = headers[name];
  }
  // A non-empty time is normalised (a bad one throws), an empty one is the time of decoding;
  // one already in the normal form is kept as it is (equal, without a Date).
  const time = headers.ce_time;
  out.time = time && isCanonicalIsoTime(time) ? time : (time ? new Date(time) : new Date()).toISOString();
  out.specversion = out.specversion || '1.0';
  // The binding decodes a data_base64 attribute (throwing on a bad one), then the data wins.
  if (out.data_base64) atob(out.data_base64 as string);
  if (out.specversion === '1.0' && out.schemaurl) {
    throw new TypeError('cannot set schemaurl on version 1.0 event');
  }
  if (out.specversion === '0.3' && out.dataschema) {
    throw new TypeError('cannot set dataschema on version 0.3 event');
  }
  if (!(out.data_base64 && data)) out.data = data;
  else delete out.data;
  out.partitionkey = key;
  return out;
}

/** Header names of a record as the bus sets them (for tests and tools). */
export function isCloudEventRecord(record: RawRecord): boolean {
  const headers = normalizeHeaders(record.headers);
  return Boolean(headers.ce_id) || (headers['content-type'] ?? '').startsWith('application/cloudevents');
}

function model(obj: Record<string, unknown>, where: string, origin: RecordOrigin): Record<string, unknown> {
  try {
    return { ...new CloudEvent<unknown>(obj, false).toJSON() };
  } catch (err) {
    throw malformed(`${where}${firstLine(err)}`, origin, err);
  }
}

function normalizeHeaders(raw: RawRecord['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const name in raw) {
    if (!Object.hasOwn(raw, name)) continue;
    const value = raw[name];
    if (value === undefined || value === null) continue;
    const one = Array.isArray(value) ? value[0] : value;
    if (one === undefined) continue;
    out[name.toLowerCase()] = text(one);
  }
  return out;
}

function text(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('utf8');
}

function recordTimeIso(timestamp: string | undefined): string | undefined {
  if (timestamp === undefined) return undefined;
  const ms = Number(timestamp);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : undefined;
}

function parseJson(value: string, what: () => string, origin: RecordOrigin): unknown {
  try {
    return JSON.parse(value);
  } catch (err) {
    throw malformed(`${what()} is not valid JSON: ${firstLine(err)}`, origin, err);
  }
}

function malformed(message: string, origin: RecordOrigin, cause?: unknown): ScalewiseError {
  return new ScalewiseError('MALFORMED_RECORD', message, {
    ...(cause !== undefined ? { cause } : {}),
    details: { ...origin },
  });
}

function describeOrigin(o: RecordOrigin): string {
  if (o.topic === undefined) return '';
  return `${o.topic}[${o.partition ?? '?'}]@${o.offset ?? '?'}: `;
}

function firstLine(err: unknown): string {
  const msg =
    err instanceof ValidationError && err.errors?.length
      ? `${err.message} ${JSON.stringify(err.errors)}`
      : err instanceof Error
        ? err.message
        : String(err);
  return msg.split('\n')[0] ?? msg;
}

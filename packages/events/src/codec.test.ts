import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { CloudEvent, Kafka } from 'cloudevents';
import fc from 'fast-check';
import type { EventData } from './catalogue.ts';
import {
  binaryAttributes,
  encodeBinary,
  fromKafkaMessage,
  type RawRecord,
  toKafkaMessage,
  toKafkaMessageViaSdk,
} from './codec.ts';
import { causedBy, createEvent, isCanonicalIsoTime, isForCluster, UNKEYED_TRIGGER_KEY } from './envelope.ts';
import { sampleData, sampleEvents } from './samples.ts';

const scaleUp = () =>
  createEvent('io.scalewise.ScaleUpDecision', sampleData['io.scalewise.ScaleUpDecision'], {
    source: '/scalewise/decision-engine',
    clusterid: 'local',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  });

/** A record as kafkajs hands it to a consumer: every header value and the key are Buffers. */
function asConsumed(encoded: ReturnType<typeof toKafkaMessage>): RawRecord {
  return {
    key: Buffer.from(encoded.key),
    value: encoded.value,
    headers: Object.fromEntries(Object.entries(encoded.headers).map(([k, v]) => [k, Buffer.from(v)])),
    timestamp: encoded.timestamp,
  };
}

function expectCode(fn: () => unknown, code: string, pattern?: RegExp): ScalewiseError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ScalewiseError, `expected a ScalewiseError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

describe('encoding (binary content mode)', () => {
  test('every header is a string and the cloudevents binding would have sent undefined ones', () => {
    const event = scaleUp();
    const raw = Kafka.binary(new CloudEvent<unknown>({ ...event }, true));
    assert.ok(
      Object.values(raw.headers).some((v) => v === undefined),
      'the defect this guards: the binding emits undefined header values',
    );
    const encoded = toKafkaMessage(event);
    for (const [name, value] of Object.entries(encoded.headers)) {
      assert.equal(typeof value, 'string', `header ${name}`);
    }
    assert.equal(encoded.headers['content-type'], 'application/json');
    assert.equal(encoded.headers.ce_datacontenttype, undefined);
    assert.equal(encoded.headers.ce_type, 'io.scalewise.ScaleUpDecision');
    assert.equal(encoded.headers.ce_partitionkey, 'workers');
    assert.equal(encoded.headers.ce_traceparent, event.traceparent);
    assert.equal(encoded.headers.ce_severity, 'info');
  });

  test('the value is the JSON bytes of the data, where the binding hands over the object', () => {
    const event = scaleUp();
    const raw = Kafka.binary(new CloudEvent<unknown>({ ...event }, true));
    assert.equal(typeof raw.value, 'object', 'the defect this guards: value is the data object');
    assert.ok(!Buffer.isBuffer(raw.value));
    const encoded = toKafkaMessage(event);
    assert.ok(Buffer.isBuffer(encoded.value));
    assert.deepEqual(JSON.parse(encoded.value.toString('utf8')), event.data);
  });

  test('the key is the pool and the timestamp the event time', () => {
    const event = scaleUp();
    const encoded = toKafkaMessage(event);
    assert.equal(encoded.key, 'workers');
    assert.equal(encoded.timestamp, String(Date.parse(event.time)));
  });

  test('an invalid extension name is refused with the type and id named', () => {
    const event = { ...scaleUp(), 'Bad-Name': 'x' };
    expectCode(
      () => toKafkaMessage(event),
      'SCHEMA_VIOLATION',
      /io\.scalewise\.ScaleUpDecision .*extension name/,
    );
  });
});

describe('decoding', () => {
  test('every catalogue type survives a round trip through a consumed (Buffer) record', () => {
    const events = sampleEvents();
    assert.ok(events.length >= 30);
    for (const event of events) {
      const decoded = fromKafkaMessage(asConsumed(toKafkaMessage(event)));
      assert.deepEqual(decoded, event, event.type);
    }
  });

  test('Buffer header values, repeated headers and a Buffer key are read as UTF-8 strings', () => {
    const encoded = toKafkaMessage(scaleUp());
    const record = asConsumed(encoded);
    record.headers = {
      ...record.headers,
      ce_source: [Buffer.from('/scalewise/decision-engine'), Buffer.from('/x')],
    };
    const decoded = fromKafkaMessage(record);
    assert.equal(decoded.source, '/scalewise/decision-engine');
    assert.equal(decoded.partitionkey, 'workers');
    assert.equal(typeof decoded.time, 'string');
  });

  test('a binary record without ce_time takes the record timestamp, not the time of decoding', () => {
    const encoded = toKafkaMessage(scaleUp());
    const { ce_time: _dropped, ...headers } = encoded.headers;
    const decoded = fromKafkaMessage({
      ...encoded,
      headers,
      timestamp: String(Date.UTC(2026, 0, 2, 3, 4, 5)),
    });
    assert.equal(decoded.time, '2026-01-02T03:04:05.000Z');
  });

  test('a structured record without time takes the record timestamp instead of throwing', () => {
    const event = scaleUp();
    const { time: _dropped, ...rest } = event;
    const record: RawRecord = {
      key: Buffer.from('workers'),
      value: Buffer.from(JSON.stringify(rest)),
      headers: { 'content-type': Buffer.from('application/cloudevents+json; charset=utf-8') },
      timestamp: String(Date.UTC(2026, 5, 1)),
    };
    const decoded = fromKafkaMessage(record);
    assert.equal(decoded.time, '2026-06-01T00:00:00.000Z');
    assert.deepEqual(decoded.data, event.data);
  });

  test('a null value (tombstone) is a malformed record that says so, with where it came from', () => {
    const err = expectCode(
      () =>
        fromKafkaMessage(
          { key: 'workers', value: null, headers: {} },
          { topic: 't', partition: 1, offset: '7' },
        ),
      'MALFORMED_RECORD',
      /^t\[1\]@7: record has no value/,
    );
    assert.equal(err.retriable, false);
    assert.deepEqual(err.details, { topic: 't', partition: 1, offset: '7' });
  });

  test('a structured record from an external producer is accepted, key as the partition key', () => {
    const record: RawRecord = {
      key: 'workers',
      value: JSON.stringify({
        specversion: '1.0',
        id: 'ext-1',
        type: 'io.scalewise.trigger.scale',
        source: '/ci/pipeline',
        time: '2026-11-22T10:00:00Z',
        clusterid: 'local',
        data: { pool: 'workers', action: 'scale_up', count: 2 },
      }),
      headers: { 'content-type': 'application/cloudevents+json' },
    };
    const decoded = fromKafkaMessage(record);
    assert.equal(decoded.type, 'io.scalewise.trigger.scale');
    assert.equal(decoded.partitionkey, 'workers');
    assert.equal(decoded.correlationid, 'ext-1', 'a chain starts at an event without a correlation id');
    assert.equal(decoded.severity, 'info', 'the catalogue severity fills in');
  });

  test('a binary record without content-type (kcat with ce_ headers) is read as JSON', () => {
    const decoded = fromKafkaMessage({
      key: 'workers',
      value: '{"pool":"workers"}',
      headers: {
        ce_id: 'k-1',
        ce_type: 'io.scalewise.trigger.pause',
        ce_source: '/kcat',
        ce_specversion: '1.0',
        ce_clusterid: 'local',
      },
      timestamp: '1790000000000',
    });
    assert.deepEqual(decoded.data, { pool: 'workers' });
    assert.equal(decoded.time, new Date(1790000000000).toISOString());
  });

  test('a value that is not JSON is malformed and the JSON error is quoted', () => {
    const encoded = toKafkaMessage(scaleUp());
    expectCode(
      () => fromKafkaMessage({ ...encoded, value: Buffer.from('{"pool": ') }),
      'MALFORMED_RECORD',
      /not valid JSON/,
    );
  });

  test('a record with no CloudEvent headers is malformed', () => {
    expectCode(
      () => fromKafkaMessage({ key: 'k', value: '{}', headers: { 'content-type': 'application/json' } }),
      'MALFORMED_RECORD',
      /not a CloudEvent: no ce_id header/,
    );
  });

  test('a batch record is refused with the reason', () => {
    expectCode(
      () =>
        fromKafkaMessage({
          key: 'k',
          value: '[]',
          headers: { 'content-type': 'application/cloudevents-batch+json' },
        }),
      'MALFORMED_RECORD',
      /batched CloudEvents/,
    );
  });

  test('an unknown type is UNKNOWN_EVENT_TYPE, naming the type', () => {
    const encoded = toKafkaMessage(scaleUp());
    expectCode(
      () => fromKafkaMessage({ ...encoded, headers: { ...encoded.headers, ce_type: 'io.scalewise.Nope' } }),
      'UNKNOWN_EVENT_TYPE',
      /io\.scalewise\.Nope/,
    );
  });

  test('a schema violation names every bad field', () => {
    const encoded = toKafkaMessage(scaleUp());
    const data = { ...sampleData['io.scalewise.ScaleUpDecision'], count: 0, current_workers: -1 };
    const err = expectCode(
      () => fromKafkaMessage({ ...encoded, value: Buffer.from(JSON.stringify(data)) }),
      'SCHEMA_VIOLATION',
      /data\.count/,
    );
    assert.match(err.message, /data\.current_workers/);
  });

  test('an envelope without clusterid and partition key lists both problems', () => {
    const encoded = toKafkaMessage(scaleUp());
    const { ce_clusterid: _c, ce_partitionkey: _p, ...headers } = encoded.headers;
    const err = expectCode(() => fromKafkaMessage({ ...encoded, key: null, headers }), 'MALFORMED_RECORD');
    assert.match(err.message, /partitionkey is missing/);
    assert.match(err.message, /clusterid is missing/);
  });

  test('property: any pool name and utilisation survive the codec unchanged', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.integer({ min: 0, max: 10_000 }),
        (pool, cpu, workers) => {
          const event = createEvent(
            'io.scalewise.PoolMetricsObserved',
            { ...sampleData['io.scalewise.PoolMetricsObserved'], pool, cpu_avg: cpu, workers },
            { source: '/p', clusterid: 'c' },
          );
          assert.deepEqual(fromKafkaMessage(asConsumed(toKafkaMessage(event))), event);
        },
      ),
    );
  });
});

describe('triggers from outside (docs/triggers.md)', () => {
  /** A binary-mode trigger as kcat sends it: the required ce_ headers only. */
  const bare = (data: unknown, extra: Record<string, string> = {}, key?: string): RawRecord => ({
    ...(key !== undefined ? { key: Buffer.from(key) } : {}),
    value: Buffer.from(JSON.stringify(data)),
    headers: {
      ce_specversion: Buffer.from('1.0'),
      ce_id: Buffer.from('ext-1'),
      ce_type: Buffer.from('io.scalewise.trigger.scale'),
      ce_source: Buffer.from('/ci/kcat'),
      'content-type': Buffer.from('application/json'),
      ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, Buffer.from(v)])),
    },
    timestamp: '1790000000000',
  });
  /** A structured-mode trigger: the whole event as JSON in the value. */
  const structured = (event: Record<string, unknown>, key?: string): RawRecord => ({
    ...(key !== undefined ? { key } : {}),
    value: JSON.stringify({
      specversion: '1.0',
      id: 'ext-2',
      type: 'io.scalewise.trigger.scale',
      source: '/ci/pipeline',
      ...event,
    }),
    headers: { 'content-type': 'application/cloudevents+json' },
    timestamp: '1790000000000',
  });
  const scaleUp2 = { pool: 'workers', action: 'scale_up', count: 2 };

  test('binary, without ce_clusterid and ce_partitionkey: decoded, no cluster, keyed by the data pool', () => {
    const decoded = fromKafkaMessage(bare(scaleUp2, {}, 'some-key'));
    assert.equal(decoded.type, 'io.scalewise.trigger.scale');
    assert.equal(decoded.clusterid, undefined);
    assert.equal(Object.hasOwn(decoded, 'clusterid'), false, 'absent, not an empty string');
    assert.equal(decoded.partitionkey, 'workers', 'the pool, not the record key');
    assert.deepEqual(decoded.data, scaleUp2);
  });

  test('a trigger that names no cluster (clusterid undefined) encodes without ce_clusterid and round-trips', () => {
    const e = createEvent('io.scalewise.trigger.scale', scaleUp2 as EventData<'io.scalewise.trigger.scale'>, {
      source: '/scalewise/cli',
      clusterid: 'unused',
    });
    const m = toKafkaMessage({ ...e, clusterid: undefined });
    assert.equal(Object.hasOwn(m.headers, 'ce_clusterid'), false);
    const back = fromKafkaMessage({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp });
    assert.equal(back.clusterid, undefined);
    assert.equal(back.id, e.id);
  });

  test('structured, without clusterid and partitionkey: decoded the same way', () => {
    const decoded = fromKafkaMessage(structured({ data: scaleUp2 }, 'some-key'));
    assert.equal(decoded.clusterid, undefined);
    assert.equal(decoded.partitionkey, 'workers');
    assert.deepEqual(decoded.data, scaleUp2);
    assert.equal(decoded.time, new Date(1790000000000).toISOString());
  });

  test('a partitionkey and clusterid that are sent are kept, in both modes', () => {
    const binary = fromKafkaMessage(bare(scaleUp2, { ce_partitionkey: 'workers', ce_clusterid: 'east' }));
    assert.deepEqual([binary.clusterid, binary.partitionkey], ['east', 'workers']);
    const s = fromKafkaMessage(structured({ data: scaleUp2, clusterid: 'east', partitionkey: 'p' }));
    assert.deepEqual([s.clusterid, s.partitionkey], ['east', 'p']);
  });

  test('no pool in the data: keyed by the record key, else by the constant', () => {
    assert.equal(fromKafkaMessage(bare({ action: 'scale_up' }, {}, 'k1')).partitionkey, 'k1');
    assert.equal(fromKafkaMessage(bare({ action: 'scale_up' })).partitionkey, UNKEYED_TRIGGER_KEY);
    assert.equal(fromKafkaMessage(structured({ data: 'up please' })).partitionkey, UNKEYED_TRIGGER_KEY);
  });

  test('data that breaks the schema is decoded as sent, not thrown, in both modes', () => {
    for (const data of [
      { pool: 'workers', action: 'scale_up', count: -5 },
      { pool: 'workers', action: 'scale_up', count: 'three' },
      { pool: 'workers', action: 'explode', count: 1 },
      { pool: 'workers', action: 'scale_up', count: 1, reason: 'x'.repeat(501) },
      null,
      'scale up please',
    ]) {
      assert.deepEqual(fromKafkaMessage(bare(data)).data, data, JSON.stringify(data));
      assert.deepEqual(fromKafkaMessage(structured({ data })).data, data, JSON.stringify(data));
    }
  });

  test('valid trigger data is parsed by the schema (unknown fields dropped), as for any event', () => {
    const decoded = fromKafkaMessage(bare({ ...scaleUp2, colour: 'blue' }));
    assert.deepEqual(decoded.data, scaleUp2);
  });

  test('a trigger with a broken envelope or a value that is not JSON still throws', () => {
    const { ce_source: _s, ...noSource } = bare(scaleUp2).headers ?? {};
    expectCode(
      () => fromKafkaMessage({ ...bare(scaleUp2), headers: noSource }),
      'MALFORMED_RECORD',
      /source is missing/,
    );
    expectCode(
      () => fromKafkaMessage({ ...bare(scaleUp2), value: Buffer.from('count: -5') }),
      'MALFORMED_RECORD',
      /not valid JSON/,
    );
    expectCode(
      () => fromKafkaMessage(structured({ specversion: '0.3', data: scaleUp2 })),
      'MALFORMED_RECORD',
      /specversion/,
    );
    expectCode(
      () => fromKafkaMessage(bare(scaleUp2, { ce_type: 'io.scalewise.trigger.explode' })),
      'UNKNOWN_EVENT_TYPE',
      /io\.scalewise\.trigger\.explode/,
    );
  });

  test('the leniency is for triggers only: other types still need clusterid and valid data', () => {
    const encoded = toKafkaMessage(scaleUp());
    const { ce_clusterid: _c, ...headers } = encoded.headers;
    expectCode(() => fromKafkaMessage({ ...encoded, headers }), 'MALFORMED_RECORD', /clusterid is missing/);
    const bad = { ...sampleData['io.scalewise.ScaleUpDecision'], count: -5 };
    expectCode(
      () => fromKafkaMessage({ ...encoded, value: Buffer.from(JSON.stringify(bad)) }),
      'SCHEMA_VIOLATION',
      /data\.count/,
    );
  });

  test('isForCluster: a trigger naming no cluster is for this one, one naming another is not', () => {
    assert.equal(isForCluster({}, 'local'), true);
    assert.equal(isForCluster({ clusterid: 'local' }, 'local'), true);
    assert.equal(isForCluster({ clusterid: 'east' }, 'local'), false);
  });

  test('causedBy a trigger without clusterid needs the consumer to name its cluster', () => {
    const parent = fromKafkaMessage(bare(scaleUp2));
    const data = sampleData['io.scalewise.TriggerRejected'];
    expectCode(
      () => causedBy(parent, 'io.scalewise.TriggerRejected', data, { source: '/de' }),
      'SCHEMA_VIOLATION',
      /no clusterid: its parent io\.scalewise\.trigger\.scale ext-1 names none/,
    );
    const child = causedBy(parent, 'io.scalewise.TriggerRejected', data, {
      source: '/de',
      clusterid: 'local',
    });
    assert.equal(child.clusterid, 'local');
    assert.equal(child.causationid, 'ext-1');
  });
});

describe('binary mode without the binding on the hot path', () => {
  /** What `Kafka.toEvent` then `toJSON` make of the same headers, key and value. */
  const viaBinding = (headers: Record<string, string>, key: string, value: string) =>
    ({
      ...(Kafka.toEvent({ headers, key, value, body: value } as never) as CloudEvent<unknown>).toJSON(),
    }) as Record<string, unknown>;
  const defined = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const outcome = (f: () => Record<string, unknown>) => {
    try {
      const o = defined(f());
      // Both stamp the time of decoding when there is none: equal to the second is enough.
      if (typeof o.time === 'string' && Math.abs(Date.parse(o.time) - Date.now()) < 5000) o.time = 'now';
      return { ok: o };
    } catch (err) {
      return { threw: (err as Error).message.split('\n')[0] };
    }
  };
  const attrValue = fc.oneof(
    fc.constant(''),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('1.0', '0.3', '2026-12-05T10:00:00Z', '2026-12-05T10:00:00.123+02:00', 'not a time'),
  );
  const headerName = fc.constantFrom(
    'ce_id',
    'ce_type',
    'ce_source',
    'ce_specversion',
    'ce_time',
    'ce_subject',
    'ce_dataschema',
    'ce_schemaurl',
    'ce_data_base64',
    'ce_data',
    'ce_partitionkey',
    'ce_clusterid',
    'ce_traceparent',
    'ce_x',
    'x-other',
  );

  test('property: equal to the binding for any headers, key and data (errors included)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(headerName, attrValue, { maxKeys: 10 }),
        fc.string({ minLength: 1, maxLength: 8 }),
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(0), fc.constant(null)),
        (extra, id, data) => {
          const headers: Record<string, string> = { ...extra, ce_id: id, 'content-type': 'application/json' };
          const key = headers.ce_partitionkey ?? 'pool-a';
          const value = JSON.stringify(data);
          assert.deepEqual(
            outcome(() => binaryAttributes(headers, key, JSON.parse(value))),
            outcome(() => viaBinding(headers, key, value)),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('every catalogue sample decodes to the same event as through the binding', () => {
    for (const e of sampleEvents()) {
      const rec = toKafkaMessage(e);
      const headers = Object.fromEntries(Object.entries(rec.headers).map(([k, v]) => [k, String(v)]));
      const value = rec.value.toString('utf8');
      assert.deepEqual(
        outcome(() => binaryAttributes(headers, rec.key, JSON.parse(value))),
        outcome(() => viaBinding(headers, rec.key, value)),
        e.type,
      );
      assert.deepEqual(fromKafkaMessage(asConsumed(rec)), e, e.type);
    }
  });
});

describe('binary-mode encoding without the SDK model on the hot path', () => {
  /** The SDK's record or its error, with the header order (byte-compatibility of the record). */
  const outcome = (f: () => ReturnType<typeof toKafkaMessage>) => {
    try {
      const r = f();
      return { ok: { ...r, headers: Object.entries(r.headers), value: r.value.toString('utf8') } };
    } catch (err) {
      return { threw: `${(err as { code?: string }).code}: ${(err as Error).message}` };
    }
  };
  const optional = <T>(arb: fc.Arbitrary<T>) =>
    // Mostly set (so that the direct path is taken often), sometimes absent or undefined.
    fc.oneof(
      { arbitrary: fc.constant({ kind: 'absent' as const }), weight: 1 },
      { arbitrary: fc.constant({ kind: 'undefined' as const }), weight: 1 },
      { arbitrary: arb.map((value) => ({ kind: 'set' as const, value })), weight: 8 },
    );
  /** An attribute the sample has keeps its value most of the time, so most events are valid. */
  const sometimes = <T>(arb: fc.Arbitrary<T>) =>
    fc.oneof(
      { arbitrary: fc.constant({ kind: 'keep' as const }), weight: 3 },
      { arbitrary: optional(arb), weight: 1 },
    );
  const text = fc.oneof(
    fc.constant(''),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('/scalewise/decision-engine', 'urn:x', 'a b', '%zz', 'https://example.com/x?y#z', 'ünï'),
  );
  const time = fc.oneof(
    fc
      .date({
        min: new Date('0000-01-01T00:00:00.000Z'),
        max: new Date('9999-12-31T00:00:00.000Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
    fc.constantFrom(
      '2026-12-05T10:00:00Z',
      '2026-12-05T10:00:00.123+02:00',
      '2026-02-29T00:00:00.000Z',
      '2024-02-29T23:59:59.999Z',
      '2026-13-01T00:00:00.000Z',
      '2026-12-05 10:00:00.000Z',
      'not a time',
      '',
    ),
  );
  /** Attributes of the envelope a Scalewise event may carry, each absent, undefined, or set. */
  const attributes = fc.record({
    id: sometimes(text),
    source: sometimes(text),
    time: sometimes(time),
    subject: optional(text),
    specversion: sometimes(fc.constantFrom('1.0', '0.3', '')),
    datacontenttype: sometimes(fc.constantFrom('application/json', 'text/plain')),
    causationid: optional(text),
    clusterid: sometimes(text),
    region: optional(text),
    traceparent: optional(text),
    replayof: optional(text),
    severity: sometimes(fc.constantFrom('info', 'warning', 'critical')),
    correlationid: sometimes(fc.oneof(text, fc.integer(), fc.boolean())),
    extra: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 6 },
      {
        arbitrary: fc.constantFrom({ 'Bad-Name': 'x' }, { other: 'y' }, { dataschema: 'https://s/x' }),
        weight: 1,
      },
    ),
  });
  const events = sampleEvents();

  test('property: the direct encoder equals the SDK model and binding for any type and attributes', () => {
    let runs = 0;
    let direct = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: events.length - 1 }), attributes, (i, attrs) => {
        const event: Record<string, unknown> = { ...(events[i] as object) };
        const { extra, ...rest } = attrs;
        for (const [k, a] of Object.entries(rest)) {
          if (a.kind === 'keep') continue;
          if (a.kind === 'absent') delete event[k];
          else event[k] = a.kind === 'undefined' ? undefined : a.value;
        }
        Object.assign(event, extra);
        const e = event as unknown as Parameters<typeof toKafkaMessage>[0];
        // The model makes up an id and a time when none is given (then both take its path).
        const made = (o: ReturnType<typeof outcome>) => {
          if (!o.ok) return o;
          const headers = o.ok.headers.map(([k, v]): [string, string] =>
            (k === 'ce_id' && !event.id) || (k === 'ce_time' && !event.time) ? [k, 'made up'] : [k, v],
          );
          return { ok: { ...o.ok, headers, timestamp: event.time ? o.ok.timestamp : 'made up' } };
        };
        assert.deepEqual(
          made(outcome(() => toKafkaMessage(e))),
          made(outcome(() => toKafkaMessageViaSdk(e))),
        );
        runs += 1;
        if (encodeBinary(e)) direct += 1;
      }),
      { numRuns: 4000 },
    );
    // Both paths are exercised: the direct one on plain events, the SDK's on the others.
    assert.ok(direct > runs / 10 && direct < runs, `direct path taken ${direct} of ${runs} times`);
  });

  test('every catalogue type, as the bus builds it, takes the direct path and equals the SDK', () => {
    for (const event of [...events, ...sampleEvents({ source: 'urn:scalewise:x', clusterid: 'east' })]) {
      const withAll = {
        ...event,
        subject: 'node-1',
        causationid: 'c-1',
        region: 'eu-west-1',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        replayof: 'r-1',
      };
      for (const e of [event, withAll]) {
        assert.ok(encodeBinary(e), `${e.type} takes the direct path`);
        assert.deepEqual(
          outcome(() => toKafkaMessage(e)),
          outcome(() => toKafkaMessageViaSdk(e)),
          e.type,
        );
      }
    }
  });

  test('property: a time in the canonical form is its own normal form and a real RFC 3339 instant', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0000-01-01T00:00:00.000Z'),
          max: new Date('9999-12-31T23:59:59.999Z'),
          noInvalidDate: true,
        }),
        (d) => assert.equal(isCanonicalIsoTime(d.toISOString()), true, d.toISOString()),
      ),
      { numRuns: 3000 },
    );
    const near = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 999 }),
        fc.constantFrom('Z', 'z', '+00:00', ''),
      )
      .map(([y, mo, d, h, mi, s, ms, z]) => {
        const p = (n: number, w: number) => String(n).padStart(w, '0');
        return `${p(y, 4)}-${p(mo, 2)}-${p(d, 2)}T${p(h, 2)}:${p(mi, 2)}:${p(s, 2)}.${p(ms, 3)}${z}`;
      });
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ maxLength: 26 })), (s) => {
        const t = Date.parse(s);
        const normal = !Number.isNaN(t) && new Date(t).toISOString() === s;
        assert.equal(isCanonicalIsoTime(s), normal, s);
      }),
      { numRuns: 5000 },
    );
  });
});

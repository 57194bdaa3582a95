// patches/kafkajs@2.2.4.patch writes a record's headers into the record's own encoder, sized
// once, instead of one 512-byte encoder per header copied in (the bus sends 11 ce_* headers per
// record: docs/benchmarks.md, "The bus"). The bytes on the wire must stay exactly what kafkajs
// 2.2.4 wrote, and what its decoder reads back: checked here against the shipped code (kept as
// it was in test-support/kafkajs-record.ts), over random records (headers of strings, Buffers,
// arrays, multi-byte text).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeRecordBytes,
  encodeRecord,
  encodeRecordAsShipped,
  type RecordIn,
} from './test-support/kafkajs-record.ts';

const text = fc.string({ unit: 'grapheme', maxLength: 80 });
const bytes = fc.uint8Array({ maxLength: 700 }).map((a) => Buffer.from(a));
const headerValue = fc.oneof(text, bytes, fc.string({ minLength: 400, maxLength: 900 }));
const recordArb: fc.Arbitrary<RecordIn> = fc.record({
  offsetDelta: fc.nat({ max: 100_000 }),
  timestampDelta: fc.nat({ max: 2 ** 40 }),
  key: fc.oneof(fc.constant(null), text, bytes),
  value: fc.oneof(fc.constant(null), text, bytes),
  headers: fc.dictionary(
    // kafkajs' decoder collects headers into a plain object: a key such as `toString` meets
    // Object.prototype's there (its quirk, patched or not). The bus's keys are ce_*.
    fc.string({ minLength: 1, maxLength: 30 }).map((k) => `h-${k}`),
    fc.oneof(headerValue, fc.array(headerValue, { minLength: 1, maxLength: 3 })),
    { maxKeys: 14 },
  ),
});

describe('kafkajs record encode, patched', () => {
  test('property: the same bytes as kafkajs 2.2.4 shipped, and its decoder reads the headers back', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        const out = encodeRecord(r).buffer;
        assert.deepEqual(out, encodeRecordAsShipped(r).buffer);
        const back = decodeRecordBytes(out, { firstOffset: '0', firstTimestamp: 0, magicByte: 2 });
        for (const [k, v] of Object.entries(r.headers ?? {})) {
          const want = (Array.isArray(v) ? v : [v]).map((x) => Buffer.from(x));
          const got = back.headers[k];
          assert.deepEqual(Array.isArray(got) ? got : [got], want, `header ${k}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});

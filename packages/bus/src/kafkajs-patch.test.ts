// patches/kafkajs@2.2.4.patch writes a record's headers into the record's own encoder, sized
// once, instead of one 512-byte encoder per header copied in (the bus sends 11 ce_* headers per
// record: docs/benchmarks.md, "The bus"). The bytes on the wire must stay exactly what kafkajs
// 2.2.4 wrote, and what its decoder reads back: checked here against the shipped code, kept
// below as it was, over random records (headers of strings, Buffers, arrays, multi-byte text).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';

const require = createRequire(import.meta.url);
type Value = string | Buffer | null;
type RecordIn = {
  offsetDelta: number;
  timestampDelta: number;
  key: Value;
  value: Value;
  headers: Record<string, string | Buffer | (string | Buffer)[]>;
};
type Writer = {
  writeVarInt(n: number): Writer;
  writeInt8(n: number): Writer;
  writeVarLong(n: number): Writer;
  writeVarIntBytes(b: unknown): Writer;
  writeVarIntString(s: string): Writer;
  writeVarIntArray(a: unknown[]): Writer;
  buffer: Buffer;
};
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  r: RecordIn,
) => Writer;
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (
  d: unknown,
  ctx: object,
) => { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Buffer[]> };
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const Encoder = require('kafkajs/src/protocol/encoder.js') as (new (
  size?: number,
) => Writer) & {
  sizeOfVarInt(n: number): number;
  sizeOfVarLong(n: number): number;
  sizeOfVarIntBytes(b: unknown): number;
};

/** kafkajs 2.2.4's src/protocol/recordBatch/record/v0/index.js as it shipped. */
function shipped({ offsetDelta, timestampDelta, key, value, headers }: RecordIn): Writer {
  const pairs = Object.keys(headers).flatMap((k) => {
    const v = headers[k] as string | Buffer | (string | Buffer)[];
    return Array.isArray(v) ? v.map((x) => ({ key: k, value: x })) : [{ key: k, value: v }];
  });
  let headersSize = Encoder.sizeOfVarInt(pairs.length);
  for (const h of pairs) {
    const k = Buffer.byteLength(h.key);
    const v = Buffer.byteLength(h.value);
    headersSize += Encoder.sizeOfVarInt(k) + k + Encoder.sizeOfVarInt(v) + v;
  }
  const size =
    1 +
    Encoder.sizeOfVarLong(timestampDelta) +
    Encoder.sizeOfVarInt(offsetDelta) +
    Encoder.sizeOfVarIntBytes(key) +
    Encoder.sizeOfVarIntBytes(value) +
    headersSize;
  return new Encoder()
    .writeVarInt(size)
    .writeInt8(0)
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(pairs.map((h) => new Encoder().writeVarIntString(h.key).writeVarIntBytes(h.value)));
}

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
        assert.deepEqual(out, shipped(r).buffer);
        // The length prefix (a zig-zag varint), then the record.
        let i = 0;
        while ((out[i] ?? 0) & 0x80) i++;
        const back = decodeRecord(new Decoder(out.subarray(i + 1)), {
          firstOffset: '0',
          firstTimestamp: 0,
          magicByte: 2,
        });
        for (const [k, v] of Object.entries(r.headers)) {
          const want = (Array.isArray(v) ? v : [v]).map((x) => Buffer.from(x));
          const got = back.headers[k];
          assert.deepEqual(Array.isArray(got) ? got : [got], want, `header ${k}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});

/**
 * kafkajs' own record encoder and decoder (what producer.send and the fetcher run per record),
 * reached into its sources, and its record encode as 2.2.4 shipped it, before
 * patches/kafkajs@2.2.4.patch. For the test that the patch writes the same bytes, and for the
 * bench that measures what the patch saves (bench/src/bus-stages.bench.ts).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type HeaderValue = string | Buffer;

/** A record as the encoder takes it; a header may repeat (an array of values). */
export interface RecordIn {
  offsetDelta: number;
  timestampDelta: number;
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, HeaderValue | HeaderValue[]>;
}

/** A record as the decoder gives it back. */
export interface RecordOut {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
  offset: string;
  timestamp: string;
}

/** kafkajs' Encoder, as far as a record's encode uses it. */
export type Writer = {
  writeVarInt(n: number): Writer;
  writeInt8(n: number): Writer;
  writeVarLong(n: number): Writer;
  writeVarIntBytes(b: unknown): Writer;
  writeVarIntString(s: string): Writer;
  writeVarIntArray(a: unknown[]): Writer;
  buffer: Buffer;
};

/** The record encode kafkajs runs now (patched). */
export const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  r: RecordIn,
) => Writer;
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (
  d: unknown,
  ctx: object,
) => RecordOut;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const Encoder = require('kafkajs/src/protocol/encoder.js') as (new (
  size?: number,
) => Writer) & {
  sizeOfVarInt(n: number): number;
  sizeOfVarLong(n: number): number;
  sizeOfVarIntBytes(b: unknown): number;
};

/** What a batch's header tells the decoder about the records in it. */
export interface BatchContext {
  firstOffset: string;
  firstTimestamp: number;
  magicByte: number;
  timestampType?: number;
}

/** Decodes one encoded record: its length prefix (a zig-zag varint) skipped, then the record. */
export function decodeRecordBytes(bytes: Buffer, ctx: BatchContext): RecordOut {
  let i = 0;
  while ((bytes[i] ?? 0) & 0x80) i++;
  return decodeRecord(new Decoder(bytes.subarray(i + 1)), ctx);
}

/**
 * kafkajs 2.2.4's src/protocol/recordBatch/record/v0/index.js as it shipped: one encoder of
 * the default 512 zero-filled bytes per header, copied into the record's.
 */
export function encodeRecordAsShipped({
  offsetDelta,
  timestampDelta,
  key,
  value,
  headers = {},
}: RecordIn): Writer {
  const pairs = Object.keys(headers).flatMap((k) => {
    const v = headers[k] as HeaderValue | HeaderValue[];
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

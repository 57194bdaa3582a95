// A prototype of a kafkajs change, for the bus bench only (never loaded by the services):
// record headers encoded in place into the record's encoder, sized once, instead of one
// 512-byte zero-filled encoder per header copied into the record; and a consumed record's
// headers collected in one pass instead of one object spread per header. The bytes on the
// wire are the same. Loaded before the bench, it applies to raw kafkajs and the bus alike:
//
//   node --import ./bench/src/kafkajs-headers-prototype.ts bench/src/bus.bench.ts ...
//
// What the bench then measures is what the change would give if made in
// patches/kafkajs@2.2.4.patch (docs/benchmarks.md, "The bus").
import { registerHooks } from 'node:module';

const edits: [suffix: string, from: string, to: string][] = [
  [
    '/kafkajs/src/protocol/recordBatch/record/v0/index.js',
    `  return new Encoder()
    .writeVarInt(sizeOfBody)
    .writeInt8(0) // no used record attributes at the moment
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(headersArray.map(Header))`,
    `  const encoder = new Encoder(sizeOfBody + 5)
    .writeVarInt(sizeOfBody)
    .writeInt8(0) // no used record attributes at the moment
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarInt(headersArray.length)
  for (const header of headersArray) encoder.writeVarIntString(header.key).writeVarIntBytes(header.value)
  return encoder`,
  ],
  [
    '/kafkajs/src/protocol/recordBatch/record/v0/decoder.js',
    `  const headers = decoder.readVarIntArray(HeaderDecoder).reduce(
    (obj, { key, value }) => ({
      ...obj,
      [key]:
        obj[key] === undefined
          ? value
          : Array.isArray(obj[key])
          ? obj[key].concat([value])
          : [obj[key], value],
    }),
    {}
  )`,
    `  const headers = {}
  for (const { key, value } of decoder.readVarIntArray(HeaderDecoder)) {
    const prev = headers[key]
    headers[key] = prev === undefined ? value : Array.isArray(prev) ? prev.concat([value]) : [prev, value]
  }`,
  ],
];

registerHooks({
  load(url, context, nextLoad) {
    const result = nextLoad(url, context);
    const edit = edits.find(([suffix]) => url.endsWith(suffix));
    if (!edit || result.source === undefined || result.source === null) return result;
    const source = String(result.source);
    if (!source.includes(edit[1]))
      throw new Error(`kafkajs-headers-prototype: ${edit[0]} is not as expected`);
    return { ...result, source: source.replace(edit[1], edit[2]) };
  },
});

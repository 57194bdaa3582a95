// Keeps a bundle's source map to the code of this repository.
//
// With --enable-source-maps, Node parses a module's whole source map when it loads the module
// and keeps every mapping as an array for the life of the process: for a service's bundle
// (about 1 million mappings, nearly all of them in node_modules) that is 40 to 80 MiB of heap
// held by an idle service (bench/README.md). Stack frames in our own code are the ones worth
// mapping back to a file and line; a frame inside a dependency keeps its function name (the
// bundle is built with keepNames) and its position in dist/main.js.
//
// ownCodeSourceMap(map, isOwn) returns a copy of a version 3 source map in which every run of
// generated code that maps to a source `isOwn` rejects becomes one unmapped segment (a
// segment with a generated column only: "no original position"), so that it is not
// attributed to the own-code mapping before it. `sources` and `names` are kept as they are
// (their indexes stay valid); `sourcesContent` entries of dropped sources are nulled.

const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const digit = new Int8Array(128).fill(-1);
for (let i = 0; i < chars.length; i++) digit[chars.charCodeAt(i)] = i;

/** Decodes one line of a `mappings` string into segments of 1, 4 or 5 relative fields. */
function decodeLine(line) {
  const segments = [];
  let fields = [];
  let value = 0;
  let shift = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 44 /* , */) {
      segments.push(fields);
      fields = [];
      continue;
    }
    const d = digit[c] ?? -1;
    if (d < 0) throw new Error(`source map: invalid base64 VLQ character '${line[i]}'`);
    value += (d & 31) * 2 ** shift;
    if (d & 32) {
      shift += 5;
      continue;
    }
    fields.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
    value = 0;
    shift = 0;
  }
  if (fields.length > 0) segments.push(fields);
  return segments;
}

function encode(n) {
  let v = n < 0 ? -n * 2 + 1 : n * 2;
  let out = '';
  do {
    let d = v % 32;
    v = Math.floor(v / 32);
    if (v > 0) d |= 32;
    out += chars[d];
  } while (v > 0);
  return out;
}

/**
 * A copy of `map` (a parsed version 3 source map) whose mappings keep only the sources for
 * which `isOwn(source, index)` is true.
 * @throws Error on a `mappings` string that is not base64 VLQ.
 */
export function ownCodeSourceMap(map, isOwn) {
  const keep = map.sources.map((s, i) => Boolean(isOwn(s, i)));
  // Absolute values of the previous segment, read (input) and written (output).
  const src = { source: 0, line: 0, column: 0, name: 0 };
  const dst = { source: 0, line: 0, column: 0, name: 0 };
  // Whether the last segment written maps somewhere. Across lines too: a lookup of a
  // position before a line's first segment finds the previous line's last one.
  let mappedBefore = false;
  const lines = map.mappings.split(';').map((text) => {
    let column = 0;
    let written = 0;
    const out = [];
    for (const f of decodeLine(text)) {
      column += f[0];
      if (f.length > 1) {
        src.source += f[1];
        src.line += f[2];
        src.column += f[3];
        if (f.length === 5) src.name += f[4];
      }
      if (f.length === 1 || !keep[src.source]) {
        // The first segment of a run of unmapped or dependency code ends the mapping before it.
        if (mappedBefore) {
          out.push(encode(column - written));
          written = column;
        }
        mappedBefore = false;
        continue;
      }
      let s = encode(column - written) + encode(src.source - dst.source);
      s += encode(src.line - dst.line) + encode(src.column - dst.column);
      if (f.length === 5) {
        s += encode(src.name - dst.name);
        dst.name = src.name;
      }
      dst.source = src.source;
      dst.line = src.line;
      dst.column = src.column;
      written = column;
      mappedBefore = true;
      out.push(s);
    }
    return out.join(',');
  });
  const result = { ...map, mappings: lines.join(';') };
  if (Array.isArray(map.sourcesContent)) {
    result.sourcesContent = map.sourcesContent.map((c, i) => (keep[i] ? c : null));
  }
  return result;
}

import assert from 'node:assert/strict';
import { SourceMap } from 'node:module';
import { describe, it } from 'node:test';
import { ownCodeSourceMap } from './own-source-map.mjs';

// Node's own source map reader (the one --enable-source-maps uses) is the oracle.
type Seg = [col: number] | [col: number, src: number, line: number, column: number, name?: number];

/** Encodes absolute segments per generated line as a `mappings` string (the spec's VLQ). */
function mappings(lines: Seg[][]): string {
  const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const vlq = (n: number) => {
    let v = n < 0 ? -n * 2 + 1 : n * 2;
    let s = '';
    do {
      const d = v & 31;
      v >>>= 5;
      s += b64[d | (v > 0 ? 32 : 0)];
    } while (v > 0);
    return s;
  };
  const prev = [0, 0, 0, 0];
  return lines
    .map((segs) => {
      let col = 0;
      return segs
        .map((seg) => {
          let s = vlq(seg[0] - col);
          col = seg[0];
          for (let i = 1; i < seg.length; i++) {
            const v = seg[i] as number;
            s += vlq(v - (prev[i - 1] as number));
            prev[i - 1] = v;
          }
          return s;
        })
        .join(',');
    })
    .join(';');
}

const sources = [
  '../../packages/bus/src/bus.ts',
  '../../node_modules/kafkajs/index.js',
  '../../services/x/src/main.ts',
];
const own = (s: string) => !s.includes('/node_modules/');

function map(lines: Seg[][]) {
  return {
    version: 3,
    sources,
    sourcesContent: ['bus', 'kafkajs', 'main'],
    names: ['publish', 'send'],
    mappings: mappings(lines),
  };
}

const at = (m: ReturnType<typeof map>, line: number, column: number) => {
  const e = new SourceMap(m).findEntry(line, column) as {
    originalSource?: string;
    originalLine?: number;
    originalColumn?: number;
    name?: string;
  };
  return e.originalSource === undefined
    ? undefined
    : { source: e.originalSource, line: e.originalLine, column: e.originalColumn, name: e.name };
};

describe('ownCodeSourceMap', () => {
  const original = map([
    [
      [0, 0, 10, 2, 0],
      [12, 1, 500, 4, 1],
      [40, 1, 501, 0],
      [70, 0, 11, 4],
    ],
    [
      [0, 1, 502, 0],
      [8, 2, 3, 0],
      [20, 2, 4, 2, 1],
    ],
    [
      [0, 1, 600, 0],
      [5, 1, 601, 0],
    ],
    [[0], [3, 0, 20, 0]],
  ]);
  const trimmed = ownCodeSourceMap(original, own);

  it('keeps every position in own code where it was', () => {
    for (const [line, column] of [
      [0, 0],
      [0, 11],
      [0, 70],
      [0, 99],
      [1, 8],
      [1, 25],
      [3, 3],
    ] as const) {
      const before = at(original, line, column);
      assert.ok(before && own(before.source), `${line}:${column} is own code in the original`);
      assert.deepEqual(at(trimmed, line, column), before, `${line}:${column}`);
    }
  });

  it('leaves dependency code unmapped instead of attributing it to the own code before it', () => {
    for (const [line, column] of [
      [0, 12],
      [0, 50],
      [1, 0],
      [1, 7],
      [2, 0],
      [2, 30],
    ] as const) {
      assert.match(
        at(original, line, column)?.source ?? '',
        /node_modules/,
        `${line}:${column} is a dependency`,
      );
      assert.equal(at(trimmed, line, column), undefined, `${line}:${column}`);
    }
  });

  it('writes one segment per run of dependency code, and drops its sourcesContent', () => {
    const segments = (m: { mappings: string }) => m.mappings.split(/[;,]/).filter(Boolean).length;
    // Line 0: 2 own + 1 run; line 1: 1 run + 2 own; line 2: one run; line 3: its unmapped
    // segment follows an unmapped run (dropped), then 1 own.
    assert.equal(segments(original), 11);
    assert.equal(segments(trimmed), 8);
    assert.deepEqual(trimmed.sourcesContent, ['bus', null, 'main']);
    assert.deepEqual(trimmed.sources, sources);
    assert.deepEqual(trimmed.names, original.names);
  });

  it('rejects a mappings string that is not base64 VLQ', () => {
    assert.throws(() => ownCodeSourceMap({ ...original, mappings: 'AA!A' }, own), /invalid base64 VLQ/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { cpuMillicores, memoryBytes, parseQuantity } from './quantity.ts';

describe('quantities', () => {
  test('CPU in the notations the API returns, in millicores rounded up', () => {
    const cases: [string | number | undefined, number][] = [
      ['250m', 250],
      ['2', 2000],
      ['0.5', 500],
      ['1.5', 1500],
      ['.5', 500],
      ['0.3', 300],
      [1, 1000],
      ['100u', 1],
      ['1n', 1],
      ['1500000n', 2],
      ['1e-3', 1],
      ['2e0', 2000],
      ['1k', 1_000_000],
      ['', 0],
      [undefined, 0],
      [' 250m ', 250],
    ];
    for (const [q, want] of cases) assert.equal(cpuMillicores(q), want, String(q));
  });

  test('memory in bytes: binary and decimal suffixes, exponents, fractions rounded up', () => {
    const cases: [string, number][] = [
      ['512Mi', 512 * 2 ** 20],
      ['1Gi', 2 ** 30],
      ['1e3', 1000],
      ['1E3', 1000],
      ['1e+3', 1000],
      ['1.5G', 1.5e9],
      ['1.5Gi', 1.5 * 2 ** 30],
      ['128974848', 128974848],
      ['129M', 129e6],
      ['1k', 1000],
      ['2Ki', 2048],
      ['1Ti', 2 ** 40],
      ['1Pi', 2 ** 50],
      ['1T', 1e12],
      ['1P', 1e15],
      ['1E', 1e18],
      ['1.1Gi', Math.ceil(1.1 * 2 ** 30)],
      ['100m', 1],
      ['0', 0],
      ['+1Ki', 1024],
    ];
    for (const [q, want] of cases) assert.equal(memoryBytes(q), want, q);
  });

  test('a negative quantity stays negative', () => {
    assert.equal(parseQuantity('-1Ki'), -1024);
    assert.equal(cpuMillicores('-250m'), -250);
  });

  test('anything else is refused with the text named', () => {
    for (const bad of ['1.2.3', 'lots', '5Zi', '--1', 'Mi', '1 Gi', '1mi', '1KI', 'e3', '1e', '0x10'])
      assert.throws(
        () => parseQuantity(bad),
        (e: unknown) => e instanceof RangeError && e.message.includes(`'${bad}' is not`),
      );
    assert.throws(() => parseQuantity(Number.NaN), RangeError);
  });

  test('property: integers in every notation read back exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => {
        assert.equal(cpuMillicores(`${n}m`), n);
        assert.equal(cpuMillicores(String(n)), n * 1000);
        assert.equal(memoryBytes(`${n}Ki`), n * 1024);
        assert.equal(memoryBytes(`${n}Mi`), n * 2 ** 20);
        assert.equal(memoryBytes(`${n}k`), n * 1000);
        assert.equal(memoryBytes(`${n}e3`), n * 1000);
      }),
    );
  });

  test('property: rounding never loses a request (the result is at least the exact value)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 999 }), (whole, frac) => {
        const q = `${whole}.${String(frac).padStart(3, '0')}`;
        assert.equal(cpuMillicores(q), whole * 1000 + frac);
      }),
    );
  });
});

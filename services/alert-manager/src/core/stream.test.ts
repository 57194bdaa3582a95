import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AnyScalewiseEvent, sampleEvents } from '@scalewise/events';
import fc from 'fast-check';
import { BoundedBuffer, filterProblems, matches } from './stream.ts';

const events = sampleEvents() as AnyScalewiseEvent[];

describe('stream filter', () => {
  test('severity critical only lets critical events through', () => {
    const got = events.filter((e) => matches({ severities: ['critical'] }, e));
    assert.ok(got.length >= 3);
    assert.ok(got.every((e) => e.severity === 'critical'));
  });

  test('short and full type names both match; pools filter by partition key', () => {
    const e = events.find((x) => x.type === 'io.scalewise.NodeReady') as AnyScalewiseEvent;
    assert.equal(matches({ eventTypes: ['NodeReady'] }, e), true);
    assert.equal(matches({ eventTypes: ['io.scalewise.NodeReady'], pools: ['workers'] }, e), true);
    assert.equal(matches({ pools: ['gpu'] }, e), false);
    assert.equal(matches({}, e), true);
  });

  test('a bad filter is answered with every problem, each naming its field', () => {
    assert.deepEqual(filterProblems({ eventTypes: ['Nope'], severities: ['loud'], colour: 1 }), [
      'colour: unknown field',
      "eventTypes: unknown event type 'Nope'",
      "severities: 'loud' is not one of info, warning, critical",
    ]);
    assert.equal(filterProblems([]).length, 1);
    assert.deepEqual(filterProblems({ pools: 'workers' }), ['pools: expected an array of strings']);
    assert.deepEqual(filterProblems({ eventTypes: ['NodeReady'], pools: [], severities: ['critical'] }), []);
  });
});

describe('bounded buffer', () => {
  test('a client that never reads keeps only the newest events and is told how many it missed', () => {
    const b = new BoundedBuffer<number>(3);
    for (let i = 1; i <= 10; i++) b.push(i);
    assert.deepEqual(b.drain(), [
      { kind: 'skipped', count: 7 },
      { kind: 'event', event: 8 },
      { kind: 'event', event: 9 },
      { kind: 'event', event: 10 },
    ]);
    assert.equal(b.skippedTotal, 7);
    assert.deepEqual(b.drain(), []);
  });

  test('property: never more than capacity held; delivered + skipped = pushed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 60 }),
        (cap, reads) => {
          const b = new BoundedBuffer<number>(cap);
          let pushed = 0;
          let delivered = 0;
          let skipped = 0;
          for (const r of reads) {
            for (let i = 0; i < 3; i++) b.push(pushed++);
            assert.ok(b.size <= cap);
            for (const m of b.drain(r)) {
              if (m.kind === 'event') delivered++;
              else skipped += m.count;
            }
          }
          for (const m of b.drain()) {
            if (m.kind === 'event') delivered++;
            else skipped += m.count;
          }
          assert.equal(delivered + skipped, pushed);
        },
      ),
    );
  });

  test('capacity below 1 is refused', () => {
    assert.throws(() => new BoundedBuffer(0), /capacity/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateEvent } from '@scalewise/events';
import fc from 'fast-check';
import { bridgeEntry, fieldsOf } from './bridge.ts';

const defaults = { stream: 'otto:scale:events', pool: 'agents' };

describe('the seed 004 stream format', () => {
  test('Given the seed entry, Then a trigger.scale of 3 for the default pool with the task id', () => {
    const r = bridgeEntry(
      '1756659802903-0',
      fieldsOf(['type', 'scale_up', 'pod_count', '3', 'task_id', 'task-123']),
      defaults,
    );
    assert.ok(r.ok);
    assert.equal(r.id, 'redis:otto:scale:events:1756659802903-0');
    assert.equal(r.source, '/redis/otto:scale:events');
    assert.deepEqual(r.data, {
      pool: 'agents',
      action: 'scale_up',
      count: 3,
      task_id: 'task-123',
      reason: 'redis stream otto:scale:events entry 1756659802903-0',
    });
  });

  test('pool, reason and count may be given; set takes a target; scale_down a count', () => {
    const up = bridgeEntry(
      '1-0',
      { type: 'scale_down', count: '2', pool: 'workers', reason: 'night' },
      defaults,
    );
    assert.ok(up.ok);
    assert.deepEqual(
      [up.data.pool, up.data.action, up.data.count, up.data.reason],
      ['workers', 'scale_down', 2, 'night'],
    );
    const set = bridgeEntry('1-1', { type: 'set', target: '0' }, defaults);
    assert.ok(set.ok);
    assert.equal(set.data.target, 0);
  });

  test('each malformed entry is refused with a reason naming the field', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /no 'type' field/],
      [{ type: 'explode', pod_count: '1' }, /type 'explode' is not/],
      [{ type: 'scale_up' }, /'pod_count' must be an integer >= 1, got ''/],
      [{ type: 'scale_up', pod_count: '0' }, /got '0'/],
      [{ type: 'scale_up', pod_count: '-2' }, /got '-2'/],
      [{ type: 'scale_up', pod_count: '1.5' }, /got '1.5'/],
      [{ type: 'scale_up', pod_count: '3e2' }, /got '3e2'/],
      [{ type: 'set', target: 'many' }, /'target' must be an integer >= 0/],
      [{ type: 'scale_up', pod_count: '1', task_id: 'x'.repeat(300) }, /task_id/],
    ];
    for (const [fields, reason] of cases) {
      const r = bridgeEntry('9-9', fields, defaults);
      assert.equal(r.ok, false, JSON.stringify(fields));
      if (!r.ok) {
        assert.match(r.reason, reason);
        assert.match(r.reason, /^entry 9-9: /);
      }
    }
    const noPool = bridgeEntry('9-9', { type: 'scale_up', pod_count: '1' }, { stream: 's' });
    assert.ok(!noPool.ok && /no trigger_bridge.default_pool/.test(noPool.reason));
  });

  test('fieldsOf keeps the first of repeated names and ignores a dangling name', () => {
    assert.deepEqual(fieldsOf(['type', 'scale_up', 'type', 'scale_down', 'pod_count']), { type: 'scale_up' });
  });

  test('property: any fields give a valid trigger or a reason, never a throw', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { maxLength: 12 }), (flat) => {
        const r = bridgeEntry('5-0', fieldsOf(flat), defaults);
        if (r.ok) {
          validateEvent({
            specversion: '1.0',
            id: r.id,
            source: r.source,
            type: 'io.scalewise.trigger.scale',
            time: new Date().toISOString(),
            datacontenttype: 'application/json',
            partitionkey: r.data.pool,
            correlationid: r.id,
            severity: 'info',
            clusterid: 'c',
            data: r.data,
          });
        } else {
          assert.ok(r.reason.length > 0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

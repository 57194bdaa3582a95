import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AnyScalewiseEvent, decisionTypes, sampleEvents as samples } from '@scalewise/events';
import { clock, summary } from './describe.ts';
import { byClass, h, textOf } from './h.ts';
import { alertsView, deadLettersView, silenceScope, silencesView, timelineView } from './panels.ts';
import { shortType } from './types.ts';

const sampleEvents = () => samples() as AnyScalewiseEvent[];

describe('the console and the catalogue', () => {
  test('every catalogue event has a one-line summary with its numbers', () => {
    for (const e of sampleEvents()) {
      const s = summary(e);
      assert.ok(s.length > 5 && !s.includes('undefined'), `${e.type}: '${s}'`);
    }
    const [scaleUp] = sampleEvents().filter((e) => e.type === 'io.scalewise.ScaleUpDecision');
    assert.ok(scaleUp);
    assert.equal(
      summary(scaleUp),
      '3 → 5 workers (pending_pods): 3 pods pending for 4s; 2 more 4-CPU workers fit them',
    );
    assert.equal(clock('2026-11-22T11:20:00.123Z'), '11:20:00.123');
    assert.equal(shortType('io.scalewise.trigger.scale'), 'trigger.scale');
  });
});

describe('panels', () => {
  const events = sampleEvents();
  const decisions = new Set<string>(decisionTypes);

  test('the timeline marks decisions and passes the clicked event', () => {
    const clicked: string[] = [];
    const view = timelineView(events, decisions, events[11]?.id, (e) => clicked.push(e.id));
    const rows = byClass(view, 'event');
    assert.equal(rows.length, events.length);
    assert.equal(byClass(view, 'decision').length, events.filter((e) => decisions.has(e.type)).length);
    assert.equal(byClass(view, 'selected')[0]?.props['data-id'], events[11]?.id);
    const onclick = rows[3]?.props.onclick;
    assert.equal(typeof onclick, 'function');
    (onclick as (e: Event) => void)({} as Event);
    assert.deepEqual(clicked, [events[3]?.id]);
    assert.match(textOf(timelineView([], decisions, undefined, () => undefined)), /No events match/);
  });

  test('alerts, silences and dead letters', () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    const alerts = alertsView(
      [
        {
          key: 'workers/io.scalewise.NodeUnexpectedlyLost',
          pool: 'workers',
          type: 'io.scalewise.NodeUnexpectedlyLost',
          severity: 'critical',
          firstAt: now - 300_000,
          lastAt: now - 30_000,
          pending: 0,
        },
      ],
      now,
    );
    assert.equal(textOf(alerts), 'critical NodeUnexpectedlyLost workers since 5m ago, last 30s ago');
    const removed: string[] = [];
    const silence = {
      id: 's1',
      pools: ['gpu'],
      types: ['io.scalewise.NodeReady'],
      endsAt: now + 3_600_000,
      createdBy: 'api',
      comment: 'upgrade',
    };
    const view = silencesView([silence, { ...silence, id: 'old', endsAt: now - 1 }], now, (s) =>
      removed.push(s.id),
    );
    assert.equal(byClass(view, 'remove').length, 1, 'an expired silence is not shown');
    assert.match(textOf(view), /pools gpu; types NodeReady until 2026-11-22 13:00Z upgrade/);
    const remove = byClass(view, 'remove')[0]?.props.onclick;
    assert.equal(typeof remove, 'function');
    (remove as (e: Event) => void)({} as Event);
    assert.deepEqual(removed, ['s1']);
    assert.equal(silenceScope({ ...silence, pools: [], types: undefined }), 'everything');
    const dlq = deadLettersView(events);
    assert.match(
      textOf(dlq),
      /MALFORMED_RECORD .* s3:\/\/scalewise-dlq\/dlq\/scalewise.triggers\/2026\/11\/22\/0b7e.json/,
    );
    assert.match(textOf(deadLettersView([])), /empty/);
    assert.equal(textOf(h('p', {}, 'a', 1, false, null)), 'a 1');
  });
});

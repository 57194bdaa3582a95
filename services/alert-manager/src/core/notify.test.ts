import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AnyScalewiseEvent,
  createEvent,
  type EventData,
  type EventType,
  sampleData,
} from '@scalewise/events';
import {
  addSilence,
  initialRoutingState,
  mayNotify,
  openAlerts,
  type RoutingConfig,
  route,
} from './notify.ts';

const config: RoutingConfig = {
  sinks: [
    { name: 'ops', kind: 'webhook' },
    { name: 'chat', kind: 'slack', minSeverity: 'critical', maxPerMinute: 2 },
  ],
  groupWindowSeconds: 300,
};
const t0 = Date.UTC(2026, 10, 22, 11, 20);

function ev<T extends EventType>(type: T, pool = 'workers', data?: Partial<EventData<T>>): AnyScalewiseEvent {
  return createEvent(type, { ...sampleData[type], pool, ...data } as EventData<T>, {
    source: '/scalewise/test',
    clusterid: 'local',
  }) as AnyScalewiseEvent;
}

describe('routing', () => {
  test('given a MinimumNodesViolation, when it arrives, then both sinks that take critical get it once', () => {
    const { notifications } = route(
      initialRoutingState(),
      config,
      ev('io.scalewise.MinimumNodesViolation'),
      t0,
    );
    assert.deepEqual(
      notifications.map((n) => [n.sink, n.status, n.alertKey]),
      [
        ['ops', 'firing', 'workers/io.scalewise.MinimumNodesViolation'],
        ['chat', 'firing', 'workers/io.scalewise.MinimumNodesViolation'],
      ],
    );
  });

  test('repeats within the group window are folded, and the resolve reports how many', () => {
    const state = initialRoutingState();
    route(state, config, ev('io.scalewise.MinimumNodesViolation'), t0);
    for (let i = 1; i <= 3; i++) {
      assert.deepEqual(
        route(state, config, ev('io.scalewise.MinimumNodesViolation'), t0 + i * 10_000).notifications,
        [],
      );
    }
    const { notifications } = route(state, config, ev('io.scalewise.MinimumNodesRestored'), t0 + 60_000);
    const ops = notifications.find((n) => n.sink === 'ops');
    assert.equal(ops?.status, 'resolved');
    assert.equal(ops?.count, 3);
    assert.equal(ops?.event.type, 'io.scalewise.MinimumNodesRestored');
    assert.deepEqual(openAlerts(state), []);
  });

  test('a still-firing alert is repeated after the group window', () => {
    const state = initialRoutingState();
    route(state, config, ev('io.scalewise.ScalingActionFailed'), t0);
    const later = route(state, config, ev('io.scalewise.ScalingActionFailed'), t0 + 301_000);
    assert.equal(later.notifications.length, 1, 'warning goes to ops only');
    assert.equal(later.notifications[0]?.sink, 'ops');
  });

  test('a redelivered event (same source and id) is ignored', () => {
    const state = initialRoutingState();
    const e = ev('io.scalewise.NodeUnexpectedlyLost');
    assert.equal(route(state, config, e, t0).notifications.length, 2);
    route(state, config, ev('io.scalewise.MinimumNodesRestored'), t0 + 1);
    assert.deepEqual(route(state, config, e, t0 + 2).notifications, []);
  });

  test('info events notify nobody, and pools are separate alerts', () => {
    const state = initialRoutingState();
    assert.deepEqual(route(state, config, ev('io.scalewise.NodeReady'), t0).notifications, []);
    route(state, config, ev('io.scalewise.MinimumNodesViolation', 'a'), t0);
    const b = route(state, config, ev('io.scalewise.MinimumNodesViolation', 'b'), t0 + 1);
    assert.equal(b.notifications.length, 2);
    assert.equal(openAlerts(state).length, 2);
  });

  test('a silence holds back matching alerts until it ends, and is counted', () => {
    const state = initialRoutingState();
    addSilence(
      state,
      {
        id: 's1',
        pools: ['workers'],
        types: ['MinimumNodesViolation'],
        endsAt: t0 + 60_000,
        createdBy: 'ops',
        comment: 'maintenance',
      },
      t0,
    );
    assert.deepEqual(route(state, config, ev('io.scalewise.MinimumNodesViolation'), t0).notifications, []);
    assert.equal(state.silenced, 1);
    assert.equal(
      route(state, config, ev('io.scalewise.NodeUnexpectedlyLost'), t0 + 1).notifications.length,
      2,
    );
    const after = route(state, config, ev('io.scalewise.MinimumNodesViolation'), t0 + 61_000);
    assert.equal(after.notifications.length, 2, 'the silence ended');
  });

  test('silences that ended or match everything without a reason are refused', () => {
    const state = initialRoutingState();
    assert.throws(
      () => addSilence(state, { id: 'x', endsAt: t0 - 1, createdBy: 'a', comment: 'c' }, t0),
      /past/,
    );
    assert.throws(
      () => addSilence(state, { id: 'y', endsAt: t0 + 1, createdBy: 'a', comment: ' ' }, t0),
      /comment/,
    );
  });

  test('the rate limit per sink withholds and counts extra notifications', () => {
    const state = initialRoutingState();
    for (const pool of ['a', 'b', 'c', 'd'])
      route(state, config, ev('io.scalewise.MinimumNodesViolation', pool), t0);
    assert.equal(state.sent.get('chat')?.length, 2);
    assert.equal(state.rateLimited.get('chat'), 2);
    assert.equal(state.sent.get('ops')?.length, 4);
    const nextMinute = route(state, config, ev('io.scalewise.MinimumNodesViolation', 'e'), t0 + 61_000);
    assert.ok(nextMinute.notifications.some((n) => n.sink === 'chat'));
  });

  test('only warning and above, and resolving events, may notify: routing any other sends nothing', () => {
    const types: EventType[] = [
      'io.scalewise.PoolMetricsObserved',
      'io.scalewise.MinimumNodesViolation',
      'io.scalewise.ScalingActionFailed',
      'io.scalewise.MinimumNodesRestored',
      'io.scalewise.NodeReady',
    ];
    assert.deepEqual(
      types.map((t) => [t, mayNotify(ev(t))]),
      [
        ['io.scalewise.PoolMetricsObserved', false],
        ['io.scalewise.MinimumNodesViolation', true],
        ['io.scalewise.ScalingActionFailed', true],
        ['io.scalewise.MinimumNodesRestored', true],
        ['io.scalewise.NodeReady', true],
      ],
    );
    // Given an open alert, an event that may not notify leaves it and sends nothing.
    const state = initialRoutingState();
    route(state, config, ev('io.scalewise.MinimumNodesViolation'), t0);
    const quiet = route(state, config, ev('io.scalewise.PoolMetricsObserved'), t0 + 1);
    assert.deepEqual(quiet.notifications, []);
  });
});

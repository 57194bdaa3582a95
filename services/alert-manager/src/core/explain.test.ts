import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AnyScalewiseEvent,
  causedBy,
  createEvent,
  type EventData,
  type EventType,
  type ScalewiseEvent,
  sampleData,
  shortName,
} from '@scalewise/events';
import { PENDING_SCALE_UP_CHAIN } from '@scalewise/testing/chains';
import { explain, reasonsInForce } from './explain.ts';

let clock = Date.UTC(2026, 10, 22, 11, 20);
const tick = () => {
  clock += 1000;
  return new Date(clock).toISOString();
};
const d = <T extends EventType>(t: T) => sampleData[t] as EventData<T>;
const src = { source: '/scalewise/test' };

/** An event of `type` with its sample data, caused by `cause`, a second after the last one. */
const next = <T extends EventType>(cause: AnyScalewiseEvent, type: T) =>
  causedBy(cause, type, d(type), { ...src, time: tick() });

function pendingPodsChain() {
  const pending = createEvent('io.scalewise.PendingPodsDetected', d('io.scalewise.PendingPodsDetected'), {
    ...src,
    clusterid: 'local',
    time: tick(),
  });
  const decision = next(pending, 'io.scalewise.ScaleUpDecision');
  const started = next(decision, 'io.scalewise.ScaleUpStarted');
  const created = next(started, 'io.scalewise.NodeCreated');
  const ready = next(created, 'io.scalewise.NodeReady');
  const done = next(ready, 'io.scalewise.ScalingActionCompleted');
  const blocked = next(pending, 'io.scalewise.ScaleDownBlocked');
  return { pending, decision, started, created, ready, done, blocked };
}

const names = (events: { event: ScalewiseEvent }[]) => events.map((l) => shortName(l.event.type));

test('explaining the decision gives its cause, then everything it led to, in order', () => {
  const c = pendingPodsChain();
  const all = Object.values(c).reverse() as AnyScalewiseEvent[];
  const x = explain(c.decision.id, [...all, c.decision]);
  assert.ok(x);
  assert.deepEqual(names(x.chain), PENDING_SCALE_UP_CHAIN);
  assert.deepEqual(
    x.chain.map((l) => l.depth),
    [0, 1, 2, 3, 4, 5],
  );
  assert.equal(x.correlationid, c.pending.id);
  assert.deepEqual(
    x.blocked.map((e) => e.type),
    ['io.scalewise.ScaleDownBlocked'],
  );
  assert.deepEqual(
    x.related.map((e) => e.type),
    ['io.scalewise.ScaleDownBlocked'],
  );
});

test('explaining the result walks back to the root cause', () => {
  const c = pendingPodsChain();
  const x = explain(c.done.id, Object.values(c) as AnyScalewiseEvent[]);
  assert.equal(x?.chain[0]?.event.type, 'io.scalewise.PendingPodsDetected');
  assert.equal(x?.chain.at(-1)?.event.id, c.done.id);
});

test('an unknown id has no explanation; a causation cycle does not loop', () => {
  const c = pendingPodsChain();
  assert.equal(explain('nope', Object.values(c) as AnyScalewiseEvent[]), undefined);
  const a = { ...c.pending, causationid: c.decision.id } as AnyScalewiseEvent;
  const x = explain(c.decision.id, [a, c.decision as AnyScalewiseEvent]);
  assert.equal(x?.chain.length, 2);
});

test('reasons in force: the latest block of each reason before the time asked', () => {
  const c = pendingPodsChain();
  const again = next(c.pending, 'io.scalewise.ScaleDownBlocked');
  const at = Date.parse(again.time);
  const got = reasonsInForce(Object.values({ ...c, again }) as AnyScalewiseEvent[], 'workers', at);
  assert.deepEqual(
    got.map((e) => e.id),
    [again.id],
  );
  assert.deepEqual(reasonsInForce(Object.values(c) as AnyScalewiseEvent[], 'other', at), []);
});

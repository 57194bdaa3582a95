/**
 * Property tests: random floor policies and random sequences of node, action and state
 * events, runtime updates, ticks and junk. After every step the floor's contract must hold.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type EventData, parseData, sampleData } from '@scalewise/events';
import fc from 'fast-check';
import {
  type EnforcerInput,
  type EnforcerIntent,
  type EnforcerState,
  enforce,
  type FloorPoolState,
  headingFor,
  initialEnforcerState,
} from './enforce.ts';
import { defineFloorPolicy, type FloorPolicy } from './policy.ts';

const policyArb: fc.Arbitrary<FloorPolicy> = fc
  .record({
    min: fc.integer({ min: 0, max: 5 }),
    span: fc.integer({ min: 0, max: 6 }),
    autoScaleToMin: fc.boolean(),
    checkIntervalSeconds: fc.integer({ min: 1, max: 30 }),
    emergencyScaleThreshold: fc.integer({ min: 1, max: 4 }),
    emergencyWindowSeconds: fc.integer({ min: 5, max: 120 }),
    actionTimeoutSeconds: fc.integer({ min: 20, max: 600 }),
  })
  .map(({ min, span, ...rest }) =>
    defineFloorPolicy({
      name: 'workers',
      min,
      max: Math.max(1, min + span),
      allowedTriggerSources: ['/ci/*'],
      ...rest,
    }),
  );

type Cmd =
  | { k: 'synced'; workers: number }
  | { k: 'lost'; node: number; remaining: number }
  | { k: 'ready'; pick: number }
  | { k: 'removed'; pick: number }
  | { k: 'started'; pick: number; fresh: boolean; up: boolean; count: number }
  | { k: 'completed'; pick: number; next: number }
  | { k: 'failed'; pick: number }
  | { k: 'update'; min: number | undefined; max: number | undefined; source: string }
  | { k: 'tick' }
  | { k: 'junk'; type: string; data: unknown };

const w = fc.integer({ min: 0, max: 12 });
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('synced' as const), workers: w }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('lost' as const), node: fc.nat(8), remaining: w }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('ready' as const), pick: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('removed' as const), pick: fc.nat(4) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('started' as const),
      pick: fc.nat(4),
      fresh: fc.boolean(),
      up: fc.boolean(),
      count: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('completed' as const), pick: fc.nat(4), next: w }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('failed' as const), pick: fc.nat(4) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('update' as const),
      min: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
      max: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
      source: fc.constantFrom('/ci/a', '/evil'),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ k: 'tick' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('junk' as const),
      type: fc.constantFrom('io.scalewise.NodeReady', 'io.scalewise.ClusterStateSynced', 'tick', 'other'),
      data: fc.anything(),
    }),
  },
);

let seq = 0;
const pickId = (p: FloorPoolState, n: number) =>
  p.inFlight.length > 0 ? p.inFlight[n % p.inFlight.length]!.id : `unknown-${n}`;

function materialise(cmd: Cmd, p: FloorPoolState): EnforcerInput {
  const id = `in-${++seq}`;
  const ev = <T extends keyof typeof sampleData>(
    type: T,
    data: Partial<EventData<T>>,
    source = '/scalewise/test',
  ) => ({ id, type, source, data: { ...sampleData[type], ...data } }) as EnforcerInput;
  switch (cmd.k) {
    case 'synced':
      return ev('io.scalewise.ClusterStateSynced', { workers: cmd.workers });
    case 'lost':
      return ev('io.scalewise.NodeUnexpectedlyLost', {
        node_name: `w-${cmd.node}`,
        remaining_workers: cmd.remaining,
      });
    case 'ready':
      return ev('io.scalewise.NodeReady', { action_id: pickId(p, cmd.pick) });
    case 'removed':
      return ev('io.scalewise.NodeRemoved', { action_id: pickId(p, cmd.pick) });
    case 'started': {
      const actionId = cmd.fresh ? `ext-${seq}` : pickId(p, cmd.pick);
      return cmd.up
        ? ev('io.scalewise.ScaleUpStarted', { action_id: actionId, count: cmd.count })
        : ev('io.scalewise.ScaleDownStarted', { action_id: actionId, count: cmd.count });
    }
    case 'completed':
      return ev('io.scalewise.ScalingActionCompleted', {
        action_id: pickId(p, cmd.pick),
        new_workers: cmd.next,
      });
    case 'failed':
      return ev('io.scalewise.ScalingActionFailed', { action_id: pickId(p, cmd.pick) });
    case 'update':
      return {
        id,
        type: 'io.scalewise.trigger.update',
        source: cmd.source,
        data: { pool: 'workers', min: cmd.min, max: cmd.max },
      } as EnforcerInput;
    case 'tick':
      return { type: 'tick', id };
    case 'junk':
      return { id, type: cmd.type, source: 'x', data: cmd.data } as unknown as EnforcerInput;
  }
}

const seen = new Map<string, number>();

function check(policy: FloorPolicy, steps: Array<[number, Cmd]>): void {
  let state: EnforcerState = initialEnforcerState([policy]);
  let now = Date.parse('2026-11-22T11:00:00Z');
  let inViolation = false;
  let deferred = false;
  for (const [dt, cmd] of steps) {
    now += dt;
    const input = materialise(cmd, state.pools.workers!);
    const before = state.pools.workers!.workers;
    const r = enforce(state, input, now); // must not throw
    const after = r.state.pools.workers!;
    // A drop only ClusterStateSynced reports waits for the next check (its losses may follow);
    // inputs that change nothing leave it waiting.
    const syncedDrop = cmd.k === 'synced' && before !== null && (after.workers ?? 0) < before;
    deferred = syncedDrop || (deferred && r.state === state);
    const events = r.events as EnforcerIntent[];
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'ids unique within a step');
    const floorActions = events.filter(
      (e) => e.type === 'io.scalewise.AutoScaleUpToMinimum' || e.type === 'io.scalewise.EmergencyScaleUp',
    );
    assert.ok(floorActions.length <= 1, 'at most one floor action per pool and step');
    for (const e of events) {
      parseData(e.type, e.data);
      seen.set(e.type, (seen.get(e.type) ?? 0) + 1);
      switch (e.type) {
        case 'io.scalewise.MinimumNodesViolation':
          assert.ok(!inViolation, 'a violation is reported once until restored');
          assert.ok(after.workers !== null && e.data.current_workers < e.data.min_workers);
          inViolation = true;
          break;
        case 'io.scalewise.MinimumNodesRestored':
          assert.ok(inViolation, 'restored only after a violation');
          assert.ok(e.data.current_workers >= e.data.min_workers);
          assert.ok(
            !after.inFlight.some((a) => a.direction === 'up'),
            'restored once no scale-up is in flight',
          );
          inViolation = false;
          break;
        case 'io.scalewise.AutoScaleUpToMinimum':
          assert.ok(policy.autoScaleToMin);
          assert.ok(e.data.current_workers < e.data.min_workers);
          assert.equal(headingFor(after), after.min, 'repairs exactly the deficit not yet in flight');
          break;
        case 'io.scalewise.EmergencyScaleUp':
          assert.ok(policy.autoScaleToMin);
          assert.ok(e.data.lost_count >= policy.emergencyScaleThreshold);
          assert.ok(e.data.remaining_workers < e.data.min_workers);
          assert.ok((headingFor(after) ?? 0) <= after.max, 'never beyond max');
          break;
        default: {
          const unreachable: never = e;
          throw new Error(`unexpected ${JSON.stringify(unreachable)}`);
        }
      }
    }
    // Liveness: below the floor, the repair in flight covers the deficit (unless backing off,
    // or after a drop only ClusterStateSynced reported: the next input or tick that applies repairs).
    if (
      !deferred &&
      policy.autoScaleToMin &&
      after.workers !== null &&
      after.workers < after.min &&
      after.retryAt === null
    ) {
      assert.ok((headingFor(after) ?? 0) >= after.min, 'below min with no repair in flight');
    }
    assert.equal(after.violation !== null, inViolation, 'the violation flag matches the reports');
    state = r.state;
  }
}

describe('enforce: properties over random event sequences', () => {
  test('never throws; outputs validate; violations and restorations alternate; the floor is repaired once, within max', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(
          fc.tuple(fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 60_000 })), cmdArb),
          {
            minLength: 1,
            maxLength: 80,
            size: 'max',
          },
        ),
        check,
      ),
      { numRuns: 400 },
    );
    for (const type of [
      'io.scalewise.MinimumNodesViolation',
      'io.scalewise.AutoScaleUpToMinimum',
      'io.scalewise.EmergencyScaleUp',
      'io.scalewise.MinimumNodesRestored',
    ]) {
      assert.ok((seen.get(type) ?? 0) > 0, `never produced ${type}: ${JSON.stringify([...seen])}`);
    }
  });

  test('enforce never throws on arbitrary values as input', () => {
    const state = initialEnforcerState([defineFloorPolicy({ name: 'workers', min: 2, max: 4 })], {
      workers: 1,
    });
    fc.assert(
      fc.property(fc.anything(), fc.oneof(fc.double(), fc.integer()), (input, now) => {
        for (const e of enforce(state, input as EnforcerInput, now).events) parseData(e.type, e.data);
      }),
      { numRuns: 2000 },
    );
  });
});

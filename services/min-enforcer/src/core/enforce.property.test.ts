/**
 * Property tests: one pool and its ledger, written by the producers at the moment each fact
 * happens (state-sync: losses and listings; node-manager: the starts, node readies,
 * completions and failures of the actions it was given; the decision engine: claims), and
 * min-enforcer reading the published events later, in any order, some more than once, with
 * its periodic checks in between. Each step of the core is given the ledger as it is then
 * and its claim is written back, as the shell's one compare-and-set does.
 *
 * What holds, after every input min-enforcer reads:
 * 1. Numbers: every event states the ledger's numbers at that moment (current_workers and
 *    remaining_workers are workersOf(ledger), min_workers the floor in force); so do the
 *    producers' (remaining_workers after a loss, previous/target_workers at a start,
 *    new_workers at a completion).
 * 2. One action per deficit: at most one floor action per input, issued only when the actions
 *    in flight (a repair or a decision) leave the pool short (desired < min), for what the rule
 *    gives: AutoScaleUpToMinimum min - desired; EmergencyScaleUp, with `threshold` losses in the
 *    window, twice that, cut at max; and claimed in the ledger under its id, so the next input
 *    sees the deficit covered; none within one check interval after a floor action failed (its
 *    time as the ledger has it). "At most one floor action in flight at any time" is not true, and
 *    should not be: a loss after a repair was claimed is a new deficit the first does not cover.
 *    The second property shows the other half: one burst of losses, its events read in any
 *    order, duplicated, with checks in between, is repaired by exactly one action.
 * 3. Never above max: desired <= max (no floor action, decision or node-manager goes beyond it).
 * 4. Liveness: right after a check that is not a redelivery (a tick, an input read the first
 *    time), the pool is at its floor or the actions in flight cover the deficit, unless a failed
 *    floor action is backing off.
 * 5. Violations and restorations alternate; a restoration only at workers >= min with no
 *    scale-up in flight.
 * 6. At the end, once node-manager has finished everything it was given, every event has been
 *    read and a check has run: workers >= min (when the pool acts on violations), <= max,
 *    nothing in flight, the violation closed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type EventData, parseData, sampleData } from '@scalewise/events';
import {
  claim,
  desiredOf,
  emptyLedger,
  inFlightOf,
  type Ledger,
  listed,
  lossesSince,
  recordFacts,
  workersOf,
} from '@scalewise/pool';
import fc from 'fast-check';
import { checkFloorAction, floorTypes } from '../test-support/floor.ts';
import {
  type EnforcerEvent,
  type EnforcerEventType,
  type EnforcerInput,
  type EnforcerIntent,
  type EnforcerState,
  enforce,
  initialEnforcerState,
} from './enforce.ts';
import { defineFloorPolicy, type FloorPolicy } from './policy.ts';

/** Longer than any run below (a few hundred simulated seconds): no action expires mid-run. */
const ACTION_TIMEOUT_S = 900;

const policyArb = (window: fc.Arbitrary<number>): fc.Arbitrary<FloorPolicy> =>
  fc
    .record({
      min: fc.integer({ min: 1, max: 4 }),
      span: fc.integer({ min: 0, max: 3 }),
      autoScaleToMin: fc.constantFrom(true, true, true, false),
      checkIntervalSeconds: fc.integer({ min: 1, max: 10 }),
      emergencyScaleThreshold: fc.integer({ min: 1, max: 3 }),
      emergencyWindowSeconds: window,
    })
    .map(({ min, span, ...rest }) =>
      defineFloorPolicy({
        name: 'workers',
        min,
        max: min + span,
        actionTimeoutSeconds: ACTION_TIMEOUT_S,
        ...rest,
      }),
    );

type Op =
  | { k: 'lose'; pick: number } // state-sync: a member lost (written, published)
  | { k: 'list' } // state-sync: a listing of the world (written, published)
  | { k: 'read'; pick: number } // min-enforcer reads a published event for the first time
  | { k: 'again'; pick: number } // ... or one it read before (a redelivery, a replica's tick)
  | { k: 'tick' } // min-enforcer's periodic check
  | { k: 'nm'; pick: number } // node-manager moves one of its actions one step on
  | { k: 'fail'; pick: number } // node-manager gives one up
  | { k: 'decide'; count: number }; // the decision engine claims a scale-up

const pick = fc.nat(1_000);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('lose' as const), pick }) },
  { weight: 1, arbitrary: fc.constant({ k: 'list' as const }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('read' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('again' as const), pick }) },
  { weight: 2, arbitrary: fc.constant({ k: 'tick' as const }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('nm' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('fail' as const), pick }) },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('decide' as const), count: fc.integer({ min: 1, max: 3 }) }),
  },
);
/** Milliseconds between two steps. */
const dtArb = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 4_000 }));

/** An action node-manager was given (a floor action it read, or a decision). */
interface Job {
  id: string;
  count: number;
  started: boolean;
  joined: number;
  ended: boolean;
}

const T0 = Date.parse('2026-11-22T11:00:00Z');
const seen = new Map<string, number>();

function ev<T extends EnforcerEventType>(type: T, id: string, data: Partial<EventData<T>>): EnforcerEvent {
  return { id, type, source: '/scalewise/test', data: { ...sampleData[type], ...data } } as EnforcerEvent;
}

/** The pool, its producers and min-enforcer, checking the invariants as they go. */
class Sim {
  now = T0;
  ledger: Ledger;
  state: EnforcerState;
  /** The nodes that exist (what a listing shows). */
  readonly world = new Set<string>();
  /** Published, not read yet. */
  readonly published: EnforcerEvent[] = [];
  /** Read at least once: may be read again. */
  readonly delivered: EnforcerInput[] = [];
  readonly jobs = new Map<string, Job>();
  readonly floorActions: EnforcerIntent[] = [];
  inViolation = false;
  private seq = 0;
  private readonly timeoutMs: number;
  private readonly min: number;
  private readonly max: number;

  readonly policy: FloorPolicy;

  constructor(policy: FloorPolicy, initial: number) {
    this.policy = policy;
    this.timeoutMs = policy.actionTimeoutSeconds * 1000;
    // No trigger.update here: the floor in force is the configured one.
    this.min = policy.min;
    this.max = policy.max;
    for (let i = 0; i < initial; i++) this.world.add(`w-${i}`);
    this.ledger = listed(emptyLedger(policy.name), this.listing(), this.now).ledger;
    this.state = initialEnforcerState([policy]);
  }

  private id(what: string): string {
    return `${what}-${++this.seq}`;
  }

  private listing() {
    return [...this.world].sort().map((name) => ({ name, ready: true }));
  }

  /** A producer writes the facts of `e` now and publishes it with the ledger's numbers. */
  private fact(e: EnforcerEvent): EnforcerEvent {
    const before = workersOf(this.ledger);
    const r = recordFacts(this.ledger, [e], this.now, this.timeoutMs);
    this.ledger = r.ledger;
    const out = r.events[0] as EnforcerEvent;
    const after = workersOf(this.ledger);
    switch (out.type) {
      case 'io.scalewise.NodeUnexpectedlyLost':
        assert.equal(out.data.remaining_workers, after, 'a loss states the workers after it');
        break;
      case 'io.scalewise.ScaleUpStarted':
        assert.equal(out.data.previous_workers, before, 'a start states the workers at the start');
        assert.equal(out.data.target_workers, (before ?? 0) + out.data.count);
        break;
      case 'io.scalewise.ScalingActionCompleted':
        assert.equal(out.data.new_workers, after, 'a completion states the workers after it');
        break;
      default:
        break;
    }
    this.published.push(out);
    return out;
  }

  lose(n: number): void {
    const members = [...this.world].sort();
    const node = members[n % members.length];
    if (node === undefined) return;
    this.world.delete(node);
    this.fact(ev('io.scalewise.NodeUnexpectedlyLost', this.id('lost'), { node_name: node }));
  }

  /** state-sync lists the world: writes the listing and the losses it finds, publishes them and the sync. */
  list(): void {
    const l = listed(this.ledger, this.listing(), this.now);
    // Every other change was written as it happened: the listing finds nothing else.
    assert.deepEqual([l.appeared, l.removed], [[], []], 'the simulation keeps the ledger true');
    const losses = recordFacts(
      l.ledger,
      l.lost.map((node) => ev('io.scalewise.NodeUnexpectedlyLost', this.id('lost'), { node_name: node })),
      this.now,
      this.timeoutMs,
    );
    this.ledger = losses.ledger;
    const n = this.world.size;
    for (const e of losses.events) {
      assert.equal((e.data as { remaining_workers: number }).remaining_workers, n);
    }
    this.published.push(
      ...losses.events,
      ev('io.scalewise.ClusterStateSynced', this.id('synced'), {
        workers: n,
        k8s_nodes: n,
        docker_containers: n,
        db_workers: n,
        last_sync: new Date(this.now).toISOString(),
      }),
    );
  }

  decide(count: number): void {
    const desired = desiredOf(this.ledger, this.now) ?? 0;
    const c = Math.min(count, this.max - desired);
    if (c < 1) return;
    const id = this.id('decision');
    this.ledger = claim(this.ledger, {
      id,
      direction: 'up',
      count: c,
      origin: 'decision',
      now: this.now,
      timeoutMs: this.timeoutMs,
    });
    this.jobs.set(id, { id, count: c, started: false, joined: 0, ended: false });
  }

  private open(): Job[] {
    return [...this.jobs.values()].filter((j) => !j.ended);
  }

  /** node-manager moves a job one step on: its start, a node Ready, its completion. */
  step(job: Job): void {
    if (!job.started) {
      job.started = true;
      this.fact(
        ev('io.scalewise.ScaleUpStarted', this.id('started'), { action_id: job.id, count: job.count }),
      );
    } else if (job.joined < job.count) {
      job.joined += 1;
      const node = this.id('n');
      this.world.add(node);
      this.fact(ev('io.scalewise.NodeReady', this.id('ready'), { node_name: node, action_id: job.id }));
    } else {
      this.end(job, 'io.scalewise.ScalingActionCompleted', { count: job.count });
    }
  }

  /** node-manager ends a job, completed or failed, and says so. */
  private end<T extends 'io.scalewise.ScalingActionCompleted' | 'io.scalewise.ScalingActionFailed'>(
    job: Job,
    type: T,
    data: Partial<EventData<T>>,
  ): void {
    job.ended = true;
    const what = type === 'io.scalewise.ScalingActionCompleted' ? 'done' : 'failed';
    this.fact(ev(type, this.id(what), { action_id: job.id, action: 'scale_up', ...data }));
  }

  /** The open action `n` picks, if there is one. */
  private pickOpen(n: number): Job | undefined {
    const open = this.open();
    return open[n % Math.max(1, open.length)];
  }

  nm(n: number): void {
    const job = this.pickOpen(n);
    if (job) this.step(job);
  }

  fail(n: number): void {
    const job = this.pickOpen(n);
    if (job) this.end(job, 'io.scalewise.ScalingActionFailed', { completed_count: job.joined });
  }

  read(n: number): void {
    const [e] = this.published.splice(n % Math.max(1, this.published.length), 1);
    if (e) this.feed(e, true);
  }

  again(n: number): void {
    const e = this.delivered[n % Math.max(1, this.delivered.length)];
    if (e) this.feed(e, false);
  }

  tick(): void {
    this.feed({ type: 'tick', id: this.id('tick') }, true);
  }

  /** min-enforcer reads one input now; the invariants are checked against the ledger it leaves. */
  feed(input: EnforcerInput, first: boolean): void {
    if (first) this.delivered.push(input);
    const { min, max, now, policy } = this;
    const before = this.ledger;
    const desiredBefore = desiredOf(before, now);
    const r = enforce({ ...this.state, ledgers: { [policy.name]: before } }, input, now);
    this.state = r.state;
    this.ledger = r.state.ledgers[policy.name] ?? before;
    const l = this.ledger;
    const workers = workersOf(l);
    const desired = desiredOf(l, now);
    const pool = r.state.pools[policy.name]!;
    const events = r.events as EnforcerIntent[];
    const inFlight = inFlightOf(l, now);
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'ids unique within a step');
    const floor = events.filter((e) => floorTypes.has(e.type));
    assert.ok(floor.length <= 1, 'at most one floor action per input');
    for (const e of events) {
      parseData(e.type, e.data);
      seen.set(e.type, (seen.get(e.type) ?? 0) + 1);
      assert.ok(workers !== null, 'nothing is said before the size is known');
      switch (e.type) {
        case 'io.scalewise.MinimumNodesViolation':
          assert.equal(e.data.current_workers, workers, 'the ledger’s workers');
          assert.equal(e.data.min_workers, min);
          assert.ok(workers < min);
          assert.ok(!this.inViolation, 'a violation is reported once until restored');
          this.inViolation = true;
          break;
        case 'io.scalewise.MinimumNodesRestored':
          assert.equal(e.data.current_workers, workers, 'the ledger’s workers');
          assert.equal(e.data.min_workers, min);
          assert.ok(workers >= min);
          assert.ok(this.inViolation, 'restored only after a violation');
          assert.ok(!inFlight.some((a) => a.direction === 'up'), 'restored with no scale-up in flight');
          this.inViolation = false;
          break;
        case 'io.scalewise.AutoScaleUpToMinimum':
        case 'io.scalewise.EmergencyScaleUp': {
          assert.ok(policy.autoScaleToMin);
          assert.ok(desiredBefore !== null && desiredBefore < min, 'issued only for a deficit not covered');
          for (const a of Object.values(before.actions)) {
            if (a.origin === 'floor' && a.state === 'failed' && a.endedAt !== undefined) {
              assert.ok(now >= a.endedAt + policy.checkIntervalSeconds * 1000, 'backs off after a failure');
            }
          }
          // The deficit itself for an AutoScaleUpToMinimum (desired < min <= max: within max).
          const count = checkFloorAction(e, policy, {
            workers,
            desired: desiredBefore,
            losses: lossesSince(before, now - policy.emergencyWindowSeconds * 1000).length,
          });
          assert.equal(desired, desiredBefore + count, 'claimed in the same step');
          assert.deepEqual(
            inFlight.filter((a) => a.id === e.id).map((a) => [a.origin, a.state, a.count]),
            [['floor', 'claimed', count]],
          );
          this.floorActions.push(e);
          this.jobs.set(e.id, { id: e.id, count, started: false, joined: 0, ended: false });
          break;
        }
        default: {
          const unreachable: never = e;
          throw new Error(`unexpected ${JSON.stringify(unreachable)}`);
        }
      }
    }
    assert.ok(desired === null || desired <= max, `never above max: ${desired} > ${max}`);
    if (first && policy.autoScaleToMin && workers !== null && workers < min && pool.retryAt === null) {
      assert.ok((desired ?? 0) >= min, `below min (${workers} < ${min}) and the deficit not covered`);
    }
    assert.equal(pool.violation !== null, this.inViolation, 'the violation flag matches the reports');
  }

  run(ops: ReadonlyArray<readonly [number, Op]>): void {
    for (const [dt, op] of ops) {
      this.now += dt;
      // Each op is the method of its name, with its argument.
      if (op.k === 'decide') this.decide(op.count);
      else if ('pick' in op) this[op.k](op.pick);
      else this[op.k]();
    }
  }

  /**
   * Every fact in: node-manager finishes what it was given, every event is read, a check runs
   * after any back-off; until nothing is left to do. Then the end state is checked (6).
   */
  settle(): void {
    let rounds = 0;
    for (; rounds < 10; rounds++) {
      this.now += this.policy.checkIntervalSeconds * 1000 + 1;
      this.tick();
      for (const job of this.open()) while (!job.ended) this.step(job);
      for (let e = this.published.shift(); e; e = this.published.shift()) this.feed(e, true);
      if (this.open().length === 0 && inFlightOf(this.ledger, this.now).length === 0) break;
    }
    assert.ok(rounds < 10, 'settles');
    // The last check an interval later: a restoration not said at a completion is said then.
    this.now += this.policy.checkIntervalSeconds * 1000 + 1;
    this.tick();
    const workers = workersOf(this.ledger) ?? 0;
    assert.equal(desiredOf(this.ledger, this.now), workers, 'nothing in flight');
    assert.ok(workers <= this.max);
    if (this.policy.autoScaleToMin) {
      assert.ok(workers >= this.min, `at least at min at the end: ${workers} < ${this.min}`);
      assert.equal(this.inViolation, false);
      assert.equal(this.state.pools[this.policy.name]?.violation, null);
    }
  }
}

describe('enforce: properties over producers writing the ledger and min-enforcer reading late', () => {
  test('numbers are the ledger’s; one floor action per deficit, of the rule’s size, within max; the floor holds at the end', () => {
    fc.assert(
      fc.property(
        policyArb(fc.integer({ min: 5, max: 60 })).chain((policy) =>
          fc.record({
            policy: fc.constant(policy),
            initial: fc.integer({ min: 0, max: policy.max }),
            ops: fc.array(fc.tuple(dtArb, opArb), { minLength: 1, maxLength: 90, size: 'max' }),
          }),
        ),
        ({ policy, initial, ops }) => {
          const sim = new Sim(policy, initial);
          sim.run(ops);
          sim.settle();
        },
      ),
      { numRuns: 300 },
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

  test('one burst of losses, its events read in any order, repeated, with checks between: exactly one repair', () => {
    const readOp: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ k: fc.constant('read' as const), pick }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('again' as const), pick }) },
      { weight: 2, arbitrary: fc.constant({ k: 'tick' as const }) },
      { weight: 3, arbitrary: fc.record({ k: fc.constant('nm' as const), pick }) },
    );
    fc.assert(
      fc.property(
        // A window longer than the run: every loss of the burst counts until the end.
        policyArb(fc.constant(400)).chain((policy) =>
          fc.record({
            policy: fc.constant(policy),
            initial: fc.integer({ min: 1, max: policy.max }),
            lost: fc.integer({ min: 1, max: policy.max }),
            /** Found by one listing, or reported one by one. */
            listing: fc.boolean(),
            gaps: fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 6, maxLength: 6 }),
            ops: fc.array(fc.tuple(fc.integer({ min: 0, max: 3_000 }), readOp), { maxLength: 60 }),
          }),
        ),
        ({ policy, initial, lost, listing, gaps, ops }) => {
          const sim = new Sim(policy, initial);
          const k = Math.min(lost, initial);
          if (listing) {
            sim.now += gaps[0] ?? 0;
            for (let i = 0; i < k; i++) sim.world.delete(`w-${i}`);
            sim.list();
          } else {
            for (let i = 0; i < k; i++) {
              sim.now += gaps[i] ?? 0;
              sim.lose(0);
            }
          }
          sim.run(ops);
          sim.settle();
          const left = initial - k;
          const deficit = policy.min - left;
          if (!policy.autoScaleToMin || deficit < 1) {
            assert.deepEqual(sim.floorActions, []);
            return;
          }
          assert.equal(
            sim.floorActions.length,
            1,
            `one repair: ${sim.floorActions.map((e) => e.id).join(', ')}`,
          );
          const [action] = sim.floorActions;
          if (k >= policy.emergencyScaleThreshold) {
            assert.equal(action?.type, 'io.scalewise.EmergencyScaleUp');
            assert.equal(action.data.emergency_scale, Math.min(2 * deficit, policy.max - left));
          } else {
            assert.equal(action?.type, 'io.scalewise.AutoScaleUpToMinimum');
            assert.equal(action.data.scale_up_count, deficit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('enforce never throws on arbitrary values as input', () => {
    const policy = defineFloorPolicy({ name: 'workers', min: 2, max: 4 });
    const ledger = listed(emptyLedger('workers'), [{ name: 'w-1', ready: true }], T0).ledger;
    const state = initialEnforcerState([policy], { workers: ledger });
    fc.assert(
      fc.property(fc.anything(), fc.oneof(fc.double(), fc.integer()), (input, now) => {
        for (const e of enforce(state, input as EnforcerInput, now).events) parseData(e.type, e.data);
      }),
      { numRuns: 2000 },
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type EventData, parseData, sampleData, shortName } from '@scalewise/events';
import fc from 'fast-check';
import {
  type Action,
  type ActionIntent,
  type Decision,
  type DecisionType,
  type Observation,
  observe,
  outstanding,
  type Step,
  start,
  workerNames,
} from './action.ts';

const T0 = Date.parse('2026-11-22T11:00:00Z');
const at = (s: number) => T0 + s * 1000;
const policy = { readyTimeoutSeconds: 300, drainTimeoutSeconds: 600 };
/** A decision as node-manager reads it: the sample data of its type with `data` laid over it. */
const decided = <T extends DecisionType>(id: string, type: T, data: Partial<EventData<T>>): Decision =>
  ({ id, type, data: { ...sampleData[type], ...data } }) as Decision;
const up = (count = 2, extra: object = {}): Decision =>
  decided('sig-1/ScaleUpDecision', 'io.scalewise.ScaleUpDecision', {
    pool: 'workers',
    current_workers: 3,
    desired_workers: 3 + count,
    count,
    ...extra,
  });
const down = (count = 1): Decision =>
  decided('warn-1/ScaleDownDecision', 'io.scalewise.ScaleDownDecision', {
    pool: 'workers',
    current_workers: 3,
    desired_workers: 3 - count,
    count,
  });
const names = (events: ActionIntent[]) => events.map((e) => shortName(e.type));
function feed(
  step: Step,
  obs: [Observation, number][],
): { action: Action; events: ActionIntent[]; commands: Step['commands'] } {
  let action = step.action as Action;
  const events = [...step.events];
  const commands = [...step.commands];
  for (const [o, t] of obs) {
    const r = observe(action, o, t);
    action = r.action as Action;
    events.push(...r.events);
    commands.push(...r.commands);
  }
  return { action, events, commands };
}
/**
 * A scale-up of `count` whose first two workers `provider` created at 1 s, only the first of
 * them Ready (2 s), then the ticks at `ticks` seconds (the ready deadline is at 300 s).
 */
function firstOfTwoReady(count: number, provider: string, ticks: number[]) {
  const workers = workerNames('workers', 'sig-1/ScaleUpDecision', count) as [string, string, ...string[]];
  const [a, b] = workers;
  const r = feed(start(null, up(count), at(0), policy), [
    [{ kind: 'created', node: a, providerId: 'p', provider }, at(1)],
    [{ kind: 'created', node: b, providerId: 'p', provider }, at(1)],
    [{ kind: 'ready', node: a }, at(2)],
    ...ticks.map((t): [Observation, number] => [{ kind: 'tick' }, at(t)]),
  ]);
  return { r, workers };
}

describe('scale up', () => {
  test('Given ScaleUpDecision for 2, Then started, create 2 named workers, each created then ready, then completed with the duration', () => {
    const s = start(null, up(2), at(0), policy);
    const [a, b] = workerNames('workers', 'sig-1/ScaleUpDecision', 2);
    assert.deepEqual(s.commands, [
      { kind: 'create', pool: 'workers', actionId: 'sig-1/ScaleUpDecision', nodes: [a, b] },
    ]);
    const r = feed(s, [
      [{ kind: 'created', node: a as string, providerId: `kwok://${a}`, provider: 'kwok' }, at(1)],
      [{ kind: 'created', node: b as string, providerId: `kwok://${b}`, provider: 'kwok' }, at(1)],
      [{ kind: 'ready', node: a as string }, at(3)],
      [{ kind: 'ready', node: b as string }, at(4)],
    ]);
    assert.deepEqual(names(r.events), [
      'ScaleUpStarted',
      'NodeCreated',
      'NodeCreated',
      'NodeReady',
      'NodeReady',
      'ScalingActionCompleted',
    ]);
    const done = r.events.at(-1)?.data as { previous_workers: number; new_workers: number; duration: number };
    assert.deepEqual([done.previous_workers, done.new_workers, done.duration], [3, 5, 4]);
    assert.equal(r.action.phase, 'completed');
    for (const e of r.events) parseData(e.type, e.data);
  });

  test('Given a decision naming the zones of its nodes, Then the create command and a restart carry them', () => {
    const s = start(null, up(2, { zones: ['z2', 'z1'] }), at(0), policy);
    const [a, b] = workerNames('workers', 'sig-1/ScaleUpDecision', 2);
    const zones = { [a as string]: 'z2', [b as string]: 'z1' };
    assert.deepEqual(s.commands, [
      { kind: 'create', pool: 'workers', actionId: 'sig-1/ScaleUpDecision', nodes: [a, b], zones },
    ]);
    assert.deepEqual(outstanding(s.action as Action), s.commands);
  });

  test('a redelivered decision finds its action: nothing new; worker names are stable per decision id', () => {
    const s = start(null, up(2), at(0), policy);
    const again = start(s.action, up(2), at(5), policy);
    assert.deepEqual([again.events, again.commands], [[], []]);
    assert.deepEqual(workerNames('workers', 'x', 3), workerNames('workers', 'x', 3));
    assert.notDeepEqual(workerNames('workers', 'x', 1), workerNames('workers', 'y', 1));
    assert.match(workerNames('workers', 'sig-1/ScaleUpDecision', 1)[0] ?? '', /^workers-[0-9a-z]{7}-1$/);
  });

  test('AutoScaleUpToMinimum and EmergencyScaleUp start scale-ups of their counts', () => {
    const floor = decided('f', 'io.scalewise.AutoScaleUpToMinimum', { scale_up_count: 1 });
    const emergency = decided('e', 'io.scalewise.EmergencyScaleUp', { emergency_scale: 2 });
    assert.equal(start(null, floor, at(0), policy).action?.count, 1);
    assert.equal(start(null, emergency, at(0), policy).action?.count, 2);
  });

  test('dry-run decisions start nothing', () => {
    assert.deepEqual(start(null, up(2, { dry_run: true }), at(0), policy), {
      action: null,
      events: [],
      commands: [],
    });
  });

  test('Given one worker never Ready, When the deadline passes, Then failed with TIMEOUT naming it and the completed count', () => {
    const { r, workers } = firstOfTwoReady(2, 'kwok', [100, 300]);
    const b = workers[1];
    const f = r.events.at(-1);
    assert.equal(f?.type, 'io.scalewise.ScalingActionFailed');
    const d = f?.data as { error_code: string; message: string; completed_count: number };
    assert.equal(d.error_code, 'TIMEOUT');
    assert.match(d.message, new RegExp(`${b} \\(created\\)`));
    assert.equal(d.completed_count, 1);
    // Finished: later observations change nothing.
    assert.deepEqual(observe(r.action, { kind: 'ready', node: b }, at(301)).events, []);
  });

  test('Given a worker never Ready, When the deadline passes, Then it is removed and its removal said as not_joined; the Ready one stays', () => {
    const { r, workers } = firstOfTwoReady(2, 'external', [300]);
    const b = workers[1];
    assert.match((r.events.at(-1)?.data as { message: string } | undefined)?.message ?? '', /deleting them$/);
    assert.deepEqual(r.commands.slice(1), [
      { kind: 'remove', pool: 'workers', actionId: 'sig-1/ScaleUpDecision', node: b },
    ]);
    const gone = observe(r.action, { kind: 'removed', node: b, provider: 'external' }, at(301));
    assert.deepEqual(names(gone.events), ['NodeRemoved']);
    const data = gone.events[0]?.data as { node_name: string; reason?: string; action_id: string };
    assert.deepEqual(
      [data.node_name, data.reason, data.action_id],
      [b, 'not_joined', 'sig-1/ScaleUpDecision'],
    );
    for (const e of gone.events) parseData(e.type, e.data);
    assert.equal(gone.action?.phase, 'failed');
    // Said once.
    assert.deepEqual(
      observe(gone.action as Action, { kind: 'removed', node: b, provider: 'external' }, at(302)).events,
      [],
    );
  });

  test('Given a worker never Ready and gone before its cleanup, When the provider finds nothing to delete, Then no NodeRemoved: the loss is not ours', () => {
    const s = start(null, up(1), at(0), policy);
    const [a] = workerNames('workers', 'sig-1/ScaleUpDecision', 1) as [string];
    const r = feed(s, [
      [{ kind: 'created', node: a, providerId: 'p', provider: 'kwok' }, at(1)],
      [{ kind: 'tick' }, at(300)],
    ]);
    assert.deepEqual(r.commands.slice(1), [
      { kind: 'remove', pool: 'workers', actionId: 'sig-1/ScaleUpDecision', node: a },
    ]);
    const gone = observe(r.action, { kind: 'removed', node: a, provider: 'kwok', existed: false }, at(301));
    assert.deepEqual(gone.events, []);
    assert.equal(gone.action?.nodes[a]?.state, 'removed', 'nothing left to delete');
    assert.equal(gone.action?.phase, 'failed');
  });

  test('Given the provider fails the creation, Then the action fails with its reason and the workers asked for are removed, none said removed', () => {
    const s = start(null, up(2), at(0), policy);
    const r = feed(s, [
      [{ kind: 'failed', code: 'PROVISIONER_QUOTA_EXCEEDED', message: 'quota', retriable: false }, at(1)],
    ]);
    const f = r.events.at(-1)?.data as { error_code: string; retriable: boolean; completed_count: number };
    assert.deepEqual(
      [f.error_code, f.retriable, f.completed_count],
      ['PROVISIONER_QUOTA_EXCEEDED', false, 0],
    );
    const removals = r.commands.filter((c) => c.kind === 'remove').map((c) => ('node' in c ? c.node : ''));
    assert.deepEqual(removals, workerNames('workers', 'sig-1/ScaleUpDecision', 2));
    const after = observe(
      r.action,
      { kind: 'removed', node: removals[0] as string, provider: 'external' },
      at(2),
    );
    assert.deepEqual(after.events, []);
    assert.equal(after.action?.nodes[removals[0] as string]?.state, 'removed');
  });

  test('Given worker pods, When the deadline passes, Then nothing is removed by the action (their watch cleans up)', () => {
    const s = start(null, up(1), at(0), { ...policy, workerKind: 'pod' });
    const r = feed(s, [[{ kind: 'tick' }, at(300)]]);
    assert.deepEqual(r.commands.slice(1), []);
  });

  test('NodeReady never comes before NodeCreated', () => {
    const s = start(null, up(1), at(0), policy);
    const [a] = workerNames('workers', 'sig-1/ScaleUpDecision', 1) as [string];
    assert.deepEqual(observe(s.action as Action, { kind: 'ready', node: a }, at(1)).events, []);
  });

  test('after a restart the creation still outstanding is issued again, nothing else', () => {
    const s = start(null, up(2), at(0), policy);
    const [a, b] = workerNames('workers', 'sig-1/ScaleUpDecision', 2) as [string, string];
    const r = feed(s, [[{ kind: 'created', node: a, providerId: 'p', provider: 'kwok' }, at(1)]]);
    assert.deepEqual(outstanding(r.action), [
      { kind: 'create', pool: 'workers', actionId: 'sig-1/ScaleUpDecision', nodes: [b] },
    ]);
  });
  test('after a restart a failed scale-up still deletes the workers that never joined, until each is removed', () => {
    const { r, workers } = firstOfTwoReady(3, 'external', [300]);
    const [, b, c] = workers as [string, string, string];
    assert.equal(r.action.phase, 'failed');
    const remove = (node: string) => ({
      kind: 'remove',
      pool: 'workers',
      actionId: 'sig-1/ScaleUpDecision',
      node,
    });
    // b was created, c asked for (its creation may have happened): both, not the Ready a.
    assert.deepEqual(outstanding(r.action), [remove(b), remove(c)]);
    const one = observe(r.action, { kind: 'removed', node: b, provider: 'external' }, at(301));
    assert.deepEqual(outstanding(one.action as Action), [remove(c)]);
    const both = observe(
      one.action as Action,
      { kind: 'removed', node: c, provider: 'external', existed: false },
      at(302),
    );
    assert.deepEqual(outstanding(both.action as Action), [], 'nothing left: out of the running index');
  });
});

describe('scale down', () => {
  test('Given ScaleDownDecision and a victim, Then started with it, drain, drained -> remove, removed, completed', () => {
    const s = start(null, down(1), at(0), policy, { nodes: ['workers-3'] });
    assert.deepEqual(s.commands, [
      { kind: 'drain', pool: 'workers', actionId: 'warn-1/ScaleDownDecision', node: 'workers-3' },
    ]);
    const r = feed(s, [
      [{ kind: 'drained', node: 'workers-3', evictedPods: 4 }, at(5)],
      [{ kind: 'removed', node: 'workers-3', provider: 'kwok' }, at(6)],
    ]);
    assert.deepEqual(names(r.events), [
      'ScaleDownStarted',
      'NodeDrained',
      'NodeRemoved',
      'ScalingActionCompleted',
    ]);
    assert.deepEqual(r.commands.at(-1), {
      kind: 'remove',
      pool: 'workers',
      actionId: 'warn-1/ScaleDownDecision',
      node: 'workers-3',
    });
    assert.deepEqual((r.events[0]?.data as { nodes?: string[] } | undefined)?.nodes, ['workers-3']);
    assert.equal((r.events.at(-1)?.data as { new_workers?: number } | undefined)?.new_workers, 2);
    for (const e of r.events) parseData(e.type, e.data);
  });

  test('Given no node may go, Then failed at once with the reason', () => {
    const s = start(null, down(1), at(0), policy, {
      nodes: [],
      reason: 'workers-1: scalewise.io/scale-down-disabled',
    });
    assert.deepEqual(names(s.events), ['ScalingActionFailed']);
    assert.match(
      (s.events[0]?.data as { message?: string } | undefined)?.message ?? '',
      /scale-down-disabled/,
    );
    assert.equal(s.action?.phase, 'failed');
  });

  test('Given a drain a PodDisruptionBudget blocks, Then failed with the error and the node uncordoned', () => {
    const s = start(null, down(1), at(0), policy, { nodes: ['workers-3'] });
    const r = feed(s, [
      [
        {
          kind: 'failed',
          node: 'workers-3',
          code: 'PDB_BLOCKED',
          message: 'pdb shop/web allows 0 disruptions',
          retriable: true,
        },
        at(60),
      ],
    ]);
    assert.deepEqual(names(r.events), ['ScaleDownStarted', 'ScalingActionFailed']);
    assert.deepEqual(r.commands.at(-1), {
      kind: 'uncordon',
      pool: 'workers',
      actionId: 'warn-1/ScaleDownDecision',
      node: 'workers-3',
    });
  });

  test('Given one victim drained (its removal issued) when the other fails, Then its removal is still said, the action’s; nothing after', () => {
    const s = start(null, down(2), at(0), policy, { nodes: ['workers-2', 'workers-3'] });
    const r = feed(s, [
      [{ kind: 'drained', node: 'workers-2', evictedPods: 1 }, at(5)],
      [
        { kind: 'failed', node: 'workers-3', code: 'PDB_BLOCKED', message: 'pdb allows 0', retriable: true },
        at(6),
      ],
      [{ kind: 'removed', node: 'workers-2', provider: 'kwok' }, at(7)],
      // Said once; a node never drained is not taken for removed.
      [{ kind: 'removed', node: 'workers-2', provider: 'kwok' }, at(8)],
      [{ kind: 'removed', node: 'workers-3', provider: 'kwok' }, at(9)],
    ]);
    assert.deepEqual(names(r.events), [
      'ScaleDownStarted',
      'NodeDrained',
      'ScalingActionFailed',
      'NodeRemoved',
    ]);
    const removed = r.events.at(-1)?.data as { node_name: string; action_id: string };
    assert.deepEqual([removed.node_name, removed.action_id], ['workers-2', 'warn-1/ScaleDownDecision']);
    assert.equal(r.action.phase, 'failed');
    for (const e of r.events) parseData(e.type, e.data);
  });
});

describe('properties', () => {
  test('whatever the shell reports, in any order: events validate, each node is created/ready/drained/removed at most once, the end is once and only removals follow it', () => {
    const obs = (nodes: string[]) =>
      fc.oneof(
        fc.record({
          kind: fc.constant('created' as const),
          node: fc.constantFrom(...nodes),
          providerId: fc.constant('p'),
          provider: fc.constant('kwok'),
        }),
        fc.record({ kind: fc.constant('ready' as const), node: fc.constantFrom(...nodes) }),
        fc.record({
          kind: fc.constant('drained' as const),
          node: fc.constantFrom(...nodes),
          evictedPods: fc.nat(20),
        }),
        fc.record({
          kind: fc.constant('removed' as const),
          node: fc.constantFrom(...nodes),
          provider: fc.constant('kwok'),
        }),
        fc.constant({ kind: 'tick' as const }),
      );
    const nodes = [...workerNames('workers', 'sig-1/ScaleUpDecision', 3), 'workers-1', 'workers-2'];
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(obs(nodes), fc.integer({ min: 0, max: 700 })), { maxLength: 30 }),
        (isUp, steps) => {
          const s = isUp
            ? start(null, up(3), at(0), policy)
            : start(null, down(2), at(0), policy, { nodes: ['workers-1', 'workers-2'] });
          const r = feed(
            s,
            steps.sort((x, y) => x[1] - y[1]).map(([o, t]) => [o as Observation, at(t)]),
          );
          for (const e of r.events) parseData(e.type, e.data);
          const seen = new Set<string>();
          for (const e of r.events) {
            const n = (e.data as { node_name?: string }).node_name;
            if (!n) continue;
            const key = `${e.type}/${n}`;
            assert.ok(!seen.has(key), `${key} twice`);
            seen.add(key);
          }
          const ends = r.events.filter(
            (e) =>
              e.type === 'io.scalewise.ScalingActionCompleted' ||
              e.type === 'io.scalewise.ScalingActionFailed',
          );
          assert.ok(ends.length <= 1);
          // After the end only the removals it issued may be said (a victim drained before a
          // failure, a worker of a failed scale-up that never joined).
          if (ends.length === 1)
            for (const e of r.events.slice(r.events.indexOf(ends[0] as ActionIntent) + 1))
              assert.equal(e.type, 'io.scalewise.NodeRemoved');
        },
      ),
      { numRuns: 500 },
    );
  });
});

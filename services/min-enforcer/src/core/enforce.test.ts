import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { type EventData, parseData, sampleData } from '@scalewise/events';
import {
  type EnforcerEvent,
  type EnforcerEventType,
  type EnforcerInput,
  type EnforcerIntent,
  type EnforcerState,
  enforce,
  headingFor,
  initialEnforcerState,
} from './enforce.ts';
import { defineFloorPolicy, type FloorPolicy, type FloorPolicyInput, sourceAllowed } from './policy.ts';

const T0 = Date.parse('2026-11-22T11:20:00.000Z');
const at = (s: number) => T0 + s * 1000;
let seq = 0;

const floor = (o: Partial<FloorPolicyInput> = {}): FloorPolicy =>
  defineFloorPolicy({ name: 'workers', min: 2, max: 6, ...o });
function ev<T extends EnforcerEventType>(
  type: T,
  data: Partial<EventData<T>> = {},
  id = `e${++seq}`,
  source = '/scalewise/test',
) {
  return { id, type, source, data: { ...sampleData[type], ...data } } as EnforcerEvent;
}
/** ClusterStateSynced of a snapshot taken at `takenAt` s (default: late, newer than anything read). */
const synced = (workers: number, pool = 'workers', takenAt = 100_000) =>
  ev('io.scalewise.ClusterStateSynced', {
    pool,
    workers,
    k8s_nodes: workers,
    docker_containers: workers,
    db_workers: workers,
    last_sync: new Date(at(takenAt)).toISOString(),
  });
const lost = (node: string, remaining: number) =>
  ev('io.scalewise.NodeUnexpectedlyLost', {
    node_name: node,
    remaining_workers: remaining,
    cause: 'container_crash',
  });
const tick = (): EnforcerInput => ({ type: 'tick', id: `tick-${++seq}` });
const completed = (actionId: string, previous: number, next: number) =>
  ev('io.scalewise.ScalingActionCompleted', {
    action_id: actionId,
    action: 'scale_up',
    count: next - previous,
    previous_workers: previous,
    new_workers: next,
  });
const update = (data: object, source = '/ci/x') =>
  ({
    id: `u${++seq}`,
    type: 'io.scalewise.trigger.update',
    source,
    data: { pool: 'workers', ...data },
  }) as EnforcerEvent;

/** Feeds `[seconds, input]` pairs; returns the state, every event, and the names in order. */
function run(
  policies: FloorPolicy | FloorPolicy[],
  inputs: Array<[number, EnforcerInput]>,
  from?: EnforcerState,
) {
  let state = from ?? initialEnforcerState(Array.isArray(policies) ? policies : [policies]);
  const events: EnforcerIntent[] = [];
  for (const [t, input] of inputs) {
    const r = enforce(state, input, at(t));
    state = r.state;
    events.push(...(r.events as EnforcerIntent[]));
  }
  for (const e of events) parseData(e.type, e.data);
  return { state, events, names: events.map((e) => e.type.replace('io.scalewise.', '')) };
}

function one<T extends EnforcerIntent['type']>(events: readonly EnforcerIntent[], type: T): EventData<T> {
  const found = events.filter((e) => e.type === type);
  assert.equal(found.length, 1, `one ${type} in ${events.map((e) => e.type).join(', ')}`);
  return found[0]!.data as EventData<T>;
}

describe('seed 000 flow 2: minimum node violation recovery', () => {
  test('lost -> Violation, AutoScaleUpToMinimum; started, ready; completed -> Restored; synced -> nothing', () => {
    const p = floor();
    const first = run(p, [
      [0, synced(2)],
      [1, lost('k3s-worker-3', 1)],
    ]);
    assert.deepEqual(first.names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    assert.deepEqual(one(first.events, 'io.scalewise.MinimumNodesViolation'), {
      pool: 'workers',
      current_workers: 1,
      min_workers: 2,
      violation_time: '2026-11-22T11:20:01.000Z',
    });
    assert.deepEqual(one(first.events, 'io.scalewise.AutoScaleUpToMinimum'), {
      pool: 'workers',
      current_workers: 1,
      min_workers: 2,
      scale_up_count: 1,
      reason: 'minimum_violation',
    });
    const actionId = first.events[1]!.id;
    const rest = run(
      p,
      [
        [
          2,
          ev('io.scalewise.ScaleUpStarted', {
            action_id: actionId,
            count: 1,
            previous_workers: 1,
            target_workers: 2,
          }),
        ],
        [10, tick()],
        [20, ev('io.scalewise.NodeReady', { node_name: 'k3s-worker-14', action_id: actionId })],
        [20.5, tick()], // a check between NodeReady and the completion must not restore early
        [21, completed(actionId, 1, 2)],
        [22, synced(2)],
        [30, tick()],
      ],
      first.state,
    );
    assert.deepEqual(rest.names, ['MinimumNodesRestored'], 'restored after the completion, not at NodeReady');
    assert.deepEqual(one(rest.events, 'io.scalewise.MinimumNodesRestored'), {
      pool: 'workers',
      current_workers: 2,
      min_workers: 2,
      restore_time: '2026-11-22T11:20:21.000Z',
      violation_duration: 20,
    });
  });
});

describe('floor actions', () => {
  test('no duplicate while one is in flight: ticks and repeated reports add nothing', () => {
    const { names } = run(floor(), [
      [0, synced(2)],
      [1, lost('w-3', 1)],
      [10, tick()],
      [15, synced(1)],
      [20, tick()],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
  });

  test('scale_up_count = min - workers - in flight (a scale-up of the decision engine counts)', () => {
    const { events } = run(floor({ min: 4 }), [
      [0, synced(4)],
      [1, ev('io.scalewise.ScaleUpStarted', { action_id: 'decision-7', count: 1 })],
      [2, synced(1)],
      [3, tick()],
    ]);
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 2);
  });

  test('an in-flight scale-down counts against the floor once its nodes go', () => {
    const { names, events } = run(floor(), [
      [0, synced(3)],
      [1, ev('io.scalewise.ScaleDownStarted', { action_id: 'd-1', count: 1 })],
      [2, lost('w-2', 2)],
      [3, ev('io.scalewise.NodeRemoved', { node_name: 'w-3', action_id: 'd-1' })],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 1);
  });

  test('a NodeRemoved read after its action completed is not counted twice: no violation at the minimum', () => {
    // The nodes and actions topics are consumed side by side: the completion (new_workers 2)
    // may be read before the NodeRemoved of its node.
    const { names, state } = run(floor(), [
      [0, synced(3)],
      [1, ev('io.scalewise.ScaleDownStarted', { action_id: 'd-1', count: 1 })],
      [
        2,
        ev('io.scalewise.ScalingActionCompleted', {
          action_id: 'd-1',
          action: 'scale_down',
          count: 1,
          previous_workers: 3,
          new_workers: 2,
        }),
      ],
      [2.1, ev('io.scalewise.NodeRemoved', { node_name: 'w-3', action_id: 'd-1' })],
      [3, tick()],
    ]);
    assert.deepEqual(names, []);
    assert.equal(state.pools.workers?.workers, 2);
  });

  test('a scale-down to the minimum whose ClusterStateSynced is read before its NodeRemoved and completion: no violation', () => {
    const { names, state } = run(floor(), [
      [0, synced(3)],
      [1, ev('io.scalewise.ScaleDownStarted', { action_id: 'd-1', count: 1 })],
      [2, synced(2)],
      [
        2.1,
        ev('io.scalewise.ScalingActionCompleted', {
          action_id: 'd-1',
          action: 'scale_down',
          count: 1,
          previous_workers: 3,
          new_workers: 2,
        }),
      ],
      [2.2, ev('io.scalewise.NodeRemoved', { node_name: 'w-3', action_id: 'd-1' })],
      [3, tick()],
    ]);
    assert.deepEqual(names, []);
    assert.equal(state.pools.workers?.workers, 2);
  });

  test('a scale-down to the minimum whose ClusterStateSynced is read between its start and its NodeRemoved: no violation', () => {
    const { names, state } = run(floor(), [
      [0, synced(3)],
      [1, ev('io.scalewise.ScaleDownStarted', { action_id: 'd-1', count: 1 })],
      [2, synced(2)], // the node already gone in this snapshot
      [2.1, ev('io.scalewise.NodeRemoved', { node_name: 'w-3', action_id: 'd-1' })],
      [3, tick()],
    ]);
    assert.deepEqual(names, []);
    assert.equal(state.pools.workers?.workers, 2);
  });

  test('a NodeReady read after its action completed is not counted twice', () => {
    const { state } = run(floor(), [
      [0, synced(2)],
      [1, ev('io.scalewise.ScaleUpStarted', { action_id: 'u-1', count: 1 })],
      [2, completed('u-1', 2, 3)],
      [2.1, ev('io.scalewise.NodeReady', { node_name: 'w-4', action_id: 'u-1' })],
    ]);
    assert.equal(state.pools.workers?.workers, 3);
  });

  test('two repairs side by side: a completion whose new_workers missed the other one starts no second emergency', () => {
    // Seen end to end: a repair and an EmergencyScaleUp, each completed by node-manager with
    // new_workers from its decision's snapshot (the emergency's: 0 + 1 = 1, while 2 exist).
    const burst = run(floor(), [
      [0, synced(2)],
      [1, lost('w-1', 1)],
      [1.1, lost('w-2', 0)],
    ]);
    assert.deepEqual(burst.names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum', 'EmergencyScaleUp']);
    const [repair, emergency] = [burst.events[1]?.id as string, burst.events[2]?.id as string];
    const after = run(
      floor(),
      [
        [2, ev('io.scalewise.ScaleUpStarted', { action_id: repair, count: 1 })],
        [2.1, ev('io.scalewise.ScaleUpStarted', { action_id: emergency, count: 1 })],
        [3, ev('io.scalewise.NodeReady', { node_name: 'w-3', action_id: repair })],
        [3.1, completed(repair, 1, 2)],
        [4, completed(emergency, 0, 1)],
        [4.1, ev('io.scalewise.NodeReady', { node_name: 'w-4', action_id: emergency })],
        [5, tick()],
        // Counts taken on the high side meanwhile are set right by the next sync.
        [6, synced(2)],
        [7, tick()],
      ],
      burst.state,
    );
    assert.deepEqual(after.names, ['MinimumNodesRestored']);
    assert.equal(after.state.pools.workers?.workers, 2);
  });

  test('two lost at once, their ClusterStateSynced read first: the drop waits for the losses, which make it an emergency', () => {
    // state-sync says the losses (nodes topic) and the agreement after them (state topic) in one
    // cycle; min-enforcer reads the two topics side by side.
    const early = run(floor(), [
      [0, synced(2)],
      [1, synced(0)],
    ]);
    assert.deepEqual(early.names, [], 'nothing on the drop alone');
    const { names, events } = run(
      floor(),
      [
        [1.01, lost('w-1', 1)],
        [1.02, lost('w-2', 0)],
      ],
      early.state,
    );
    assert.deepEqual(names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum', 'EmergencyScaleUp']);
    assert.equal(one(events, 'io.scalewise.EmergencyScaleUp').emergency_scale, 1);
    // With no loss to wait for, the next check repairs.
    assert.deepEqual(run(floor(), [[2, tick()]], early.state).names, [
      'MinimumNodesViolation',
      'AutoScaleUpToMinimum',
    ]);
  });

  /** A pool of 2 loses both at once: the repair and the emergency scale-up, both started. */
  const twoLostAndRepairing = () => {
    const burst = run(floor(), [
      [0, synced(2, 'workers', 0)],
      [1, lost('w-1', 1)],
      [1.1, lost('w-2', 0)],
    ]);
    const [repair, emergency] = [burst.events[1]?.id as string, burst.events[2]?.id as string];
    const started = run(
      floor(),
      [
        [2, ev('io.scalewise.ScaleUpStarted', { action_id: repair, count: 1 })],
        [2.1, ev('io.scalewise.ScaleUpStarted', { action_id: emergency, count: 1 })],
      ],
      burst.state,
    );
    return { state: started.state, repair, emergency };
  };

  test('a sync taken before the repair nodes, read after the first completion, starts no second emergency', () => {
    const { state, repair, emergency } = twoLostAndRepairing();
    const after = run(
      floor(),
      [
        [3, completed(repair, 1, 2)],
        [3.1, synced(0, 'workers', 1.2)], // taken at 1.2 s, read now
        [3.2, ev('io.scalewise.NodeReady', { node_name: 'w-3', action_id: repair })],
        [4, completed(emergency, 0, 1)],
        [4.1, ev('io.scalewise.NodeReady', { node_name: 'w-4', action_id: emergency })],
        [5, tick()],
        [6, synced(2)],
      ],
      state,
    );
    assert.deepEqual(after.names, ['MinimumNodesRestored']);
    assert.equal(after.state.pools.workers?.workers, 2);
  });

  test('a sync taken before both repairs completed, read after them, starts no third repair', () => {
    const { state, repair, emergency } = twoLostAndRepairing();
    const after = run(
      floor(),
      [
        [3, completed(repair, 1, 2)],
        [3.2, ev('io.scalewise.NodeReady', { node_name: 'w-3', action_id: repair })],
        [4, completed(emergency, 0, 1)],
        [4.1, ev('io.scalewise.NodeReady', { node_name: 'w-4', action_id: emergency })],
        [4.6, synced(1, 'workers', 2.5)], // taken at 2.5 s, with one new node: read after both completions
        [5, tick()],
      ],
      state,
    );
    assert.deepEqual(after.names, ['MinimumNodesRestored']);
    assert.ok((after.state.pools.workers?.workers ?? 0) >= 2);
    // A snapshot taken after them is the count again.
    const later = run(floor(), [[6, synced(2, 'workers', 5.5)]], after.state);
    assert.equal(later.state.pools.workers?.workers, 2);
    assert.deepEqual(later.names, []);
  });

  test('a floor action lost without completion expires: the next tick repairs again, without a new violation', () => {
    const { names } = run(floor({ actionTimeoutSeconds: 60 }), [
      [0, synced(2)],
      [1, lost('w-3', 1)],
      [50, tick()],
      [61, tick()],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum', 'AutoScaleUpToMinimum']);
  });

  test('a failed floor action is retried after one check interval, not at once', () => {
    const first = run(floor(), [
      [0, synced(2)],
      [1, lost('w-3', 1)],
    ]);
    const id = first.events[1]!.id;
    const failed = ev('io.scalewise.ScalingActionFailed', { action_id: id, action: 'scale_up' });
    const { names } = run(
      floor(),
      [
        [5, failed],
        [6, synced(1)],
        [10, tick()],
        [15, tick()],
      ],
      first.state,
    );
    assert.deepEqual(names, ['AutoScaleUpToMinimum'], 'at 15 s, 10 s after the failure');
  });

  test('autoScaleToMin false: the violation and the restoration are reported, nothing is acted on', () => {
    const { names } = run(floor({ autoScaleToMin: false }), [
      [0, synced(2)],
      [1, lost('w-3', 1)],
      [10, tick()],
      [20, synced(2)],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'MinimumNodesRestored']);
  });

  test('restored waits for the scale-up in flight, or for it to expire', () => {
    const first = run(floor({ actionTimeoutSeconds: 120 }), [
      [0, synced(2)],
      [1, lost('w-3', 1)],
    ]);
    const id = first.events[1]!.id;
    const { names, events } = run(
      floor(),
      [
        [20, ev('io.scalewise.NodeReady', { node_name: 'w-14', action_id: id })],
        [30, tick()],
        [40, synced(2)],
        [130, tick()],
      ],
      first.state,
    );
    assert.deepEqual(names, ['MinimumNodesRestored']);
    assert.equal(one(events, 'io.scalewise.MinimumNodesRestored').restore_time, '2026-11-22T11:22:10.000Z');
  });
});

describe('EmergencyScaleUp', () => {
  test('two nodes lost at once: the seed data (lost 2, remaining 1, min 2, emergency_scale 2)', () => {
    const { names, events } = run(floor(), [
      [0, synced(3)],
      [1, lost('w-2', 2)],
      [1, lost('w-3', 1)],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'EmergencyScaleUp']);
    assert.deepEqual(one(events, 'io.scalewise.EmergencyScaleUp'), {
      pool: 'workers',
      lost_count: 2,
      remaining_workers: 1,
      min_workers: 2,
      emergency_scale: 2,
    });
  });

  test('losses further apart than the window are not an emergency', () => {
    const { names } = run(floor({ emergencyWindowSeconds: 30 }), [
      [0, synced(3)],
      [1, lost('w-2', 2)],
      [40, lost('w-3', 1)],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
  });

  test('a second loss while the first is being repaired: emergency for what is not yet covered', () => {
    const { names, events } = run(floor(), [
      [0, synced(2)],
      [1, lost('w-2', 1)],
      [5, lost('w-1', 0)],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum', 'EmergencyScaleUp']);
    assert.equal(one(events, 'io.scalewise.EmergencyScaleUp').emergency_scale, 1);
  });

  test('the emergency replacement stops at max', () => {
    const { events } = run(floor({ min: 2, max: 4 }), [
      [0, synced(6)],
      [1, lost('a', 5)],
      [1, lost('b', 4)],
      [1, lost('c', 3)],
      [1, lost('d', 2)],
      [1, lost('e', 1)],
    ]);
    assert.equal(one(events, 'io.scalewise.EmergencyScaleUp').emergency_scale, 3);
  });

  test('emergency_scale_threshold 3: two losses are an ordinary violation', () => {
    const { names } = run(floor({ emergencyScaleThreshold: 3 }), [
      [0, synced(3)],
      [1, lost('w-2', 2)],
      [1, lost('w-3', 1)],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
  });

  test('a redelivered loss of the same node is one loss', () => {
    const l = lost('w-3', 1);
    const { names } = run(floor(), [
      [0, synced(2)],
      [1, l],
      [2, l],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
  });

  test('losses above the floor are not the floor’s business', () => {
    const { names } = run(floor(), [
      [0, synced(6)],
      [1, lost('w-5', 5)],
      [1, lost('w-6', 4)],
    ]);
    assert.deepEqual(names, []);
  });
});

describe('limits at run time', () => {
  test('trigger.update raising min above the workers: violation and repair', () => {
    const { events, names } = run(floor(), [
      [0, synced(2)],
      [1, update({ min: 4 })],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'AutoScaleUpToMinimum']);
    assert.equal(one(events, 'io.scalewise.AutoScaleUpToMinimum').scale_up_count, 2);
  });

  test('trigger.update lowering min under the workers ends a violation', () => {
    const { names } = run(floor({ autoScaleToMin: false }), [
      [0, synced(1)],
      [1, update({ min: 1 })],
    ]);
    assert.deepEqual(names, ['MinimumNodesViolation', 'MinimumNodesRestored']);
  });

  test('an update from a source outside the allowlist, or one breaking min <= max, changes nothing', () => {
    const p = floor({ allowedTriggerSources: ['/ci/*'] });
    const { state, names } = run(p, [
      [0, synced(2)],
      [1, update({ min: 4 }, '/evil')],
      [2, update({ min: 7 })],
      [3, update({ min: 3 }, '')],
    ]);
    assert.deepEqual(names, []);
    assert.equal(state.pools.workers!.min, 2);
  });
});

describe('robustness and purity', () => {
  test('before the size is known nothing is decided', () => {
    assert.deepEqual(run(floor(), [[0, tick()]]).names, []);
    assert.deepEqual(run(floor(), [[0, update({ min: 4 })]]).names, []);
  });

  test('a tick checks every pool; ids carry the pool and are unique', () => {
    const gpu = floor({ name: 'gpu', min: 1, max: 2 });
    const s = initialEnforcerState([floor(), gpu], { workers: 1, gpu: 0 });
    const t = tick();
    const r = enforce(s, t, at(0));
    assert.deepEqual(
      r.events.map((e) => e.id),
      [
        `${t.id}/workers/MinimumNodesViolation`,
        `${t.id}/workers/AutoScaleUpToMinimum`,
        `${t.id}/gpu/MinimumNodesViolation`,
        `${t.id}/gpu/AutoScaleUpToMinimum`,
      ],
    );
    assert.ok(r.events.every((e) => e.causedBy === t));
    assert.equal(headingFor(r.state.pools.gpu!), 1);
  });

  test('inputs it cannot use change nothing, and it never throws', () => {
    const s = run(floor(), [[0, synced(2)]]).state;
    const junk: unknown[] = [
      null,
      42,
      { type: 'tick' },
      { type: 'tick', id: '' },
      {
        id: 'x',
        type: 'io.scalewise.PoolMetricsObserved',
        source: 's',
        data: sampleData['io.scalewise.PoolMetricsObserved'],
      },
      { id: 'x', type: 'io.scalewise.NodeReady', source: 's', data: { pool: 'workers' } },
      synced(1, 'elsewhere'),
      synced(1, 'constructor'),
    ];
    for (const input of junk) {
      const r = enforce(s, input as EnforcerInput, at(1));
      assert.equal(r.state, s, JSON.stringify(input));
      assert.deepEqual(r.events, []);
    }
    assert.equal(enforce(s, synced(1), Number.NaN).state, s);
    const below = run(floor(), [[0, synced(1)]]).state;
    assert.deepEqual(enforce(below, tick(), 1e300).events, [], 'a time Date cannot hold');
  });

  test('the input state is never changed', () => {
    const s = run(floor(), [[0, synced(2)]]).state;
    const copy = structuredClone(s);
    const freeze = (o: unknown): void => {
      if (typeof o === 'object' && o !== null) {
        Object.freeze(o);
        for (const v of Object.values(o)) freeze(v);
      }
    };
    freeze(s);
    enforce(s, lost('w-1', 0), at(1));
    enforce(s, tick(), at(2));
    assert.deepEqual(s, copy);
  });

  test('defineFloorPolicy: seed defaults, and errors naming the key', () => {
    const p = defineFloorPolicy({ name: 'workers', min: 2, max: 6 });
    assert.equal(p.checkIntervalSeconds, 10);
    assert.equal(p.emergencyScaleThreshold, 2);
    assert.equal(p.autoScaleToMin, true);
    const cases: Array<[Partial<FloorPolicyInput>, RegExp]> = [
      [{ min: 7 }, /min \(7\) must not exceed max/],
      [{ emergencyScaleThreshold: 0 }, /emergencyScaleThreshold/],
      [{ checkIntervalSeconds: 0 }, /checkIntervalSeconds/],
      [{ name: '' }, /name/],
    ];
    for (const [o, m] of cases) {
      assert.throws(
        () => defineFloorPolicy({ name: 'workers', min: 2, max: 6, ...o }),
        (e: unknown) => e instanceof ScalewiseError && e.code === 'INVALID_CONFIG' && m.test(e.message),
      );
    }
    assert.ok(sourceAllowed('/ci/a', ['/ci/*']) && !sourceAllowed('/cd/a', ['/ci/*']));
  });
});

describe('dry_run pools', () => {
  test('Given a dry-run pool below its floor, When a tick checks, Then the repair is reported marked dry_run, once', () => {
    const state = initialEnforcerState([floor({ dryRun: true })], { workers: 1 });
    const first = enforce(state, tick(), at(0));
    const repair = first.events.find((e) => e.type === 'io.scalewise.AutoScaleUpToMinimum');
    assert.equal(repair?.type, 'io.scalewise.AutoScaleUpToMinimum');
    assert.equal(repair.data.dry_run, true);
    assert.equal(repair.data.scale_up_count, 1);
    parseData(repair.type, repair.data);
    // Tracked like a real one: the next tick does not repeat it.
    assert.deepEqual(enforce(first.state, tick(), at(10)).events, []);
  });

  test('Given a dry-run pool losing two nodes at once, Then EmergencyScaleUp is marked dry_run', () => {
    let state: EnforcerState = initialEnforcerState([floor({ dryRun: true, min: 3 })], { workers: 3 });
    state = enforce(state, lost('a', 2), at(0)).state;
    const { events } = enforce(state, lost('b', 1), at(1));
    const e = events.find((x) => x.type === 'io.scalewise.EmergencyScaleUp');
    assert.equal(e?.type, 'io.scalewise.EmergencyScaleUp');
    assert.equal(e.data.dry_run, true);
  });

  test('Given an ordinary pool, Then floor actions carry no dry_run field', () => {
    const { events } = enforce(initialEnforcerState([floor()], { workers: 1 }), tick(), at(0));
    const repair = events.find((e) => e.type === 'io.scalewise.AutoScaleUpToMinimum');
    assert.equal(repair?.type, 'io.scalewise.AutoScaleUpToMinimum');
    assert.equal(repair.data.dry_run, undefined);
    assert.throws(
      () => defineFloorPolicy({ name: 'p', min: 0, max: 1, dryRun: 1 as unknown as boolean }),
      /dryRun must be a boolean/,
    );
  });
});

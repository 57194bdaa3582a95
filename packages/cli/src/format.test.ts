// What a person reads: event lines, decision numbers, explained chains, the pools table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AnyScalewiseEvent, createEvent, eventTypes, sampleData } from '@scalewise/events';
import { colourEnabled, palette } from './colour.ts';
import {
  formatDecisionNumbers,
  formatEventLine,
  formatPoolExplanation,
  formatStatus,
  summarize,
} from './format.ts';
import { scaleUpChain } from './test-fixtures.ts';

const ESC = '\x1b[';

describe('event lines', () => {
  test('a decision line has time, severity, type, pool and the explanation summary', () => {
    const { decision } = scaleUpChain();
    assert.equal(
      formatEventLine(decision),
      '2026-11-22T11:20:01.000Z  info    ScaleUpDecision          workers      scale up 3 -> 5 (+2), pending_pods: 3 pods pending for 4s; 2 more 4-CPU workers fit them',
    );
  });

  test('a worker pod of a pods pool is called so; a finished one says how it ended and its task', () => {
    const opts = { source: '/t', clusterid: 'c' };
    const ready = createEvent(
      'io.scalewise.NodeReady',
      { ...sampleData['io.scalewise.NodeReady'], node_name: 'otto-1', worker_kind: 'pod' },
      opts,
    );
    assert.match(summarize(ready as AnyScalewiseEvent), /^worker pod otto-1 ready after/);
    const done = createEvent(
      'io.scalewise.NodeRemoved',
      {
        ...sampleData['io.scalewise.NodeRemoved'],
        node_name: 'otto-1',
        provider: 'pods',
        worker_kind: 'pod',
        reason: 'completed',
        pod_phase: 'Succeeded',
        task_id: 'task-123',
      },
      opts,
    );
    assert.equal(
      summarize(done as AnyScalewiseEvent),
      'worker pod otto-1 finished (Succeeded, task task-123) and cleaned up (pods)',
    );
    const node = createEvent('io.scalewise.NodeRemoved', sampleData['io.scalewise.NodeRemoved'], opts);
    assert.match(summarize(node as AnyScalewiseEvent), /^node \S+ removed \(/);
  });

  test('an audit record says who did what to what, how it ended and through which route', () => {
    const opts = { source: '/t', clusterid: 'c', partitionkey: 'scalewise.audit' };
    const http = createEvent('io.scalewise.AuditRecorded', sampleData['io.scalewise.AuditRecorded'], opts);
    assert.equal(
      summarize(http as AnyScalewiseEvent),
      'ops silence.create 6f1c2d9e-5b7a-4c1e-9f0a-2b3c4d5e6f70: succeeded via alert-manager (POST /v1/silences 201)',
    );
    const cli = createEvent(
      'io.scalewise.AuditRecorded',
      {
        actor: 'cli:alice@ops-1',
        principal: 'scalewise-cli',
        action: 'dlq.replay',
        target: 'dlq/scalewise.triggers/2026/11/22/0b7e.json',
        outcome: 'failed',
        reason: 'no such key',
        service: 'scalewise-cli',
        at: '2026-11-22T11:20:00.000Z',
      },
      opts,
    );
    assert.equal(
      summarize(cli as AnyScalewiseEvent),
      'cli:alice@ops-1 [scalewise-cli] dlq.replay dlq/scalewise.triggers/2026/11/22/0b7e.json: failed (no such key) via scalewise-cli',
    );
  });

  test('every catalogue type has a summary of its own, without colour codes', () => {
    for (const type of eventTypes) {
      const e = createEvent(type, sampleData[type] as never, {
        source: '/t',
        clusterid: 'c',
        partitionkey: 'workers',
      });
      const s = summarize(e as AnyScalewiseEvent);
      assert.ok(s.length > 5, `${type}: '${s}'`);
      assert.ok(!s.includes('[object Object]'), `${type}: '${s}'`);
      assert.ok(!s.includes(ESC), type);
    }
  });

  test('numbers that matter are in the summaries', () => {
    const { pending, completed, started } = scaleUpChain();
    assert.equal(summarize(pending), '3 pods pending, longest 4s; requests 6000m CPU, 3 GiB; web');
    assert.equal(summarize(started), 'scale-up started: 3 -> 5 (+2), action evt-decision');
    assert.equal(summarize(completed), 'scale_up completed: 3 -> 5 in 12s');
  });

  test('an event type this CLI does not know is shown by its scalar fields', () => {
    const e = {
      ...scaleUpChain().pending,
      type: 'io.scalewise.SomethingNew.v2',
      data: { pool: 'w', n: 3, ok: true, nested: {} },
    };
    assert.equal(summarize(e as unknown as AnyScalewiseEvent), 'n=3, ok=true');
  });

  test('a replayed event says so', () => {
    const e = { ...scaleUpChain().ready, replayof: '0123456789abcdef' };
    assert.match(formatEventLine(e), /\(replay of 01234567\)$/);
  });

  test('colour: severity coloured on a TTY; none with NO_COLOR, on a pipe or TERM=dumb', () => {
    const { pending } = scaleUpChain();
    const coloured = formatEventLine(pending, palette(true));
    assert.ok(coloured.includes(`${ESC}33mwarning`), coloured);
    assert.equal(colourEnabled(true, {}), true);
    assert.equal(colourEnabled(true, { NO_COLOR: '1' }), false);
    assert.equal(colourEnabled(true, { NO_COLOR: '' }), true);
    assert.equal(colourEnabled(false, {}), false);
    assert.equal(colourEnabled(true, { TERM: 'dumb' }), false);
    assert.equal(colourEnabled(false, { FORCE_COLOR: '1' }), true);
    assert.equal(colourEnabled(true, { FORCE_COLOR: '1', NO_COLOR: 'x' }), false);
  });
});

describe('decision numbers', () => {
  test('rule, inputs, each comparison and the clamping, one line each', () => {
    assert.deepEqual(formatDecisionNumbers(scaleUpChain().decision), [
      'rule pending_pods: 3 pods pending for 4s; 2 more 4-CPU workers fit them',
      'inputs: pending_count=3, requested_cpu_millicores=6000, node_cpu_millicores=4000',
      'compared: pending_count 3 > 0 -> true',
      'clamped: wanted 6, got 5 (by max)',
    ]);
  });

  test('an event without an explanation has no numbers block', () => {
    assert.deepEqual(formatDecisionNumbers(scaleUpChain().ready), []);
  });
});

describe('explain rendering', () => {
  test('the reasons in force and the decisions around a time, (none) when empty', () => {
    const c = scaleUpChain();
    const lines = formatPoolExplanation({
      pool: 'workers',
      at: '2026-11-22T11:21:00.000Z',
      blocked: [],
      decisions: [c.decision],
    });
    assert.equal(lines[0], 'pool workers at 2026-11-22T11:21:00.000Z');
    assert.equal(lines[3], '  (none)');
    assert.match(lines[6] as string, /ScaleUpDecision/);
    assert.match(lines[10] as string, /clamped: wanted 6, got 5 \(by max\)/);
  });
});

describe('status table', () => {
  test('aligned columns, dashes for unknowns, paused and dry-run in the state column', () => {
    const lines = formatStatus([
      {
        pool: 'workers',
        workers: 3,
        desired: 5,
        min: 2,
        max: 6,
        paused: false,
        dry_run: false,
        in_flight: 1,
        hold: { target: 8, trigger_id: 't-1', source: '/ci', state: 'pursued', until: null },
      },
      {
        pool: 'batch-large',
        workers: null,
        desired: null,
        min: 0,
        max: 4,
        paused: true,
        dry_run: true,
        in_flight: 0,
      },
      {
        pool: 'gpu',
        workers: 4,
        desired: 4,
        min: 0,
        max: 4,
        paused: false,
        dry_run: false,
        in_flight: 0,
        hold: {
          target: 4,
          trigger_id: 't-2',
          source: '/ci',
          state: 'held',
          until: '2026-12-04T14:32:10.250Z',
        },
      },
    ]);
    assert.deepEqual(lines, [
      'POOL         WORKERS  DESIRED  MIN  MAX  STATE           IN-FLIGHT  HOLD',
      'workers      3        5        2    6    active          1          8 pursued',
      'batch-large  -        -        0    4    paused,dry-run  0          -',
      'gpu          4        4        0    4    active          0          4 until 14:32:10',
    ]);
  });
});

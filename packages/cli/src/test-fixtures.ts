/**
 * Fixture events for the tests: seed 000's scale-up on pending pods as one causal chain,
 * PendingPodsDetected -> ScaleUpDecision -> ScaleUpStarted -> NodeCreated -> NodeReady ->
 * ScalingActionCompleted, plus a ScaleDownBlocked in the same correlation. Never used by the
 * CLI itself; e2e/'s CLI tests import it as `@scalewise/cli/test-fixtures`.
 */
import assert from 'node:assert/strict';
import {
  type AnyScalewiseEvent,
  causedBy,
  createEvent,
  type EventData,
  type EventType,
} from '@scalewise/events';

const t0 = Date.parse('2026-11-22T11:20:00.000Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();

/** Published by `service`, `s` seconds after t0, with id `id`. */
const by = (service: string, s: number, id: string) => ({ source: `/scalewise/${service}`, time: at(s), id });

/** causedBy with the data last: each step of the chain starts with its parent, type and publisher. */
function next<T extends EventType>(
  parent: AnyScalewiseEvent,
  type: T,
  published: ReturnType<typeof by>,
  data: EventData<T>,
) {
  return causedBy(parent, type, data, published);
}

export function scaleUpChain(pool = 'workers') {
  const pending = createEvent(
    'io.scalewise.PendingPodsDetected',
    {
      pool,
      pending_count: 3,
      waiting_time: 4,
      affected_deployments: ['web'],
      requested_cpu_millicores: 6000,
      requested_memory_bytes: 3 * 1024 ** 3,
    },
    { ...by('metrics-listener', 0, 'evt-pending'), clusterid: 'local' },
  );
  const decision = next(pending, 'io.scalewise.ScaleUpDecision', by('decision-engine', 1, 'evt-decision'), {
    pool,
    current_workers: 3,
    desired_workers: 5,
    count: 2,
    reason: 'pending_pods',
    explanation: {
      rule: 'pending_pods',
      summary: '3 pods pending for 4s; 2 more 4-CPU workers fit them',
      inputs: { pending_count: 3, requested_cpu_millicores: 6000, node_cpu_millicores: 4000 },
      comparisons: [{ metric: 'pending_count', value: 3, operator: '>', threshold: 0, result: true }],
      clamped: { wanted: 6, got: 5, by: 'max' },
    },
  });
  const started = next(decision, 'io.scalewise.ScaleUpStarted', by('node-manager', 2, 'evt-started'), {
    pool,
    action_id: decision.id,
    count: 2,
    previous_workers: 3,
    target_workers: 5,
  });
  const created = next(started, 'io.scalewise.NodeCreated', by('node-manager', 3, 'evt-created'), {
    pool,
    node_name: 'workers-a1',
    provider: 'kwok',
    provider_id: 'kwok://workers-a1',
    action_id: decision.id,
  });
  const ready = next(created, 'io.scalewise.NodeReady', by('node-manager', 9, 'evt-ready'), {
    pool,
    node_name: 'workers-a1',
    action_id: decision.id,
    ready_after: 6,
  });
  const completed = next(
    ready,
    'io.scalewise.ScalingActionCompleted',
    by('node-manager', 12, 'evt-completed'),
    {
      pool,
      action_id: decision.id,
      action: 'scale_up',
      count: 2,
      previous_workers: 3,
      new_workers: 5,
      duration: 12,
    },
  );
  const blocked = next(pending, 'io.scalewise.ScaleDownBlocked', by('decision-engine', 1, 'evt-blocked'), {
    pool,
    reason: 'pending_pods',
    workers: 3,
    min_workers: 2,
    pending_count: 3,
    explanation: {
      rule: 'no_scale_down_while_pending',
      summary: '3 pods pending: no scale-down',
      inputs: { pending_count: 3 },
      comparisons: [{ metric: 'pending_count', value: 3, operator: '>', threshold: 0, result: true }],
    },
  });
  const chain = [pending, decision, started, created, ready, completed] as AnyScalewiseEvent[];
  return {
    pending,
    decision,
    started,
    created,
    ready,
    completed,
    blocked,
    chain,
    all: [...chain, blocked as AnyScalewiseEvent],
  };
}

/**
 * The line of each of `types` (short names) in `lines`, a rendered explanation, asserting that
 * each is there below the heading and that they come in that order; `context` ends the messages.
 */
export function chainPositions(lines: readonly string[], types: readonly string[], context = ''): number[] {
  const positions = types.map((type) => lines.findIndex((l) => l.includes(` ${type} `)));
  assert.ok(
    positions.every((p) => p > 0),
    `all of ${types.length} on the path: ${positions}\n${context}`,
  );
  assert.deepEqual(
    [...positions].sort((a, b) => a - b),
    positions,
    `in causal order\n${context}`,
  );
  return positions;
}

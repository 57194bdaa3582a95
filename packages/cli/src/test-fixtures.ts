/**
 * Fixture events for the tests: seed 000's scale-up on pending pods as one causal chain,
 * PendingPodsDetected -> ScaleUpDecision -> ScaleUpStarted -> NodeCreated -> NodeReady ->
 * ScalingActionCompleted, plus a ScaleDownBlocked in the same correlation. Never used by the
 * CLI itself.
 */
import assert from 'node:assert/strict';
import { type AnyScalewiseEvent, causedBy, createEvent } from '@scalewise/events';

const t0 = Date.parse('2026-11-22T11:20:00.000Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();

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
    { source: '/scalewise/metrics-listener', clusterid: 'local', time: at(0), id: 'evt-pending' },
  );
  const decision = causedBy(
    pending,
    'io.scalewise.ScaleUpDecision',
    {
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
    },
    { source: '/scalewise/decision-engine', time: at(1), id: 'evt-decision' },
  );
  const started = causedBy(
    decision,
    'io.scalewise.ScaleUpStarted',
    { pool, action_id: decision.id, count: 2, previous_workers: 3, target_workers: 5 },
    { source: '/scalewise/node-manager', time: at(2), id: 'evt-started' },
  );
  const created = causedBy(
    started,
    'io.scalewise.NodeCreated',
    {
      pool,
      node_name: 'workers-a1',
      provider: 'kwok',
      provider_id: 'kwok://workers-a1',
      action_id: decision.id,
    },
    { source: '/scalewise/node-manager', time: at(3), id: 'evt-created' },
  );
  const ready = causedBy(
    created,
    'io.scalewise.NodeReady',
    { pool, node_name: 'workers-a1', action_id: decision.id, ready_after: 6 },
    { source: '/scalewise/node-manager', time: at(9), id: 'evt-ready' },
  );
  const completed = causedBy(
    ready,
    'io.scalewise.ScalingActionCompleted',
    {
      pool,
      action_id: decision.id,
      action: 'scale_up',
      count: 2,
      previous_workers: 3,
      new_workers: 5,
      duration: 12,
    },
    { source: '/scalewise/node-manager', time: at(12), id: 'evt-completed' },
  );
  const blocked = causedBy(
    pending,
    'io.scalewise.ScaleDownBlocked',
    {
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
    },
    { source: '/scalewise/decision-engine', time: at(1), id: 'evt-blocked' },
  );
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

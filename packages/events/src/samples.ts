/**
 * One valid data object per event type, typed so that a type added to the catalogue
 * without a sample is a compile error. Used by tests (codec round trips, the bus's
 * broker round trip) and by the docs; never by production code paths.
 */
import type { EventData, EventType } from './catalogue.ts';
import {
  type AnyScalewiseEvent,
  type CreateEventOptions,
  causedBy,
  createEvent,
  type ScalewiseEvent,
} from './envelope.ts';
import { AUDIT_KEY, UNPLACEABLE_KEY } from './schemas.ts';

const at = '2026-11-22T11:20:00.000Z';
const explanation = {
  rule: 'pending_pods',
  summary: '3 pods pending for 4s; 2 more 4-CPU workers fit them',
  inputs: { pending_count: 3, requested_cpu_millicores: 6000, node_cpu_millicores: 4000 },
  comparisons: [{ metric: 'pending_count', value: 3, operator: '>' as const, threshold: 0, result: true }],
};

export const sampleData: { [T in EventType]: EventData<T> } = {
  'io.scalewise.PoolMetricsObserved': {
    pool: 'workers',
    workers: 3,
    ready_workers: 3,
    cpu_avg: 42.5,
    memory_avg: 51,
    pending_pods: 0,
    source: 'requests',
    observed_at: at,
  },
  'io.scalewise.ResourcePressureAlert': {
    pool: 'workers',
    cpu_avg: 91,
    memory_avg: 60,
    workers: 3,
    max_workers: 6,
    resource: 'cpu',
    cpu_threshold: 80,
    memory_threshold: 85,
    duration: 30,
  },
  'io.scalewise.UnderutilizationWarning': {
    pool: 'workers',
    workers: 3,
    min_workers: 2,
    cpu_avg: 12,
    memory_avg: 20,
    duration: 300,
    periods: 10,
    cpu_threshold: 30,
    memory_threshold: 40,
  },
  'io.scalewise.PendingPodsDetected': {
    pool: 'workers',
    pending_count: 3,
    waiting_time: 4,
    affected_deployments: ['default/web'],
    requested_cpu_millicores: 6000,
    requested_memory_bytes: 3 * 2 ** 30,
    largest_pod: { cpu_millicores: 2000, memory_bytes: 2 ** 30 },
    pods: [{ namespace: 'default', name: 'web-7d9c-abcde', reason: 'Unschedulable', waiting_time: 4 }],
    simulation: {
      pool_nodes: 3,
      in_flight_nodes: 0,
      fit_existing: 1,
      new_nodes: 1,
      pods_on_new_nodes: 2,
      expander: 'least_waste',
      template: { cpu_millicores: 4000, memory_bytes: 8 * 2 ** 30, pods: 110 },
      waste: { cpu_percent: 0, memory_percent: 75 },
      new_node_pods: [{ pods: 2 }],
    },
  },
  'io.scalewise.NotTriggerScaleUp': {
    pending_count: 1,
    pods: [
      {
        namespace: 'default',
        name: 'trainer-0',
        owner: 'Job/trainer',
        waiting_time: 12,
        existing_nodes: [
          { constraint: 'node_selector', message: 'node selector: accelerator=h100 not on node', nodes: 3 },
        ],
        pools: [
          {
            pool: 'workers',
            constraint: 'node_selector',
            message: 'node selector: accelerator=h100 not on the template',
          },
        ],
      },
    ],
    summary:
      '1 pod pending that no pool can host: default/trainer-0 (node selector: accelerator=h100 on no pool)',
  },
  'io.scalewise.OptimalStateTrigger': {
    pool: 'workers',
    current_workers: 2,
    min_workers: 2,
    cpu_avg: 10,
    memory_avg: 15,
    state: 'active',
  },
  'io.scalewise.NodeHealthDegraded': {
    pool: 'workers',
    node_name: 'workers-3',
    status: 'NotReady',
    condition: 'Ready=False',
    reason: 'KubeletStopped',
    last_check: at,
  },
  'io.scalewise.NodeUnexpectedlyLost': {
    pool: 'workers',
    node_name: 'workers-2',
    last_seen: at,
    cause: 'node_deleted',
    remaining_workers: 1,
  },
  'io.scalewise.NodeCreated': {
    pool: 'workers',
    node_name: 'workers-4',
    provider: 'kwok',
    provider_id: 'kwok://workers-4',
    action_id: 'decision-1',
  },
  'io.scalewise.NodeReady': {
    pool: 'workers',
    node_name: 'workers-4',
    action_id: 'decision-1',
    ready_after: 1.2,
  },
  'io.scalewise.NodeDrained': {
    pool: 'workers',
    node_name: 'workers-3',
    action_id: 'decision-2',
    evicted_pods: 4,
    duration: 2.5,
  },
  'io.scalewise.NodeRemoved': {
    pool: 'workers',
    node_name: 'workers-3',
    provider: 'kwok',
    action_id: 'decision-2',
  },
  'io.scalewise.ScaleUpDecision': {
    pool: 'workers',
    current_workers: 3,
    desired_workers: 5,
    count: 2,
    reason: 'pending_pods',
    explanation,
  },
  'io.scalewise.ScaleDownDecision': {
    pool: 'workers',
    current_workers: 3,
    desired_workers: 2,
    count: 1,
    reason: 'underutilization',
    explanation: {
      ...explanation,
      rule: 'underutilization',
      summary: 'CPU 12% < 30% and memory 20% < 40% for 300s',
    },
  },
  'io.scalewise.ScaleDownBlocked': {
    pool: 'workers',
    reason: 'pending_pods',
    workers: 3,
    min_workers: 2,
    pending_count: 1,
    explanation: { ...explanation, rule: 'no_scale_down_while_pending', summary: '1 pod pending' },
  },
  'io.scalewise.AutoScaleUpToMinimum': {
    pool: 'workers',
    current_workers: 1,
    min_workers: 2,
    scale_up_count: 1,
    reason: 'minimum_violation',
  },
  'io.scalewise.EmergencyScaleUp': {
    pool: 'workers',
    lost_count: 2,
    remaining_workers: 1,
    min_workers: 2,
    emergency_scale: 2,
  },
  'io.scalewise.TriggerRejected': {
    pool: 'nowhere',
    trigger_id: 'trigger-9',
    trigger_type: 'io.scalewise.trigger.scale',
    trigger_source: '/ci/pipeline',
    reason: 'unknown_pool',
    message: "no pool named 'nowhere'",
  },
  'io.scalewise.TriggerHoldEnded': {
    pool: 'workers',
    trigger_id: 'trigger-7',
    trigger_source: '/ci/pipeline',
    action: 'set',
    target: 8,
    reason: 'expired',
    reached: true,
    held_seconds: 600,
    workers: 8,
    desired_workers: 8,
    message: 'the target of 8 set by /ci/pipeline was held for 600s (trigger_hold_seconds) and is released',
  },
  'io.scalewise.ScaleUpStarted': {
    pool: 'workers',
    action_id: 'decision-1',
    count: 2,
    previous_workers: 3,
    target_workers: 5,
  },
  'io.scalewise.ScaleDownStarted': {
    pool: 'workers',
    action_id: 'decision-2',
    count: 1,
    previous_workers: 3,
    target_workers: 2,
    nodes: ['workers-3'],
  },
  'io.scalewise.ScalingActionCompleted': {
    pool: 'workers',
    action_id: 'decision-2',
    action: 'scale_down',
    count: 1,
    previous_workers: 3,
    new_workers: 2,
    duration: 3.1,
  },
  'io.scalewise.ScalingActionFailed': {
    pool: 'workers',
    action_id: 'decision-1',
    action: 'scale_up',
    error_code: 'KUBERNETES_API',
    message: 'the API server refused the node: 403',
    retriable: false,
    attempts: 3,
    completed_count: 1,
    duration: 7,
  },
  'io.scalewise.ClusterStateSynced': {
    pool: 'workers',
    k8s_nodes: 2,
    docker_containers: 2,
    db_workers: 2,
    workers: 2,
    last_sync: at,
  },
  'io.scalewise.StateDriftDetected': {
    pool: 'workers',
    k8s_nodes: 2,
    docker_containers: 3,
    db_workers: 2,
    drift: [{ kind: 'instance_without_node', name: 'workers-5' }],
    repaired: true,
  },
  'io.scalewise.MinimumNodesViolation': {
    pool: 'workers',
    current_workers: 1,
    min_workers: 2,
    violation_time: at,
  },
  'io.scalewise.MinimumNodesRestored': {
    pool: 'workers',
    current_workers: 2,
    min_workers: 2,
    restore_time: at,
    violation_duration: 6,
  },
  'io.scalewise.CircuitBreakerStateChanged': {
    service: 'decision-engine',
    breaker: 'redis',
    state: 'open',
    previous: 'closed',
    changed_at: at,
  },
  'io.scalewise.DeadLetterRecorded': {
    bucket: 'scalewise-dlq',
    key: 'dlq/scalewise.triggers/2026/11/22/0b7e.json',
    topic: 'scalewise.triggers',
    partition: 0,
    offset: '42',
    consumer_group: 'decision-engine',
    service: 'decision-engine',
    error_code: 'MALFORMED_RECORD',
    reason: 'value is not valid JSON',
    attempts: 1,
  },
  'io.scalewise.AuditRecorded': {
    actor: 'ops',
    action: 'silence.create',
    target: '6f1c2d9e-5b7a-4c1e-9f0a-2b3c4d5e6f70',
    outcome: 'succeeded',
    service: 'alert-manager',
    request: {
      id: 'req-7',
      method: 'POST',
      route: '/v1/silences',
      status: 201,
      remote_address: '10.0.3.17',
    },
    details: { pools: ['workers'], ends_at: at },
    at,
  },
  'io.scalewise.trigger.scale': {
    pool: 'workers',
    action: 'scale_up',
    count: 3,
    reason: 'nightly batch',
    task_id: 'task-123',
  },
  'io.scalewise.trigger.pause': { pool: 'workers', reason: 'maintenance' },
  'io.scalewise.trigger.resume': { pool: 'workers' },
  'io.scalewise.trigger.update': { pool: 'workers', min: 2, max: 8 },
};

/** One valid event per catalogue type (DeadLetterRecorded keyed by its source topic). */
export function sampleEvents(options: { source?: string; clusterid?: string } = {}): ScalewiseEvent[] {
  return (Object.keys(sampleData) as EventType[]).map((type) =>
    createEvent(type, sampleData[type] as EventData<typeof type>, {
      source: options.source ?? '/scalewise/test',
      clusterid: options.clusterid ?? 'local',
      ...(type === 'io.scalewise.DeadLetterRecorded' ? { partitionkey: 'scalewise.triggers' } : {}),
      ...(type === 'io.scalewise.CircuitBreakerStateChanged' ? { partitionkey: 'decision-engine' } : {}),
      ...(type === 'io.scalewise.NotTriggerScaleUp' ? { partitionkey: UNPLACEABLE_KEY } : {}),
      ...(type === 'io.scalewise.AuditRecorded' ? { partitionkey: AUDIT_KEY } : {}),
    }),
  );
}

/**
 * An event of `type` carrying its sample data with `data` on top: how tests make the events
 * they feed. The options are createEvent's; the source defaults to `/scalewise/test`.
 * @throws ScalewiseError SCHEMA_VIOLATION when the data does not fit the type.
 */
export function sampleEvent<T extends EventType>(
  type: T,
  data: Partial<EventData<T>>,
  options: Omit<CreateEventOptions, 'source'> & { source?: string },
): AnyScalewiseEvent {
  return createEvent(type, { ...sampleData[type], ...data } as EventData<T>, {
    source: '/scalewise/test',
    ...options,
  }) as AnyScalewiseEvent;
}

/**
 * An event of `type` carrying its sample data with `data` on top, caused by `parent` (its
 * correlation, its cluster and partition key unless the options give them): how tests make
 * the next event of a chain, as {@link sampleEvent} makes the first. The options are
 * causedBy's; the source defaults to `/scalewise/test`.
 * @throws ScalewiseError SCHEMA_VIOLATION when the data does not fit the type.
 */
export function sampleChild<T extends EventType>(
  parent: ScalewiseEvent,
  type: T,
  data: Partial<EventData<T>> = {},
  options: Partial<Omit<CreateEventOptions, 'correlationid' | 'causationid'>> = {},
): AnyScalewiseEvent {
  return causedBy(parent, type, { ...sampleData[type], ...data } as EventData<T>, {
    source: '/scalewise/test',
    ...options,
  }) as AnyScalewiseEvent;
}

/**
 * Data schemas of every Scalewise event: the only place an event's shape is written.
 * Each event's schema is a function that builds it: the catalogue builds it on first use
 * (catalogue.ts), so that a service holds only the schemas of the types it handles. All 31
 * built at import cost a bundled service 1.5 MiB of RSS (0.5 MiB of heap) for nothing
 * (bench/README.md). The small pieces several events share are built once, here.
 * Units are explicit and uniform: percentages are numbers 0-100, durations are seconds,
 * times are RFC 3339 strings, CPU is in millicores and memory in bytes.
 */
import { z } from 'zod';

const pool = z.string().min(1).max(63).describe('the pool the event is about (also the partition key)');
const percent = z.number().min(0).max(100).describe('percent, 0-100');
const seconds = z.number().min(0).describe('seconds');
const count = z.number().int().min(0);
const timestamp = z.iso.datetime({ offset: true }).describe('RFC 3339 time');
const nodeName = z.string().min(1).max(253);
/** The id of the decision event an action carries out (node-manager keys actions by it). */
const actionId = z.string().min(1).describe('id of the decision event this action carries out');
/** What a worker is; absent means a node (providers kwok, docker, ...). */
const workerKind = z
  .enum(['node', 'pod'])
  .optional()
  .describe('pod: a worker Pod of a pods pool (node_name is the pod name); absent: a node');
/** A decision or repair the pool's dry-run mode keeps from being carried out. */
const dryRun = z
  .boolean()
  .optional()
  .describe('the pool is in dry-run mode: reported only, node-manager does not act on it');

/** A number the rule compared, and how. */
export const comparisonSchema = z.object({
  metric: z.string().min(1),
  value: z.number(),
  operator: z.enum(['>', '>=', '<', '<=', '==', '!=']),
  threshold: z.number(),
  result: z.boolean(),
});

/** Why a decision was taken: the inputs it saw, the rule that fired, the numbers it compared. */
export const explanationSchema = z.object({
  rule: z.string().min(1).describe('the rule that fired, e.g. pending_pods, resource_pressure, min_floor'),
  summary: z.string().min(1).describe('one sentence a person can read'),
  inputs: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  comparisons: z.array(comparisonSchema),
  clamped: z
    .object({ wanted: z.number(), got: z.number(), by: z.string() })
    .optional()
    .describe('set when min/max, a rate policy or a stabilisation window changed the result'),
});

const scaleAction = z.enum(['scale_up', 'scale_down']);

/**
 * What a pool's external metric (a Prometheus query, like KEDA's prometheus trigger) asks for:
 * `desired_workers` is `ceil(value / threshold)` (metric_type AverageValue, the default) or
 * `ceil(workers * value / threshold)` (Value); 0 while value <= activation_threshold.
 */
export const metricDemand = z.object({
  name: z.string().min(1).describe('the metric as the pool config names it'),
  query: z.string().min(1).describe('the PromQL query'),
  value: z.number(),
  threshold: z.number().positive().describe('the metric one worker takes'),
  activation_threshold: z.number().min(0),
  metric_type: z.enum(['AverageValue', 'Value']),
  active: z.boolean().describe('value > activation_threshold'),
  desired_workers: count.describe('the workers the metric asks for'),
});

export const poolMetricsObserved = () =>
  z.object({
    pool,
    workers: count,
    ready_workers: count,
    cpu_avg: percent,
    memory_avg: percent,
    pending_pods: count,
    source: z.enum(['metrics-server', 'requests', 'prometheus']),
    observed_at: timestamp,
    /**
     * pod: a pods pool, whose workers are worker Pods (counted here, Running ones ready); their
     * CPU and memory are not measured (0). Absent: nodes. Optional, added compatibly.
     */
    worker_kind: workerKind,
    /** The pool's Prometheus query this sample, when the pool has one (optional, added compatibly). */
    metric: metricDemand
      .extend({
        value: z.number().nullable().describe('null when the query gave no value (see error)'),
        error: z.string().optional().describe('why the query gave no value'),
      })
      .optional(),
  });

export const resourcePressureAlert = () =>
  z.object({
    pool,
    cpu_avg: percent,
    memory_avg: percent,
    workers: count,
    max_workers: count,
    /** `metric`: only the pool's external metric is above its target, CPU and memory are not. */
    resource: z.enum(['cpu', 'memory', 'both', 'metric']),
    cpu_threshold: percent,
    memory_threshold: percent,
    duration: seconds,
    /** Set when the pool's external metric asks for more workers than it has (optional, added compatibly). */
    metric: metricDemand.optional(),
    /**
     * Headroom as the scheduling simulation sizes it (optional, added compatibly): room for one
     * node's worth (`wanted`: the pool's pods per Ready node) of pods shaped like its typical
     * pod (the median by CPU of the pods on its nodes): how many fit its nodes now, and how many
     * new nodes of its template give room for the rest.
     */
    headroom: z
      .object({
        typical_pod: z.object({ cpu_millicores: count, memory_bytes: count }),
        wanted: z.number().int().min(1),
        fit_now: count,
        new_nodes: count,
      })
      .optional(),
  });

/** A constraint of the scheduling simulation (packages/scheduling): a predicate or a rule of scale-up or removal. */
const constraint = z.enum([
  'resources',
  'node_unschedulable',
  'node_selector',
  'node_affinity',
  'taints',
  'pod_affinity',
  'pod_anti_affinity',
  'topology_spread',
  'host_ports',
  'pool_max',
  'pdb',
  'not_evictable',
  'headroom',
]);

/** Why the simulation keeps a node: the pod and the constraint (absent pod: the node itself, e.g. headroom). */
const blockedNode = z.object({
  node: nodeName,
  pod: z.string().optional().describe('namespace/name of the pod that cannot move'),
  constraint,
  message: z.string().min(1),
});

export const underutilizationWarning = () =>
  z.object({
    pool,
    workers: count,
    min_workers: count,
    cpu_avg: percent,
    memory_avg: percent,
    duration: seconds.describe('how long the condition has held'),
    periods: count.describe('consecutive sample periods the condition held'),
    cpu_threshold: percent,
    memory_threshold: percent,
    /**
     * The scheduling simulation's scale-down pass (added compatibly): the pool's nodes whose
     * requested CPU and memory have been under the low thresholds for the periods, which of
     * them can go (every pod placed elsewhere under the scheduler's predicates and the PDBs, one
     * removal after another), and which must stay and why. Absent: pool averages only.
     */
    simulation: z
      .object({
        candidate_nodes: count.describe('nodes under the low thresholds for the configured periods'),
        removable_nodes: z
          .array(
            z.object({
              node: nodeName,
              cpu_percent: percent.describe('requested CPU of the node, percent of its allocatable'),
              memory_percent: percent,
              pods: count.describe('pods that move elsewhere (DaemonSet and mirror pods aside)'),
            }),
          )
          .describe('in the order they should go'),
        blocked_nodes: z.array(blockedNode).max(50),
      })
      .optional(),
  });

export const pendingPodsDetected = () =>
  z.object({
    pool,
    pending_count: z.number().int().min(1),
    waiting_time: seconds.describe('how long the longest-waiting pod has been pending'),
    affected_deployments: z.array(z.string()),
    requested_cpu_millicores: count.describe('sum of the pending pods’ CPU requests'),
    requested_memory_bytes: count.describe('sum of the pending pods’ memory requests'),
    largest_pod: z.object({ cpu_millicores: count, memory_bytes: count }).optional(),
    pods: z
      .array(z.object({ namespace: z.string(), name: z.string(), reason: z.string(), waiting_time: seconds }))
      .max(50)
      .optional(),
    /**
     * The scheduling simulation's answer for this pool (added compatibly): the pods above are
     * the ones it placed on this pool's nodes, existing, in flight or new. The decision-engine
     * sizes the scale-up from `new_nodes` (absent: from the summed requests, as before).
     */
    simulation: z
      .object({
        pool_nodes: count.describe(
          "the pool's nodes the simulation saw, Ready or in flight (created, not Ready)",
        ),
        in_flight_nodes: count.describe('of those, created and not Ready yet'),
        fit_existing: count.describe(
          "pods that fit on the pool's existing or in-flight nodes: nothing to buy for them",
        ),
        unplaceable: count
          .optional()
          .describe(
            'pods that name this pool (its label in their nodeSelector) that no node can host (also in NotTriggerScaleUp): counted as waiting for the pool, they hold its scale-down, and buy nothing',
          ),
        new_nodes: count.describe("new nodes of the pool's template the other pods need"),
        pods_on_new_nodes: count,
        expander: z.enum(['least_waste', 'priority']),
        template: z.object({
          cpu_millicores: count,
          memory_bytes: count,
          pods: count,
          zones: z.array(z.string()).optional(),
        }),
        waste: z
          .object({ cpu_percent: percent, memory_percent: percent })
          .describe("unrequested share of the new nodes' CPU and memory"),
        new_node_pods: z
          .array(z.object({ zone: z.string().optional(), pods: count }))
          .max(100)
          .optional()
          .describe('pods placed on each new node (up to 100 nodes)'),
        action_nodes: z
          .record(z.string(), count)
          .optional()
          .describe(
            "of pool_nodes, how many each recent scale-up action made (by node-manager's action id on the node): what the decision-engine's actions in flight have already delivered",
          ),
      })
      .optional(),
  });

/**
 * Pods that wait and that no pool can host (the Cluster Autoscaler's NotTriggerScaleUp): no
 * existing node takes them and no pool's template would, or every pool that would is at its
 * max. They grow nothing; each says why per pool.
 */
/** The partition key of NotTriggerScaleUp: its pods belong to no pool. */
export const UNPLACEABLE_KEY = 'scalewise.unplaceable';

export const notTriggerScaleUp = () =>
  z.object({
    pending_count: z.number().int().min(1),
    pods: z
      .array(
        z.object({
          namespace: z.string(),
          name: z.string(),
          owner: z.string().optional(),
          waiting_time: seconds,
          existing_nodes: z
            .array(z.object({ constraint, message: z.string(), nodes: count }))
            .max(5)
            .describe('why the existing nodes refused it, most common first, with how many nodes each'),
          pools: z.array(z.object({ pool, constraint, message: z.string() })),
        }),
      )
      .max(50),
    summary: z.string().min(1),
  });

export const optimalStateTrigger = () =>
  z.object({
    pool,
    current_workers: count,
    min_workers: count,
    cpu_avg: percent,
    memory_avg: percent,
    state: z
      .enum(['anticipated', 'active'])
      .describe('anticipated: would hold after a scale-down; active: holds now'),
  });

export const nodeHealthDegraded = () =>
  z.object({
    pool,
    node_name: nodeName,
    status: z.string().min(1).describe('e.g. NotReady, MemoryPressure'),
    condition: z.string().min(1),
    reason: z.string().optional(),
    message: z.string().optional(),
    last_check: timestamp,
  });

export const nodeUnexpectedlyLost = () =>
  z.object({
    pool,
    node_name: nodeName,
    last_seen: timestamp,
    cause: z.enum(['node_deleted', 'container_crash', 'instance_gone', 'not_ready_timeout', 'unknown']),
    remaining_workers: count,
  });

export const nodeCreated = () =>
  z.object({
    pool,
    node_name: nodeName,
    provider: z.string().min(1),
    provider_id: z.string().min(1),
    action_id: actionId,
    worker_kind: workerKind,
  });

export const nodeReady = () =>
  z.object({
    pool,
    node_name: nodeName,
    action_id: actionId,
    ready_after: seconds,
    worker_kind: workerKind,
  });

export const nodeDrained = () =>
  z.object({
    pool,
    node_name: nodeName,
    action_id: actionId,
    evicted_pods: count,
    duration: seconds,
    worker_kind: workerKind,
  });

export const nodeRemoved = () =>
  z.object({
    pool,
    node_name: nodeName,
    provider: z.string().min(1),
    action_id: actionId.describe(
      'the scale-down that removed the worker; for a finished worker pod, the scale-up that created it',
    ),
    worker_kind: workerKind,
    reason: z
      .enum(['scale_down', 'completed', 'not_joined'])
      .optional()
      .describe(
        'completed: a worker pod that finished its task was cleaned up; not_joined: a worker of a failed scale-up that was not Ready by its deadline was deleted (absent: scale_down)',
      ),
    pod_phase: z.enum(['Succeeded', 'Failed']).optional().describe('how a completed worker pod ended'),
    task_id: z
      .string()
      .max(253)
      .optional()
      .describe("the task a completed worker pod carried (trigger's task_id)"),
  });

/** What a scale-up and a scale-down decision both say, in this order; `reason` differs. */
const decision = <R extends z.ZodType>(reason: R) => ({
  pool,
  current_workers: count,
  desired_workers: count,
  count: z.number().int().min(1),
  reason,
  explanation: explanationSchema,
  dry_run: dryRun,
});

export const scaleUpDecision = () =>
  z.object({
    ...decision(z.enum(['pending_pods', 'resource_pressure', 'trigger', 'external_metric'])),
    zones: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'the zone of each new node, as the scheduling simulation placed the pending pods (a pool with zones): the provider creates them there',
      ),
  });

export const scaleDownDecision = () =>
  z.object({
    ...decision(z.enum(['underutilization', 'trigger', 'external_metric'])),
    nodes: z
      .array(nodeName)
      .optional()
      .describe(
        'the nodes the simulation found removable, in order: node-manager removes these (re-checked on fresh state) and no others',
      ),
  });

export const scaleDownBlocked = () =>
  z.object({
    pool,
    reason: z.enum([
      'pending_pods',
      'node_unhealthy',
      'action_in_flight',
      'at_minimum',
      'cooldown',
      'stabilization_window',
      'rate_limited',
      'paused',
      'policy_disabled',
      'pods_cannot_move',
      'trigger_hold',
    ]),
    workers: count,
    min_workers: count,
    pending_count: count.optional(),
    blocked_nodes: z
      .array(blockedNode)
      .max(50)
      .optional()
      .describe('pods_cannot_move: each under-used node that must stay, with the pod and the constraint'),
    unhealthy_nodes: z.array(z.string()).optional(),
    in_flight_action_id: z.string().optional(),
    trigger_id: z.string().optional().describe('trigger_hold: the trigger whose target holds the pool'),
    retry_after: seconds.optional().describe('when the block is time-based: seconds until it lifts'),
    explanation: explanationSchema,
  });

export const autoScaleUpToMinimum = () =>
  z.object({
    pool,
    current_workers: count,
    min_workers: count,
    scale_up_count: z.number().int().min(1),
    reason: z.literal('minimum_violation'),
    dry_run: dryRun,
  });

export const emergencyScaleUp = () =>
  z.object({
    pool,
    lost_count: z.number().int().min(1),
    remaining_workers: count,
    min_workers: count,
    emergency_scale: z.number().int().min(1),
    target_workers: count
      .optional()
      .describe(
        'the size the repair brings the pool to: its workers, plus what is in flight, plus emergency_scale',
      ),
    rule: z
      .string()
      .max(500)
      .optional()
      .describe(
        'why this many: the losses counted, the window, the threshold and the deficit doubled (seed 000)',
      ),
    dry_run: dryRun,
  });

export const triggerRejected = () =>
  z.object({
    pool: z.string().optional().describe('absent when the trigger named no pool'),
    trigger_id: z.string().min(1),
    trigger_type: z.string().min(1),
    trigger_source: z.string().min(1),
    reason: z
      .enum(['unknown_pool', 'out_of_range', 'source_not_allowed', 'invalid', 'paused', 'wrong_cluster'])
      .describe("wrong_cluster: the trigger's clusterid names another cluster (docs/triggers.md)"),
    message: z.string().min(1),
  });

export const triggerHoldEnded = () =>
  z.object({
    pool,
    trigger_id: z.string().min(1),
    trigger_source: z.string().min(1),
    action: z.enum(['set', 'scale_up', 'scale_down']),
    target: count.describe('the size the trigger asked for'),
    reason: z
      .enum(['expired', 'replaced', 'action_failed', 'limits_changed', 'overruled'])
      .describe(
        'expired: held for trigger_hold_seconds after the pool reached the target; replaced: a newer scale trigger; action_failed: an action taken for it failed; limits_changed: min/max moved the target out of range; overruled: pods needed the pool to grow past a scale-down target',
      ),
    reached: z.boolean().describe('the pool reached the target before the hold ended'),
    held_seconds: seconds.describe('how long the target was held after it was reached (0 if never)'),
    workers: count.describe("the pool's workers when the hold ended (the ledger's)"),
    desired_workers: count.describe('the size the pool heads for when the hold ended'),
    replaced_by: z.string().min(1).optional().describe('replaced: the newer trigger id'),
    failed_action_id: z.string().min(1).optional().describe('action_failed: the action that failed'),
    message: z.string().min(1),
  });

/** What a scale-up and a scale-down say when node-manager starts them. */
const actionStarted = () => ({
  pool,
  action_id: actionId,
  count: z.number().int().min(1),
  previous_workers: count,
  target_workers: count,
});

export const scaleUpStarted = () => z.object(actionStarted());

export const scaleDownStarted = () =>
  z.object({
    ...actionStarted(),
    nodes: z.array(nodeName).describe('the victims chosen'),
  });

export const scalingActionCompleted = () =>
  z.object({
    pool,
    action_id: actionId,
    action: scaleAction,
    count: count,
    previous_workers: count,
    new_workers: count,
    duration: seconds,
  });

export const scalingActionFailed = () =>
  z.object({
    pool,
    action_id: actionId,
    action: scaleAction,
    error_code: z.string().min(1),
    message: z.string(),
    retriable: z.boolean(),
    attempts: z.number().int().min(1),
    completed_count: count.describe('nodes created or removed before the failure'),
    duration: seconds,
  });

const stateCounts = {
  k8s_nodes: count.describe('worker nodes the Kubernetes API lists for the pool'),
  docker_containers: count.describe(
    "instances the pool's provider lists (containers, simulated nodes or pods)",
  ),
  db_workers: count.describe('workers in the state store'),
};

export const clusterStateSynced = () =>
  z.object({
    pool,
    ...stateCounts,
    workers: count,
    last_sync: timestamp,
  });

export const stateDriftDetected = () =>
  z.object({
    pool,
    ...stateCounts,
    drift: z
      .array(
        z.object({
          kind: z.enum(['node_without_instance', 'instance_without_node', 'state_stale']),
          name: z.string(),
        }),
      )
      .min(1),
    repaired: z.boolean(),
  });

export const minimumNodesViolation = () =>
  z.object({
    pool,
    current_workers: count,
    min_workers: count,
    violation_time: timestamp,
  });

export const minimumNodesRestored = () =>
  z.object({
    pool,
    current_workers: count,
    min_workers: count,
    restore_time: timestamp,
    violation_duration: seconds.optional(),
  });

export const circuitBreakerStateChanged = () =>
  z.object({
    service: z.string().min(1).describe('the service whose breaker it is'),
    breaker: z
      .string()
      .min(1)
      .describe('the dependency it guards: kafka-producer, redis, s3, sink-<name>, ...'),
    state: z.enum(['closed', 'half_open', 'open']),
    previous: z.enum(['closed', 'half_open', 'open']).optional(),
    changed_at: timestamp,
  });

export const deadLetterRecorded = () =>
  z.object({
    bucket: z.string().min(1),
    key: z.string().min(1),
    topic: z.string().min(1),
    partition: count,
    offset: z.string().regex(/^\d+$/),
    consumer_group: z.string().min(1),
    service: z.string().min(1),
    event_id: z.string().optional(),
    event_type: z.string().optional(),
    error_code: z.string().min(1),
    reason: z.string(),
    attempts: z.number().int().min(1),
  });

/** The partition key of an AuditRecorded that names no pool (a silence, a dead letter, a topic). */
export const AUDIT_KEY = 'scalewise.audit';

/**
 * A mutating request, who made it and how it ended (docs/security.md, "Audit events"): every
 * write route of a service's HTTP API, and the CLI's triggers and replays.
 */
export const auditRecorded = () =>
  z.object({
    actor: z
      .string()
      .min(1)
      .max(256)
      .describe("who: the HTTP token's configured name, or the CLI's `cli:<os user>@<host>`"),
    principal: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe('the Kafka principal (SASL user name) the CLI published with, when it used SASL'),
    action: z
      .string()
      .regex(/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/, 'dotted lower-case words, e.g. silence.create')
      .describe('what: silence.create, silence.delete, dlq.replay, topic.replay, trigger.scale, ...'),
    target: z
      .string()
      .min(1)
      .max(2048)
      .describe('what it acted on: a silence id, a dead letter key, a topic, a pool'),
    outcome: z
      .enum(['succeeded', 'failed', 'denied'])
      .describe('denied: the token has no write scope; failed: refused or broken after authentication'),
    reason: z.string().max(2000).optional().describe('why it failed or was denied'),
    service: z.string().min(1).describe('who recorded it: the service, or scalewise-cli'),
    pool: pool.optional(),
    request: z
      .object({
        id: z.string().min(1).describe("the service's request id (its log lines carry it as reqId)"),
        method: z.string().min(1),
        route: z.string().min(1).describe('the route pattern, e.g. /v1/silences/:id'),
        status: z.number().int().min(100).max(599),
        remote_address: z.string().optional(),
      })
      .optional()
      .describe('the HTTP request, for an action taken through a service'),
    details: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('what else the action said: the silence, the replayed offset, the event id sent'),
    at: timestamp,
  });

export const triggerScale = () =>
  z
    .object({
      pool,
      action: z.enum(['scale_up', 'scale_down', 'set']),
      count: z.number().int().min(1).optional(),
      target: count.optional(),
      reason: z.string().max(500).optional(),
      task_id: z.string().max(253).optional(),
    })
    .superRefine((v, ctx) => {
      if (v.action === 'set' && v.target === undefined) {
        ctx.addIssue({ code: 'custom', path: ['target'], message: "action 'set' needs target" });
      }
      if (v.action !== 'set' && v.count === undefined) {
        ctx.addIssue({ code: 'custom', path: ['count'], message: `action '${v.action}' needs count` });
      }
    });

export const triggerPause = () => z.object({ pool, reason: z.string().max(500).optional() });
export const triggerResume = () => z.object({ pool, reason: z.string().max(500).optional() });
export const triggerUpdate = () =>
  z
    .object({ pool, min: count.optional(), max: count.optional(), reason: z.string().max(500).optional() })
    .refine((v) => v.min !== undefined || v.max !== undefined, {
      message: 'update needs min or max',
      path: ['min'],
    })
    .refine((v) => v.min === undefined || v.max === undefined || v.min <= v.max, {
      message: 'min must not exceed max',
      path: ['min'],
    });

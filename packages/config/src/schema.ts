/**
 * The one configuration file of every Scalewise service. Keys are snake_case as in seed 000's
 * `autoscaler:` block; durations are seconds, percentages 0-100. Every default here is the one
 * DESIGN.md and docs/configuration.md document.
 */
import { type TopicKey, topicKeys } from '@scalewise/events';
import { z } from 'zod';
import { dockerOptionsSchema } from './docker-options.ts';
import { externalOptionsSchema } from './external-options.ts';
import { podsOptionsSchema } from './pods-options.ts';

const name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and -, at most 63');
const percent = z.number().min(0, 'a percentage 0-100').max(100, 'a percentage 0-100');
const seconds = (max = 86_400) =>
  z.number().int('whole seconds').min(0, 'seconds >= 0').max(max, `seconds <= ${max}`);
const positiveInt = z.number().int('an integer').min(1, 'an integer >= 1');
const severity = z.enum(['info', 'warning', 'critical']);
const sourceGlobs = z.array(z.string().min(1)).min(1, 'at least one source (use "*" for any)');

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelName = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** Why a label key (`[prefix/]name`) is not one, or undefined when it is. */
function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const rest = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !dnsSubdomain.test(prefix)))
    return `'${key}': the prefix must be a DNS subdomain (lower-case letters, digits, - and .)`;
  if (!labelName.test(rest))
    return `'${key}': the name must be 1-63 letters, digits, - _ or ., starting and ending with a letter or digit`;
  return undefined;
}

/** A label key: `[prefix/]name`, the prefix a DNS subdomain, the name up to 63 characters. */
const labelKey = z.string().superRefine((key, ctx) => {
  const problem = labelKeyProblem(key);
  if (problem) ctx.addIssue({ code: 'custom', message: `not a label key: ${problem}` });
});

/**
 * Why a name is not an extended resource a node can offer, or undefined when it is: a
 * `domain/name` whose domain is not kubernetes.io (those names are Kubernetes' own).
 */
function extendedResourceProblem(key: string): string | undefined {
  if (!key.includes('/')) return 'an extended resource needs a domain prefix, e.g. nvidia.com/gpu';
  const problem = labelKeyProblem(key);
  if (problem) return `not a resource name: ${problem}`;
  const domain = key.slice(0, key.lastIndexOf('/'));
  if (domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io'))
    return 'the kubernetes.io domain is reserved for Kubernetes';
  if (key.startsWith('requests.')) return "a resource name may not start with 'requests.'";
  return undefined;
}

export const taintSchema = z.strictObject({
  key: labelKey,
  value: z
    .string()
    .regex(
      /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/,
      'a label value: at most 63 letters, digits, - _ .',
    )
    .optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});

export const scalingPolicySchema = z.strictObject({
  type: z.enum(['Pods', 'Percent']),
  value: positiveInt,
  period_seconds: z.number().int().min(1, '1-1800').max(1800, '1-1800'),
});

/** HPA v2 `HPAScalingRules` for one direction. */
const scalingRules = (defaults: { window: number; policies: z.input<typeof scalingPolicySchema>[] }) =>
  z
    .strictObject({
      stabilization_window_seconds: seconds(3600).default(defaults.window),
      select_policy: z.enum(['Max', 'Min', 'Disabled']).default('Max'),
      policies: z.array(scalingPolicySchema).default(defaults.policies),
    })
    .prefault({});

export const thresholdsSchema = z
  .strictObject({
    /** ResourcePressureAlert: CPU above this OR memory above memory_high_percent (seed 000). */
    cpu_high_percent: percent.default(80),
    memory_high_percent: percent.default(85),
    /** UnderutilizationWarning: CPU below this AND memory below memory_low_percent. */
    cpu_low_percent: percent.default(30),
    memory_low_percent: percent.default(40),
    /** The utilisation a resize aims at (the HPA target). */
    cpu_target_percent: percent.default(60),
    memory_target_percent: percent.default(70),
    /** Underutilisation must hold this long before a scale-down. */
    underutilized_for_seconds: seconds().default(300),
  })
  .prefault({});

/**
 * A pool's Prometheus source (KEDA's prometheus trigger, for workers): metrics-listener runs
 * `query` against `server_address` + /api/v1/query every sample interval; above
 * `activation_threshold` the pool wants ceil(value / threshold) workers (AverageValue) or
 * ceil(workers * value / threshold) (Value), and a ResourcePressureAlert asks for them when
 * that is more than it has.
 */
export const prometheusSourceSchema = z.strictObject({
  /** Prometheus (or any server with its HTTP query API), e.g. http://prometheus.monitoring:9090. */
  server_address: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL' })
    .refine((u) => !/[?#]/.test(u), 'the server address, without a query or fragment'),
  /** PromQL returning a scalar or one series (aggregate with sum()/max()). */
  query: z.string().trim().min(1, 'a PromQL query'),
  /** The metric one worker takes (KEDA's threshold). */
  threshold: z.number().positive('a number > 0'),
  /** At or below this the metric asks for nothing (KEDA's activationThreshold). */
  activation_threshold: z.number().min(0, 'a number >= 0').default(0),
  /** AverageValue: ceil(value / threshold) workers; Value: ceil(workers * value / threshold). */
  metric_type: z.enum(['AverageValue', 'Value']).default('AverageValue'),
  /** An empty result or NaN counts as 0 (true) or as a failed query (false). */
  ignore_null_values: z.boolean().default(true),
  /** One query may take this long. */
  timeout_seconds: z.number().min(0.1, 'seconds >= 0.1').max(60, 'seconds <= 60').default(5),
  /** The metric's name in events and explanations. */
  name: z
    .string()
    .regex(/^[a-zA-Z_:][a-zA-Z0-9_:.-]{0,62}$/, 'a metric name: letters, digits, _ : . -, at most 63')
    .default('prometheus'),
  /** Extra request headers (e.g. X-Scope-OrgID for a multi-tenant Cortex/Mimir). */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name'), z.string()).default({}),
  /** A file holding a bearer token for the server (a mounted Secret), read at each query. */
  bearer_token_file: z.string().min(1).optional(),
});

const poolFields = z.strictObject({
  name,
  /**
   * Who creates and removes this pool's workers (node-manager providers): simulated nodes,
   * k3s agent containers, worker pods, or a provisioner of the team's own (`external`,
   * docs/providers.md).
   */
  provider: z.enum(['kwok', 'k3s-docker', 'docker', 'pods', 'external']).default('kwok'),
  /** Falls back to autoscaler.limits.min_nodes. */
  min: z.number().int('an integer').min(0, 'an integer >= 0').optional(),
  /** Falls back to autoscaler.limits.max_nodes. */
  max: positiveInt.optional(),
  /**
   * What one worker offers to pods (its allocatable): CPU in millicores, memory in MiB, the
   * pods it takes, ephemeral storage in MiB and extended resources (`nvidia.com/gpu: 1`).
   */
  node_size: z
    .strictObject({
      cpu_millicores: positiveInt.default(4000),
      memory_mib: positiveInt.default(8192),
      pods: positiveInt.default(110),
      ephemeral_storage_mib: positiveInt.optional(),
      extended_resources: z
        .record(z.string(), positiveInt)
        .superRefine((resources, ctx) => {
          for (const key of Object.keys(resources)) {
            const problem = extendedResourceProblem(key);
            if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
          }
        })
        .default({}),
    })
    .prefault({}),
  /** Taints every new node of the pool carries (pods need a toleration to go there). */
  node_taints: z.array(taintSchema).default([]),
  /**
   * Zones (`topology.kubernetes.io/zone`) new nodes are spread over: each goes to the zone with
   * the fewest nodes of the pool, the first listed among equals. Empty: no zone label.
   */
  zones: z
    .array(z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'a zone name (a label value)'))
    .refine((zones) => new Set(zones).size === zones.length, 'each zone once')
    .default([]),
  /** For the `priority` expander: among pools that fit, the highest priority grows. */
  priority: z.number().int('an integer').default(0),
  thresholds: thresholdsSchema,
  behavior: z
    .strictObject({
      scale_up: scalingRules({
        window: 0,
        policies: [
          { type: 'Pods', value: 4, period_seconds: 15 },
          { type: 'Percent', value: 100, period_seconds: 15 },
        ],
      }),
      scale_down: scalingRules({
        window: 300,
        policies: [{ type: 'Percent', value: 100, period_seconds: 15 }],
      }),
    })
    .prefault({}),
  /** After any action, no scale-down and no pressure scale-up for this long. */
  cooldown_seconds: seconds().default(60),
  /** Trigger sources (CloudEvents `source`) allowed to act on this pool: exact, or globs with * and ?. */
  allowed_trigger_sources: sourceGlobs.default(['*']),
  /** An action with no completion after this long no longer counts as in flight. */
  action_timeout_seconds: seconds().default(600),
  /** A degraded node not reported again for this long no longer blocks scale-down. */
  unhealthy_node_ttl_seconds: seconds().default(300),
  /**
   * A `trigger.scale` target, once reached, is held this long against underutilisation
   * scale-down (a rate-cut target is pursued until reached first).
   */
  trigger_hold_seconds: seconds().default(600),
  /**
   * Decide and report, never act: decisions and floor actions carry `dry_run: true` and
   * node-manager leaves the pool alone. For trying a policy on a live cluster.
   */
  dry_run: z.boolean().default(false),
  /** Labels the pool's nodes carry (node-manager sets them, metrics-listener selects by them). */
  node_labels: z.record(z.string(), z.string()).default({}),
  /** Provider-specific settings (image, instance type, ...), passed through to the provider. */
  provider_options: z.record(z.string(), z.unknown()).default({}),
  /** External metrics the pool also scales on (metrics-listener). */
  metrics: z
    .strictObject({
      prometheus: prometheusSourceSchema.optional(),
    })
    .default({}),
});

/**
 * A pool; the `provider_options` of a pods, docker or external pool are typed (pods-options.ts,
 * docker-options.ts, external-options.ts), errors naming their key.
 */
export const poolSchema = poolFields.superRefine((pool, ctx) => {
  const schema =
    pool.provider === 'pods'
      ? podsOptionsSchema
      : pool.provider === 'docker' || pool.provider === 'k3s-docker'
        ? dockerOptionsSchema
        : pool.provider === 'external'
          ? externalOptionsSchema
          : undefined;
  if (!schema) return;
  const parsed = schema.safeParse(pool.provider_options);
  if (!parsed.success)
    for (const issue of parsed.error.issues) {
      const path = ['provider_options', ...issue.path];
      // A bad key of a map (labels, env) says why in its nested issues.
      if (issue.code === 'invalid_key')
        ctx.addIssue({ code: 'custom', path, message: issue.issues.map((i) => i.message).join('; ') });
      else ctx.addIssue({ ...issue, path } as z.core.$ZodRawIssue);
    }
});

/** events.topics: a name of its own for any of the catalogue's topics. */
const topicName = z.string().min(1).optional();
const topicNames = z
  .strictObject(
    Object.fromEntries(topicKeys.map((k) => [k, topicName])) as Record<TopicKey, typeof topicName>,
  )
  .default({});

/** A bearer token's name: in log lines and audit events, never the token itself. */
const tokenName = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/,
    'lower-case letters, digits, ".", "_" or "-", at most 63 (it is logged and audited)',
  );

/**
 * One bearer token of the HTTP API (docs/security.md). Its value comes from exactly one place:
 * a file (re-read when it changes, so a rotated Kubernetes Secret takes effect without a
 * restart) or an environment variable (read at start).
 */
const apiTokenSchema = z
  .strictObject({
    name: tokenName,
    /** read: every GET route; write: every route (POST, PUT, PATCH, DELETE too). */
    scope: z.enum(['read', 'write']),
    token_file: z.string().min(1).optional(),
    token_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
      .optional(),
  })
  .superRefine((t, ctx) => {
    const given = [t.token_file, t.token_env].filter((v) => v !== undefined).length;
    if (given !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `token '${t.name}': give exactly one of token_file and token_env (${given === 0 ? 'neither is' : 'both are'} set)`,
      });
    }
  });

/** The name the `http.api_token` shorthand gives its token. */
export const API_TOKEN_NAME = 'api';

const httpSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0, 'a port 0-65535').max(65_535, 'a port 0-65535').default(8080),
    /**
     * Shorthand for one write-scope token named `api` (env SCALEWISE_API_TOKEN). With no token
     * at all, the read routes are open (a warning at start) and the write routes refused (403).
     */
    api_token: z.string().min(16, "at least 16 characters (the write token named 'api')").optional(),
    /** The `api` token's file instead (env SCALEWISE_API_TOKEN_FILE), re-read when it changes. */
    api_token_file: z.string().min(1).optional(),
    /** Named tokens with a scope, each from a file or an environment variable. @default [] */
    tokens: z.array(apiTokenSchema).default([]),
    /**
     * `/metrics`: `open` (default: scrapers commonly have no token, and the text holds counters,
     * not events) or `token` (a read-scope token, e.g. Prometheus' `authorization.credentials_file`).
     */
    metrics_auth: z.enum(['open', 'token']).default('open'),
  })
  .superRefine((h, ctx) => {
    if (h.api_token !== undefined && h.api_token_file !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['api_token_file'],
        message: 'give api_token or api_token_file, not both',
      });
    }
    const shorthand = h.api_token !== undefined || h.api_token_file !== undefined;
    const seen = new Map<string, number>();
    h.tokens.forEach((t, i) => {
      const before = seen.get(t.name);
      if (before !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['tokens', i, 'name'],
          message: `'${t.name}' is also the name of http.tokens[${before}]`,
        });
      }
      seen.set(t.name, i);
      if (shorthand && t.name === API_TOKEN_NAME) {
        ctx.addIssue({
          code: 'custom',
          path: ['tokens', i, 'name'],
          message: `'${API_TOKEN_NAME}' is the name of the http.api_token shorthand, which is set too`,
        });
      }
    });
    if (h.metrics_auth === 'token' && !shorthand && h.tokens.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['metrics_auth'],
        message: "'token' needs a token: set http.tokens or http.api_token (SCALEWISE_API_TOKEN)",
      });
    }
  })
  .prefault({});

export const configSchema = z.strictObject({
  autoscaler: z.strictObject({
    /** Seed 000's `limits`: the min and max of pools that do not set their own. */
    limits: z
      .strictObject({
        min_nodes: z.number().int().min(0, 'an integer >= 0').default(2),
        max_nodes: positiveInt.default(6),
      })
      .prefault({}),
    pools: z.array(poolSchema).min(1, 'at least one pool'),
    /** The scheduling simulation that decides which pool grows for pending pods. */
    scheduling: z
      .strictObject({
        /** Among pools that can host the pending pods: the least wasted CPU and memory, or the highest priority. */
        expander: z.enum(['least_waste', 'priority']).default('least_waste'),
      })
      .prefault({}),
    /** metrics-listener: how often each pool is sampled, and seed 000's consecutive periods. */
    sensing: z
      .strictObject({
        sample_interval_seconds: z.number().int().min(1, 'seconds >= 1').max(600).default(10),
        /** Low samples in a row before the first UnderutilizationWarning. */
        underutilized_periods: positiveInt.default(3),
        /** A degraded node is reported again this often while it lasts (under the engine's 300 s TTL). */
        health_repeat_seconds: z.number().int().min(1).max(3600).default(60),
        /** state-sync compares the Kubernetes, provider and store views this often. */
        sync_interval_seconds: z.number().int().min(1, 'seconds >= 1').max(600).default(10),
        /** state-sync: a node NotReady this long is lost (NodeUnexpectedlyLost, not_ready_timeout). */
        not_ready_timeout_seconds: z.number().int().min(1).max(86_400).default(300),
        /** Among pools the scheduling simulation's expander finds equal for a pod, the one chosen first (none: the first pool). */
        default_pool: name.optional(),
        /**
         * metrics-listener: node usage from metrics.k8s.io when the API serves it (auto), else
         * requests / allocatable; `requests` never asks.
         */
        utilization_source: z.enum(['auto', 'requests']).default('auto'),
        /** How often metrics-listener looks again whether metrics.k8s.io is served (and after it failed). */
        metrics_api_recheck_seconds: z.number().int().min(1, 'seconds >= 1').max(3600).default(60),
        /**
         * metrics-listener: a pod the watch shows turning unschedulable is reported at once
         * (PendingPodsDetected between sampling rounds), not at the next round.
         */
        react_to_pending_pods: z.boolean().default(true),
        /** Pods turning unschedulable within this many ms of the first are reported together. */
        pending_pods_debounce_ms: z.number().int().min(0).max(10_000).default(100),
        /**
         * metrics-listener replicas elect one that samples (a coordination.k8s.io Lease named
         * `scalewise-<cluster_id>-metrics-listener`); the others only run the trigger bridge.
         */
        leader_election: z
          .strictObject({
            enabled: z.boolean().default(true),
            /** The namespace of the Lease (the services' own in a cluster). */
            namespace: name.default('default'),
            lease_seconds: z.number().int().min(2).max(300).default(15),
            renew_seconds: z.number().int().min(1).max(100).default(5),
          })
          .refine((l) => l.renew_seconds < l.lease_seconds, {
            message: 'renew_seconds must be below lease_seconds',
            path: ['renew_seconds'],
          })
          .prefault({}),
      })
      .prefault({}),
    enforcement: z
      .strictObject({
        auto_scale_to_min: z.boolean().default(true),
        /** Seconds between floor checks; a failed floor action waits this long. */
        min_violation_check_interval: z.number().int().min(1, 'seconds >= 1').max(3600).default(10),
        /** This many unexpected losses within emergency_window_seconds make it an emergency. */
        emergency_scale_threshold: positiveInt.default(2),
        emergency_window_seconds: z.number().int().min(1).max(3600).default(60),
      })
      .prefault({}),
  }),
  events: z
    .strictObject({
      topic_prefix: z.string().default('scalewise.'),
      /** Full names for single topics, overriding prefix + key. */
      topics: topicNames,
      partitions: positiveInt.default(6),
      /** Replicas of the topics the services create; absent: the broker's default.replication.factor. */
      replication_factor: positiveInt.optional(),
      retry: z
        .strictObject({
          attempts: positiveInt.default(5),
          initial_ms: positiveInt.default(200),
          max_ms: positiveInt.default(10_000),
        })
        .prefault({}),
      breaker: z
        .strictObject({
          /** Percentage of failed calls in the rolling window that opens a breaker. */
          error_threshold_percent: percent.default(50),
          reset_timeout_ms: positiveInt.default(10_000),
          call_timeout_ms: positiveInt.default(10_000),
        })
        .prefault({}),
      /** How long an event id is remembered to drop redeliveries. */
      idempotency_ttl_seconds: seconds(30 * 86_400).default(7 * 86_400),
      /** Consumer group id prefix; the service name is appended. */
      group_prefix: z.string().default('scalewise.'),
      /**
       * How long the group waits for a member that stopped heartbeating before its partitions
       * move to another (a SIGKILLed replica): the takeover time. At least the brokers'
       * `group.min.session.timeout.ms` (6 s by default).
       */
      session_timeout_ms: z
        .number()
        .int()
        .min(1000, 'at least 1000')
        .max(300_000, 'at most 300000')
        .default(10_000),
      heartbeat_interval_ms: z
        .number()
        .int()
        .min(100, 'at least 100')
        .max(60_000, 'at most 60000')
        .default(1_000),
      /**
       * Static group membership (Kafka's `group.instance.id`): this replica's name in its
       * consumer groups, the pod name in Kubernetes (SCALEWISE_INSTANCE_ID from the downward
       * API). A replica restarted under the same name takes its partitions back at once instead
       * of waiting out its old session; two live replicas under one name fence each other (the
       * older stops consuming and reports not ready). Unset: dynamic membership.
       */
      group_instance_id: z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,249}$/, '1 to 249 letters, digits, ".", "_" or "-" (the pod name)')
        .optional(),
    })
    .refine((e) => e.heartbeat_interval_ms * 3 <= e.session_timeout_ms, {
      message: 'heartbeat_interval_ms must be at most a third of session_timeout_ms',
      path: ['heartbeat_interval_ms'],
    })
    .prefault({}),
  kafka: z
    .strictObject({
      brokers: z
        .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port'))
        .min(1, 'at least one broker')
        .default(['127.0.0.1:9092']),
      client_id: z.string().min(1).optional(),
      security: z
        .strictObject({
          protocol: z.enum(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']).default('PLAINTEXT'),
          mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).optional(),
          username: z.string().min(1).optional(),
          password: z.string().min(1).optional(),
          /** A file holding the password (a mounted Secret), read at start; instead of `password`. */
          password_file: z.string().min(1).optional(),
          /** PEM files for TLS: the CA that signed the brokers, and a client certificate and key for mTLS. */
          ca_file: z.string().min(1).optional(),
          cert_file: z.string().min(1).optional(),
          key_file: z.string().min(1).optional(),
          reject_unauthorized: z.boolean().default(true),
        })
        .prefault({}),
      connection_timeout_ms: positiveInt.default(3000),
      request_timeout_ms: positiveInt.default(30_000),
      /**
       * The longest wait between two attempts to reach the brokers (reconnects, metadata,
       * joins), from 100 ms doubling; the Java client's `reconnect.backoff.max.ms` and
       * `retry.backoff.max.ms` default to 1000. kafkajs' own 30 s cap left every client
       * asleep for up to that long after a broker came back.
       */
      retry_backoff_max_ms: z
        .number()
        .int()
        .min(100, 'at least 100')
        .max(60_000, 'at most 60000')
        .default(1000),
    })
    .prefault({}),
  redis: z
    .strictObject({
      url: z
        .string()
        .regex(/^rediss?:\/\/\S+$/, 'a redis:// or rediss:// URL')
        .default('redis://127.0.0.1:6379'),
      key_prefix: z.string().default('scalewise:'),
      /** An ACL user (Redis 6+) for AUTH; none = the `default` user. */
      username: z.string().min(1).optional(),
      /** The password for AUTH (the user's, or `requirepass`); or in the URL, not both. */
      password: z.string().min(1).optional(),
      /** A file holding the password (a mounted Secret), read at start; instead of `password`. */
      password_file: z.string().min(1).optional(),
      /** PEM file of the CA that signed the server's certificate (`rediss://` only). @default Node's roots */
      ca_file: z.string().min(1).optional(),
    })
    .prefault({}),
  s3: z
    .strictObject({
      endpoint: z.url('an http(s) URL').optional(),
      region: z.string().min(1).default('us-east-1'),
      bucket: z
        .string()
        .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')
        .default('scalewise-dlq'),
      access_key_id: z.string().min(1).optional(),
      secret_access_key: z.string().min(1).optional(),
      force_path_style: z.boolean().default(true),
      /** PEM file of the CA that signed an https endpoint's certificate. @default Node's roots */
      ca_file: z.string().min(1).optional(),
    })
    .prefault({}),
  /**
   * Seed 004's Redis Streams trigger bridge (metrics-listener): entries like
   * `XADD otto:scale:events * type scale_up pod_count 3 task_id task-123` become
   * io.scalewise.trigger.scale events on the triggers topic.
   */
  trigger_bridge: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** The stream read (seed 004's REDIS_STREAM). */
      stream: z.string().min(1).default('otto:scale:events'),
      /** The consumer group on it (seed 004's REDIS_CONSUMER_GROUP). */
      group: z.string().min(1).default('scalewise-bridge'),
      /** The pool of entries that name none (seed 004's entries never do). */
      default_pool: name.optional(),
      /** How long one read waits for entries, in milliseconds. */
      block_ms: z.number().int().min(10).max(60_000).default(2000),
    })
    .prefault({}),
  kubernetes: z
    .strictObject({
      /** A kubeconfig file; without one, the in-cluster service account is used. */
      kubeconfig: z.string().min(1).optional(),
      context: z.string().min(1).optional(),
      /** Seconds between full re-lists of a watch (resync). */
      resync_seconds: seconds().default(300),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      sinks: z
        .array(
          z.strictObject({
            name,
            kind: z.enum(['webhook', 'slack']),
            url: z.url('an http(s) URL'),
            min_severity: severity.default('warning'),
            max_per_minute: positiveInt.default(30),
          }),
        )
        .default([]),
      group_window_seconds: seconds().default(300),
      history: z
        .strictObject({
          max_events: positiveInt.default(100_000),
          max_age_seconds: seconds(90 * 86_400).default(7 * 86_400),
        })
        .prefault({}),
    })
    .prefault({}),
  http: httpSchema,
  telemetry: z
    .strictObject({
      log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** OTLP/HTTP traces endpoint (e.g. http://jaeger:4318/v1/traces); none = traces are not exported. */
      otlp_traces_endpoint: z.url('an http(s) URL').optional(),
      /** Fraction of new traces recorded (a parent's decision is always followed). */
      trace_sample_ratio: z.number().min(0, '0-1').max(1, '0-1').default(1),
    })
    .prefault({}),
  /**
   * A start that fails on a dependency (Kafka, Redis or S3 refusing or not answering) is tried
   * again in the same process after a wait from `initial_ms` doubling up to `max_ms` (each wait
   * jittered between half and all of it); meanwhile /healthz answers 200 and /readyz 503
   * naming the cause.
   */
  start_retry: z
    .strictObject({
      initial_ms: positiveInt.default(2000),
      max_ms: positiveInt.default(60_000),
    })
    .prefault({}),
  /** Shutdown: how long draining may take before the process exits non-zero. */
  shutdown_timeout_seconds: z.number().int().min(1).max(600).default(25),
  /** The CloudEvents `clusterid` extension of every event this installation emits. */
  cluster_id: name.default('local'),
});

/** The configuration as the YAML file and environment give it. */
export type ConfigInput = z.input<typeof configSchema>;
type Parsed = z.output<typeof configSchema>;
/** A pool with its min and max resolved from autoscaler.limits. */
export type PoolConfig = Omit<Parsed['autoscaler']['pools'][number], 'min' | 'max'> & {
  min: number;
  max: number;
};
/** The validated configuration with every default filled in. */
export type Config = Omit<Parsed, 'autoscaler'> & {
  autoscaler: Omit<Parsed['autoscaler'], 'pools'> & { pools: PoolConfig[] };
};

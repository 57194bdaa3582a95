/**
 * `provider_options` of a pool whose `provider` is `pods` (seed 004, Ottoscaler): each worker
 * is a Pod that node-manager creates on demand, watches to completion and deletes afterwards.
 * Validated with the rest of the configuration at start (`poolSchema` refines
 * `provider_options` with this schema), so a mistake fails the start naming its key, e.g.
 * `autoscaler.pools[0].provider_options.resources.limits.cpu`.
 */

import { parseQuantity } from '@scalewise/kube/quantity';
import { z } from 'zod';
import { workerEnv } from './worker-env.ts';

/** Labels and env names node-manager sets on every worker pod; options may not set them. */
export const RESERVED_POD_LABELS = [
  'app.kubernetes.io/managed-by',
  'managed-by',
  'scalewise.io/pool',
  'scalewise.io/action',
  'scalewise.io/task-id',
  'scalewise.io/worker-kind',
] as const;
export const RESERVED_POD_ENV = [
  'TASK_ID',
  'SCALEWISE_POOL',
  'SCALEWISE_ACTION_ID',
  'SCALEWISE_WORKER_NAME',
] as const;

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and -, at most 63');
const dnsSubdomain = z
  .string()
  .max(253, 'at most 253 characters')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'a DNS subdomain: lower-case letters, digits, - and .',
  );
/** A Kubernetes resource quantity: 250m, 0.5, 2, 128Mi, 1G, 1e3. */
const quantity = z
  .union([z.string(), z.number().nonnegative()])
  .transform((q) => String(q))
  .refine((q) => /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+|[KMGTPE]i|[numkMGTPE])?$/.test(q), {
    message: 'a Kubernetes quantity such as 250m, 0.5, 128Mi or 1Gi',
  });
const resourceList = z.record(
  z.string().regex(/^([a-z0-9.-]+\/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/, 'a resource name (cpu, memory, ...)'),
  quantity,
);
const labelName = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** `prefix/name` or `name`, as Kubernetes label and annotation keys are. */
const qualifiedKey = z.string().refine(
  (k) => {
    const i = k.lastIndexOf('/');
    const prefix = i >= 0 ? k.slice(0, i) : undefined;
    const name = i >= 0 ? k.slice(i + 1) : k;
    return (prefix === undefined || dnsSubdomain.safeParse(prefix).success) && labelName.test(name);
  },
  { message: 'a Kubernetes key: an optional DNS prefix and /, then at most 63 of A-Z a-z 0-9 - _ .' },
);
const labelValue = z
  .string()
  .regex(
    /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/,
    'a label value: at most 63 of A-Z a-z 0-9 - _ .',
  );

export const podsOptionsSchema = z
  .strictObject({
    /** Where the worker pods are created. */
    namespace: dnsLabel.default('default'),
    /** The worker's container image (required). */
    image: z.string().min(1, 'a container image'),
    image_pull_policy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
    /** The container's name. */
    container_name: dnsLabel.default('worker'),
    /** Entrypoint and its arguments (the image's when absent). */
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    /** Extra environment of the container. TASK_ID and SCALEWISE_* are set by node-manager. */
    env: workerEnv(RESERVED_POD_ENV),
    resources: z
      .strictObject({
        requests: resourceList.default({}),
        limits: resourceList.default({}),
      })
      .prefault({}),
    /** The pod's ServiceAccount (the namespace's `default` when absent). */
    service_account: dnsSubdomain.optional(),
    /** Extra labels and annotations of every worker pod. */
    labels: z
      .record(
        qualifiedKey.refine(
          (k) => !(RESERVED_POD_LABELS as readonly string[]).includes(k),
          'set by node-manager',
        ),
        labelValue,
      )
      .default({}),
    annotations: z.record(qualifiedKey, z.string()).default({}),
    /** Where the pods may run: node labels, and taints they tolerate. */
    node_selector: z.record(qualifiedKey, labelValue).default({}),
    tolerations: z
      .array(
        z.strictObject({
          key: z.string().optional(),
          operator: z.enum(['Exists', 'Equal']).optional(),
          value: z.string().optional(),
          effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
          toleration_seconds: z.number().int().optional(),
        }),
      )
      .default([]),
    priority_class_name: dnsSubdomain.optional(),
    /**
     * `Never` (the default) or `OnFailure`: a worker runs to completion. `Always` is refused,
     * since a pod that restarts for ever never completes and is never cleaned up.
     */
    restart_policy: z.enum(['Never', 'OnFailure']).default('Never'),
    /** A worker still running after this long is failed by the kubelet (`activeDeadlineSeconds`). */
    active_deadline_seconds: z.number().int().min(1).optional(),
    termination_grace_period_seconds: z.number().int().min(0).optional(),
    /** When finished worker pods are deleted. */
    cleanup: z
      .strictObject({
        /** A pod that Succeeded is deleted this long after it finished (0: at once). */
        succeeded_after_seconds: z.number().int().min(0).max(86_400).default(0),
        /** A pod that Failed is kept this long for `kubectl logs`, then deleted. */
        failed_after_seconds: z
          .number()
          .int()
          .min(0)
          .max(7 * 86_400)
          .default(300),
      })
      .prefault({}),
  })
  .superRefine((o, ctx) => {
    // A limit below its request is refused by the API server at every create: say it now.
    for (const [name, limit] of Object.entries(o.resources.limits)) {
      const request = o.resources.requests[name];
      if (request !== undefined && parseQuantity(request) > parseQuantity(limit)) {
        ctx.addIssue({
          code: 'custom',
          path: ['resources', 'requests', name],
          message: `${request} is above the limit ${limit}`,
        });
      }
    }
  });

export type PodsOptions = z.output<typeof podsOptionsSchema>;
export type PodsOptionsInput = z.input<typeof podsOptionsSchema>;

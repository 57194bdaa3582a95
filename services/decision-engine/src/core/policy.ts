/**
 * The policy of one pool as the decision core sees it. The service shell maps the YAML
 * config (packages/config) onto this type; the core never reads config itself.
 */
import { ScalewiseError } from '@scalewise/errors';

/** HPA v2 `HPAScalingPolicy.type`. */
export type ScalingPolicyType = 'Pods' | 'Percent';

/** HPA v2 `HPAScalingPolicy`: at most `value` pods (or percent) of change per `periodSeconds`. */
export interface ScalingPolicy {
  type: ScalingPolicyType;
  value: number;
  periodSeconds: number;
}

/** HPA v2 `selectPolicy`: the policy allowing the largest change, the smallest, or no change. */
export type SelectPolicy = 'Max' | 'Min' | 'Disabled';

/** HPA v2 `HPAScalingRules`, one per direction. */
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: SelectPolicy;
  policies: readonly ScalingPolicy[];
}

export interface Behavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** Utilisation thresholds, percent 0-100. */
export interface Thresholds {
  /** ResourcePressureAlert fires above these (metrics-listener); used here in explanations. */
  cpuHighPercent: number;
  memoryHighPercent: number;
  /** Underutilisation holds while both are below these. */
  cpuLowPercent: number;
  memoryLowPercent: number;
  /**
   * The utilisation a resize aims at (the HPA target): a pressure scale-up or an
   * underutilisation scale-down picks `ceil(workers * max(cpu / cpuTarget, memory / memoryTarget))`.
   */
  cpuTargetPercent: number;
  memoryTargetPercent: number;
}

/** What one worker offers to pods (its allocatable resources). */
export interface NodeSize {
  cpuMillicores: number;
  memoryBytes: number;
}

/** Everything the decision core needs to know about one pool. */
export interface PoolPolicy {
  name: string;
  min: number;
  max: number;
  nodeSize: NodeSize;
  thresholds: Thresholds;
  behavior: Behavior;
  /** After any action (decided, completed or failed), no scale-down and no pressure scale-up for this long. */
  cooldownSeconds: number;
  /** Underutilisation must have held this long before a scale-down. */
  underutilizedForSeconds: number;
  /** Trigger sources (CloudEvents `source`) allowed to act on this pool: exact, or globs with `*` and `?`. */
  allowedTriggerSources: readonly string[];
  /** An action with no completion after this long no longer counts as in flight. */
  actionTimeoutSeconds: number;
  /** A degraded node not reported again for this long no longer blocks scale-down. */
  unhealthyNodeTtlSeconds: number;
  /**
   * A `trigger.scale` target: pursued through the rate policies until the pool heads for it,
   * then held this long against underutilisation scale-down.
   */
  triggerHoldSeconds: number;
  /**
   * Decide and report, never act: decisions carry `dry_run: true`, node-manager ignores them,
   * and as nothing will happen they are not tracked as in flight (the cooldown still spaces them).
   */
  dryRun: boolean;
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly (infer U)[]
    ? readonly U[]
    : T[K] extends object
      ? DeepPartial<T[K]>
      : T[K];
};

/** The input of {@link definePoolPolicy}: name, min and max, everything else optional. */
export type PoolPolicyInput = Pick<PoolPolicy, 'name' | 'min' | 'max'> &
  DeepPartial<Omit<PoolPolicy, 'name' | 'min' | 'max' | 'behavior'>> & {
    behavior?: { scaleUp?: Partial<ScalingRules>; scaleDown?: Partial<ScalingRules> };
  };

/** HPA v2 defaults for scale-up: no window, at most max(4 pods, 100 %) per 15 s. */
export const defaultScaleUp: ScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
};

/** HPA v2 defaults for scale-down: a 300 s window, up to 100 % per 15 s. */
export const defaultScaleDown: ScalingRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

export const defaultThresholds: Thresholds = {
  cpuHighPercent: 80,
  memoryHighPercent: 85,
  cpuLowPercent: 30,
  memoryLowPercent: 40,
  cpuTargetPercent: 60,
  memoryTargetPercent: 70,
};

/** A 4-CPU, 8 GiB worker. */
export const defaultNodeSize: NodeSize = { cpuMillicores: 4000, memoryBytes: 8 * 2 ** 30 };

export const policyDefaults = {
  cooldownSeconds: 60,
  underutilizedForSeconds: 300,
  allowedTriggerSources: ['*'] as readonly string[],
  actionTimeoutSeconds: 600,
  unhealthyNodeTtlSeconds: 300,
  triggerHoldSeconds: 600,
  dryRun: false,
} as const;

function fail(pool: string, key: string, message: string): never {
  throw new ScalewiseError('INVALID_CONFIG', `pool '${pool}': ${key} ${message}`, {
    details: { pool, key },
  });
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function checkRules(pool: string, key: string, rules: ScalingRules): void {
  const w = rules.stabilizationWindowSeconds;
  if (!isInt(w) || w < 0 || w > 3600) fail(pool, `${key}.stabilizationWindowSeconds`, 'must be 0-3600');
  if (!['Max', 'Min', 'Disabled'].includes(rules.selectPolicy)) {
    fail(pool, `${key}.selectPolicy`, 'must be Max, Min or Disabled');
  }
  if (rules.selectPolicy !== 'Disabled' && rules.policies.length === 0) {
    fail(pool, `${key}.policies`, 'must list at least one policy unless selectPolicy is Disabled');
  }
  rules.policies.forEach((p, i) => {
    const at = `${key}.policies[${i}]`;
    if (p.type !== 'Pods' && p.type !== 'Percent') fail(pool, `${at}.type`, 'must be Pods or Percent');
    if (!isInt(p.value) || p.value < 1) fail(pool, `${at}.value`, 'must be an integer >= 1');
    if (!isInt(p.periodSeconds) || p.periodSeconds < 1 || p.periodSeconds > 1800) {
      fail(pool, `${at}.periodSeconds`, 'must be 1-1800');
    }
  });
}

/**
 * Fills the defaults in and checks a pool's policy.
 * @throws ScalewiseError INVALID_CONFIG naming the pool and the key when a value is out of range.
 */
export function definePoolPolicy(input: PoolPolicyInput): PoolPolicy {
  const policy: PoolPolicy = {
    name: input.name,
    min: input.min,
    max: input.max,
    nodeSize: { ...defaultNodeSize, ...input.nodeSize },
    thresholds: { ...defaultThresholds, ...input.thresholds },
    behavior: {
      scaleUp: { ...defaultScaleUp, ...input.behavior?.scaleUp },
      scaleDown: { ...defaultScaleDown, ...input.behavior?.scaleDown },
    },
    cooldownSeconds: input.cooldownSeconds ?? policyDefaults.cooldownSeconds,
    underutilizedForSeconds: input.underutilizedForSeconds ?? policyDefaults.underutilizedForSeconds,
    allowedTriggerSources: [...(input.allowedTriggerSources ?? policyDefaults.allowedTriggerSources)],
    actionTimeoutSeconds: input.actionTimeoutSeconds ?? policyDefaults.actionTimeoutSeconds,
    unhealthyNodeTtlSeconds: input.unhealthyNodeTtlSeconds ?? policyDefaults.unhealthyNodeTtlSeconds,
    triggerHoldSeconds: input.triggerHoldSeconds ?? policyDefaults.triggerHoldSeconds,
    dryRun: input.dryRun ?? policyDefaults.dryRun,
  };
  const n = policy.name;
  if (typeof n !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)) {
    fail(String(n), 'name', 'must be a DNS label (lower-case letters, digits and -, at most 63)');
  }
  if (!isInt(policy.min) || policy.min < 0) fail(n, 'min', 'must be an integer >= 0');
  if (typeof policy.dryRun !== 'boolean') fail(n, 'dryRun', 'must be a boolean');
  if (!isInt(policy.max) || policy.max < 1) fail(n, 'max', 'must be an integer >= 1');
  if (policy.min > policy.max) fail(n, 'min', `(${policy.min}) must not exceed max (${policy.max})`);
  if (!(policy.nodeSize.cpuMillicores > 0)) fail(n, 'nodeSize.cpuMillicores', 'must be > 0');
  if (!(policy.nodeSize.memoryBytes > 0)) fail(n, 'nodeSize.memoryBytes', 'must be > 0');
  for (const [k, v] of Object.entries(policy.thresholds)) {
    if (typeof v !== 'number' || !(v > 0 && v <= 100))
      fail(n, `thresholds.${k}`, 'must be a percent in (0, 100]');
  }
  const t = policy.thresholds;
  if (t.cpuLowPercent >= t.cpuTargetPercent || t.cpuTargetPercent > t.cpuHighPercent) {
    fail(n, 'thresholds', 'must satisfy cpuLow < cpuTarget <= cpuHigh');
  }
  if (t.memoryLowPercent >= t.memoryTargetPercent || t.memoryTargetPercent > t.memoryHighPercent) {
    fail(n, 'thresholds', 'must satisfy memoryLow < memoryTarget <= memoryHigh');
  }
  checkRules(n, 'behavior.scaleUp', policy.behavior.scaleUp);
  checkRules(n, 'behavior.scaleDown', policy.behavior.scaleDown);
  for (const [k, v] of [
    ['cooldownSeconds', policy.cooldownSeconds],
    ['underutilizedForSeconds', policy.underutilizedForSeconds],
    ['triggerHoldSeconds', policy.triggerHoldSeconds],
  ] as const) {
    if (typeof v !== 'number' || !(v >= 0)) fail(n, k, 'must be >= 0');
  }
  for (const [k, v] of [
    ['actionTimeoutSeconds', policy.actionTimeoutSeconds],
    ['unhealthyNodeTtlSeconds', policy.unhealthyNodeTtlSeconds],
  ] as const) {
    if (typeof v !== 'number' || !(v > 0)) fail(n, k, 'must be > 0');
  }
  policy.allowedTriggerSources.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0)
      fail(n, `allowedTriggerSources[${i}]`, 'must be a non-empty string');
  });
  return policy;
}

/** The trigger-source allowlist, the same rule in both deciders (packages/pool). */
export { sourceAllowed } from '@scalewise/pool';

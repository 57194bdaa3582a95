/**
 * The floor policy of one pool as the min-enforcer core sees it (seed 000's
 * `autoscaler.enforcement` plus the pool's limits). The service shell maps config onto it.
 */
import { ScalewiseError } from '@scalewise/errors';

export interface FloorPolicy {
  name: string;
  min: number;
  max: number;
  /** Seed `auto_scale_to_min`: act on a violation, or only report it. */
  autoScaleToMin: boolean;
  /** Seed `min_violation_check_interval`: the shell ticks this often; a failed floor action waits this long. */
  checkIntervalSeconds: number;
  /** Seed `emergency_scale_threshold`: this many unexpected losses within the window make it an emergency. */
  emergencyScaleThreshold: number;
  /** Losses this close together count as "at once". */
  emergencyWindowSeconds: number;
  /** A floor action with no completion after this long is forgotten, so a lost one cannot block forever. */
  actionTimeoutSeconds: number;
  /** Sources whose `trigger.update` may change min/max (exact or `*`/`?` globs), as the decision engine's. */
  allowedTriggerSources: readonly string[];
  /** Report floor actions marked `dry_run`; node-manager does not carry them out. */
  dryRun: boolean;
}

export type FloorPolicyInput = Pick<FloorPolicy, 'name' | 'min' | 'max'> &
  Partial<Omit<FloorPolicy, 'name' | 'min' | 'max'>>;

export const floorDefaults = {
  autoScaleToMin: true,
  checkIntervalSeconds: 10,
  emergencyScaleThreshold: 2,
  emergencyWindowSeconds: 60,
  actionTimeoutSeconds: 600,
  allowedTriggerSources: ['*'] as readonly string[],
  dryRun: false,
} as const;

function fail(pool: string, key: string, message: string): never {
  throw new ScalewiseError('INVALID_CONFIG', `pool '${pool}': ${key} ${message}`, { details: { pool, key } });
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Fills the defaults in and checks a pool's floor policy.
 * @throws ScalewiseError INVALID_CONFIG naming the pool and the key when a value is out of range.
 */
export function defineFloorPolicy(input: FloorPolicyInput): FloorPolicy {
  const p: FloorPolicy = {
    name: input.name,
    min: input.min,
    max: input.max,
    autoScaleToMin: input.autoScaleToMin ?? floorDefaults.autoScaleToMin,
    checkIntervalSeconds: input.checkIntervalSeconds ?? floorDefaults.checkIntervalSeconds,
    emergencyScaleThreshold: input.emergencyScaleThreshold ?? floorDefaults.emergencyScaleThreshold,
    emergencyWindowSeconds: input.emergencyWindowSeconds ?? floorDefaults.emergencyWindowSeconds,
    actionTimeoutSeconds: input.actionTimeoutSeconds ?? floorDefaults.actionTimeoutSeconds,
    allowedTriggerSources: [...(input.allowedTriggerSources ?? floorDefaults.allowedTriggerSources)],
    dryRun: input.dryRun ?? floorDefaults.dryRun,
  };
  const n = p.name;
  if (typeof n !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)) {
    fail(String(n), 'name', 'must be a DNS label (lower-case letters, digits and -, at most 63)');
  }
  if (!isInt(p.min) || p.min < 0) fail(n, 'min', 'must be an integer >= 0');
  if (!isInt(p.max) || p.max < 1) fail(n, 'max', 'must be an integer >= 1');
  if (p.min > p.max) fail(n, 'min', `(${p.min}) must not exceed max (${p.max})`);
  if (typeof p.autoScaleToMin !== 'boolean') fail(n, 'autoScaleToMin', 'must be a boolean');
  if (typeof p.dryRun !== 'boolean') fail(n, 'dryRun', 'must be a boolean');
  if (!(p.checkIntervalSeconds > 0)) fail(n, 'checkIntervalSeconds', 'must be > 0');
  if (!isInt(p.emergencyScaleThreshold) || p.emergencyScaleThreshold < 1) {
    fail(n, 'emergencyScaleThreshold', 'must be an integer >= 1');
  }
  if (!(p.emergencyWindowSeconds > 0)) fail(n, 'emergencyWindowSeconds', 'must be > 0');
  if (!(p.actionTimeoutSeconds > 0)) fail(n, 'actionTimeoutSeconds', 'must be > 0');
  p.allowedTriggerSources.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0)
      fail(n, `allowedTriggerSources[${i}]`, 'must be a non-empty string');
  });
  return p;
}

/** The trigger-source allowlist, the same rule in both deciders (packages/pool). */
export { sourceAllowed } from '@scalewise/pool';

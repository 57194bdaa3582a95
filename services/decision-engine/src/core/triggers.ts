/**
 * External triggers: `trigger.scale`, `pause`, `resume`, `update` (docs/triggers.md). Each is
 * checked in order (id and source -> invalid, cluster -> wrong_cluster, schema -> invalid,
 * pool -> unknown_pool, source allowlist -> source_not_allowed, paused, range -> out_of_range)
 * and either acted on or answered with TriggerRejected.
 */
import { catalogue, type EventData, poolNamed } from '@scalewise/events';
import { emptyLedger } from '@scalewise/pool';
import { cmp, secs } from './explain.ts';
import { checkHold, pursueHold, startHold, tookFor } from './hold.ts';
import { sourceAllowed } from './policy.ts';
import { enforceMax, scaleDown, triggerRules } from './scale-down.ts';
import { scaleUp } from './scale-up.ts';
import { desiredOf, type EngineState, settled, viewOf } from './state.ts';
import { emitTo, housekeep, type Request, type Step } from './step.ts';
import type { Decision, Intent, TriggerEvent } from './types.ts';

type Rejection = EventData<'io.scalewise.TriggerRejected'>['reason'];

const nonEmpty = (v: unknown, fallback: string): string =>
  typeof v === 'string' && v.length > 0 ? v : fallback;

function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .map((i) => `${i.path.map(String).join('.') || '(data)'}: ${i.message}`)
    .join('; ')
    .slice(0, 1000);
}

/**
 * How a trigger's action ends: the step settled after the hold is checked and pursued
 * (`done`), settled as it is (`settled`), or a rejection that discards it.
 */
type Ending =
  | { kind: 'done' }
  | { kind: 'settled' }
  | { kind: 'rejected'; reason: Rejection; message: string };
const DONE: Ending = { kind: 'done' };
const SETTLED: Ending = { kind: 'settled' };
const rejected = (reason: Rejection, message: string): Ending => ({ kind: 'rejected', reason, message });

/** The input state untouched, and a TriggerRejected. */
function rejection(
  state: EngineState,
  input: TriggerEvent,
  named: string | undefined,
  reason: Rejection,
  message: string,
): Decision<TriggerEvent> {
  const events: Intent[] = [];
  emitTo(events, input, 'io.scalewise.TriggerRejected', {
    ...(named !== undefined ? { pool: named } : {}),
    trigger_id: nonEmpty(input.id, '(none)'),
    trigger_type: nonEmpty(input.type, '(none)'),
    trigger_source: nonEmpty(input.source, '(none)'),
    reason,
    message,
  });
  return { state, events: events as Decision<TriggerEvent>['events'] };
}

/** What is wrong with the trigger's envelope (id, source, cluster), if anything. */
function envelopeRefusal(input: TriggerEvent, clusterId: string | undefined): Ending | undefined {
  if (typeof input.id !== 'string' || input.id.length === 0)
    return rejected('invalid', 'the trigger has no id');
  if (typeof input.source !== 'string' || input.source.length === 0) {
    return rejected('invalid', 'the trigger has no source');
  }
  if (clusterId !== undefined && input.clusterid !== undefined && input.clusterid !== clusterId) {
    return rejected(
      'wrong_cluster',
      `the trigger is for cluster '${input.clusterid}'; this is cluster '${clusterId}' (leave clusterid out to mean this cluster)`,
    );
  }
  return undefined;
}

/**
 * Handles one trigger. Never throws; every refusal is a TriggerRejected.
 * @param clusterId this engine's cluster: a trigger naming another is `wrong_cluster`; one
 *   naming none is for this cluster. Unset: not checked.
 */
export function onTrigger(
  state: EngineState,
  input: TriggerEvent,
  now: number,
  clusterId?: string,
): Decision<TriggerEvent> {
  const named = poolNamed(input.data);
  const reject = (e: { reason: Rejection; message: string }) =>
    rejection(state, input, named, e.reason, e.message);
  const refused = envelopeRefusal(input, clusterId);
  if (refused?.kind === 'rejected') return reject(refused);
  const parsed = catalogue[input.type].schema.safeParse(input.data);
  if (!parsed.success) return reject({ reason: 'invalid', message: describeIssues(parsed.error.issues) });
  const existing = named !== undefined && Object.hasOwn(state.pools, named) ? state.pools[named] : undefined;
  if (!existing || named === undefined)
    return reject({ reason: 'unknown_pool', message: `no pool named '${named}'` });
  const ledger = state.ledgers[named] ?? emptyLedger(named);
  const s: Step = { pool: viewOf(existing, ledger, now), now, input, events: [] };
  if (!sourceAllowed(input.source, s.pool.policy.allowedTriggerSources)) {
    return reject({
      reason: 'source_not_allowed',
      message: `source '${input.source}' is not in the allowlist of pool '${s.pool.policy.name}'`,
    });
  }
  housekeep(s);
  checkHold(s);
  const end = act(s, input, parsed.data);
  if (end.kind === 'rejected') return reject(end);
  if (end.kind === 'done') {
    checkHold(s);
    pursueHold(s);
  }
  const p = s.pool;
  return {
    state: {
      pools: { ...state.pools, [p.policy.name]: p },
      ledgers: { ...state.ledgers, [p.policy.name]: settled(ledger, p, s.events, now, input.source) },
    },
    events: s.events as Decision<TriggerEvent>['events'],
  };
}

/**
 * What an admitted trigger does to its pool's step. A rejection here discards the step.
 */
function act(s: Step, input: TriggerEvent, data: unknown): Ending {
  const p = s.pool;
  switch (input.type) {
    case 'io.scalewise.trigger.pause': {
      const d = data as EventData<'io.scalewise.trigger.pause'>;
      if (!p.paused) p.paused = { at: s.now, reason: d.reason ?? null };
      return DONE;
    }
    case 'io.scalewise.trigger.resume': {
      p.paused = null;
      p.lastBlockedReason = null;
      return DONE;
    }
    case 'io.scalewise.trigger.update': {
      const d = data as EventData<'io.scalewise.trigger.update'>;
      const min = d.min ?? p.min;
      const max = d.max ?? p.max;
      if (min > max) return rejected('out_of_range', `min ${min} would exceed max ${max}`);
      if (max < 1) return rejected('out_of_range', 'max must be at least 1');
      p.min = min;
      p.max = max;
      p.optimalAnnounced = false;
      // Lowering max below the pool's size shrinks it now (the HPA does the same); raising min
      // above it is min-enforcer's to repair.
      enforceMax(s, true);
      return DONE;
    }
    case 'io.scalewise.trigger.scale':
      return scaleTo(s, data as EventData<'io.scalewise.trigger.scale'>, input);
    default: {
      const unreachable: never = input.type;
      return rejected('invalid', `unknown trigger type ${String(unreachable)}`);
    }
  }
}

/** `trigger.scale`: the target is held from here, and the pool grows or shrinks to it. */
function scaleTo(s: Step, d: EventData<'io.scalewise.trigger.scale'>, input: TriggerEvent): Ending {
  const p = s.pool;
  const source = input.source;
  if (p.paused) return rejected('paused', `pool '${p.policy.name}' is paused`);
  const cur = desiredOf(p);
  if (cur === null) {
    return rejected('out_of_range', `the size of pool '${p.policy.name}' is not known yet; retry shortly`);
  }
  const target =
    d.action === 'set'
      ? (d.target ?? cur)
      : d.action === 'scale_up'
        ? cur + (d.count ?? 0)
        : cur - (d.count ?? 0);
  if (target > p.max || target < p.min) {
    return rejected(
      'out_of_range',
      `${d.action} ${d.action === 'set' ? `to ${target}` : `by ${d.count}`} from ${cur} gives ${target}, outside [${p.min}, ${p.max}]`,
    );
  }
  const trigger = { id: input.id, source, reason: d.reason, action: d.action };
  // Kept (pursued, then held) from here: a refusal below returns without it.
  startHold(s, trigger, target, target >= cur ? 'up' : 'down');
  if (target === cur) return DONE;
  const req = {
    target,
    rule: `trigger_${d.action}`,
    because: `trigger ${d.action} ${d.action === 'set' ? `to ${target}` : `by ${d.count}`} from ${source}${d.reason ? ` (${d.reason})` : ''}`,
    inputs: {
      trigger_action: d.action,
      trigger_count: d.count,
      trigger_target: d.target,
      trigger_reason: d.reason,
      task_id: d.task_id,
      trigger_source: source,
      trigger_id: input.id,
      held_target: target,
    },
    comparisons: [cmp('target', target, '<=', p.max), cmp('target', target, '>=', p.min)],
  };
  return target > cur ? grow(s, req) : shrink(s, req);
}

/** The trigger's target above the pool: one scale-up, or a rejection saying why none results. */
function grow(s: Step, req: Request): Ending {
  const out = scaleUp(s, req, 'trigger', false);
  switch (out.kind) {
    case 'decided':
      tookFor(s, out.id);
      return DONE;
    case 'none': {
      const why =
        out.why === 'policy_disabled'
          ? 'scale-up is disabled for this pool (selectPolicy Disabled)'
          : out.why === 'rate_limited'
            ? `the scale-up rate policies allow no growth for ${secs(out.retryAfter)}`
            : `no scale-up results (${out.why})`;
      return rejected('out_of_range', why);
    }
    default: {
      const unreachable: never = out;
      return unreachable;
    }
  }
}

/** The trigger's target below the pool: one scale-down, or a block (policy_disabled ends the hold). */
function shrink(s: Step, req: Request): Ending {
  const p = s.pool;
  const out = scaleDown(s, req, 'trigger', triggerRules, true);
  if (out.kind === 'decided') tookFor(s, out.id);
  // Nothing will ever carry it out: the block says so, and nothing is held.
  if (out.kind === 'blocked' && out.reason === 'policy_disabled') {
    p.hold = null;
    return SETTLED;
  }
  return DONE;
}

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
import { emitTo, housekeep, type Step } from './step.ts';
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
  const raw: unknown = input.data;
  const named = poolNamed(raw);
  const existing = named !== undefined && Object.hasOwn(state.pools, named) ? state.pools[named] : undefined;
  // A step over a copy of the named pool (or a throwaway one) so rejections share one emitter.
  const ledger = named !== undefined ? (state.ledgers[named] ?? emptyLedger(named)) : null;
  const s: Step | null =
    existing && ledger ? { pool: viewOf(existing, ledger, now), now, input, events: [] } : null;
  const rejectOnly = (reason: Rejection, message: string): Decision<TriggerEvent> => {
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
  };

  if (typeof input.id !== 'string' || input.id.length === 0)
    return rejectOnly('invalid', 'the trigger has no id');
  if (typeof input.source !== 'string' || input.source.length === 0) {
    return rejectOnly('invalid', 'the trigger has no source');
  }
  if (clusterId !== undefined && input.clusterid !== undefined && input.clusterid !== clusterId) {
    return rejectOnly(
      'wrong_cluster',
      `the trigger is for cluster '${input.clusterid}'; this is cluster '${clusterId}' (leave clusterid out to mean this cluster)`,
    );
  }
  const parsed = catalogue[input.type].schema.safeParse(raw);
  if (!parsed.success) return rejectOnly('invalid', describeIssues(parsed.error.issues));
  if (!s) return rejectOnly('unknown_pool', `no pool named '${named}'`);
  const source = input.source;
  if (!sourceAllowed(source, s.pool.policy.allowedTriggerSources)) {
    return rejectOnly(
      'source_not_allowed',
      `source '${source}' is not in the allowlist of pool '${s.pool.policy.name}'`,
    );
  }
  housekeep(s);
  checkHold(s);
  const p = s.pool;
  const done = (): Decision<TriggerEvent> => {
    checkHold(s);
    pursueHold(s);
    return settle();
  };
  const settle = (): Decision<TriggerEvent> => ({
    state: {
      pools: { ...state.pools, [p.policy.name]: p },
      ledgers: {
        ...state.ledgers,
        [p.policy.name]: settled(ledger ?? emptyLedger(p.policy.name), p, s.events, now, source),
      },
    },
    events: s.events as Decision<TriggerEvent>['events'],
  });

  switch (input.type) {
    case 'io.scalewise.trigger.pause': {
      const d = parsed.data as EventData<'io.scalewise.trigger.pause'>;
      if (!p.paused) p.paused = { at: now, reason: d.reason ?? null };
      return done();
    }
    case 'io.scalewise.trigger.resume': {
      p.paused = null;
      p.lastBlockedReason = null;
      return done();
    }
    case 'io.scalewise.trigger.update': {
      const d = parsed.data as EventData<'io.scalewise.trigger.update'>;
      const min = d.min ?? p.min;
      const max = d.max ?? p.max;
      if (min > max) return rejectOnly('out_of_range', `min ${min} would exceed max ${max}`);
      if (max < 1) return rejectOnly('out_of_range', 'max must be at least 1');
      p.min = min;
      p.max = max;
      p.optimalAnnounced = false;
      // Lowering max below the pool's size shrinks it now (the HPA does the same); raising min
      // above it is min-enforcer's to repair.
      enforceMax(s, true);
      return done();
    }
    case 'io.scalewise.trigger.scale': {
      const d = parsed.data as EventData<'io.scalewise.trigger.scale'>;
      if (p.paused) return rejectOnly('paused', `pool '${p.policy.name}' is paused`);
      const cur = desiredOf(p);
      if (cur === null) {
        return rejectOnly(
          'out_of_range',
          `the size of pool '${p.policy.name}' is not known yet; retry shortly`,
        );
      }
      const target =
        d.action === 'set'
          ? (d.target ?? cur)
          : d.action === 'scale_up'
            ? cur + (d.count ?? 0)
            : cur - (d.count ?? 0);
      if (target > p.max || target < p.min) {
        return rejectOnly(
          'out_of_range',
          `${d.action} ${d.action === 'set' ? `to ${target}` : `by ${d.count}`} from ${cur} gives ${target}, outside [${p.min}, ${p.max}]`,
        );
      }
      const trigger = { id: input.id, source, reason: d.reason, action: d.action };
      // Kept (pursued, then held) from here: a refusal below returns without it.
      startHold(s, trigger, target, target >= cur ? 'up' : 'down');
      if (target === cur) return done();
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
      if (target > cur) {
        const out = scaleUp(s, req, 'trigger', false);
        switch (out.kind) {
          case 'decided':
            tookFor(s, out.id);
            return done();
          case 'none': {
            const why =
              out.why === 'policy_disabled'
                ? 'scale-up is disabled for this pool (selectPolicy Disabled)'
                : out.why === 'rate_limited'
                  ? `the scale-up rate policies allow no growth for ${secs(out.retryAfter)}`
                  : `no scale-up results (${out.why})`;
            return rejectOnly('out_of_range', why);
          }
          default: {
            const unreachable: never = out;
            return unreachable;
          }
        }
      }
      const out = scaleDown(s, req, 'trigger', triggerRules, true);
      if (out.kind === 'decided') tookFor(s, out.id);
      // Nothing will ever carry it out: the block says so, and nothing is held.
      if (out.kind === 'blocked' && out.reason === 'policy_disabled') {
        p.hold = null;
        return settle();
      }
      return done();
    }
    default: {
      const unreachable: never = input.type;
      return rejectOnly('invalid', `unknown trigger type ${String(unreachable)}`);
    }
  }
}

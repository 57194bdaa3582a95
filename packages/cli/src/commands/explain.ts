/**
 * `scalewise explain <event-id>` and `scalewise explain --pool P --at TIME`: asks
 * alert-manager's history (GET /v1/explain/:id, GET /v1/explain?pool&at) and prints the
 * causal chain indented by depth with each decision's numbers, or the reasons in force and
 * the decisions around a time.
 */

import { ScalewiseError } from '@scalewise/errors';
import type { ChainExplanation } from '@scalewise/events';
import { commonOptions, httpOptions, parseCommand, timeFlag } from '../args.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatExplanation, formatPoolExplanation, type PoolExplanation } from '../format.ts';
import {
  alertManagerApi,
  callOptions,
  getJson,
  type HttpOptions,
  httpOptionsOf,
  httpUsage,
} from '../http.ts';

export const explainUsage = `Usage:
  scalewise explain <event-id> [options]
  scalewise explain --pool P [--at TIME] [options]

With an event id: the chain of cause and effect it belongs to, from the signal or trigger that
started it to what followed, indented by depth, each decision with its rule, inputs, the numbers
it compared and any clamping; then the reasons not to act in force in that chain.
With --pool: the reasons not to act in force at TIME (default now) and the decisions before it.

Options:
  --pool P                the pool
  --at TIME               ISO 8601 or epoch ms (default now)
  --json                  print the API's answer as JSON
${httpUsage(alertManagerApi, 24)}`;

const options = {
  ...commonOptions,
  ...httpOptions,
  pool: { type: 'string' },
  at: { type: 'string' },
  json: { type: 'boolean' },
  'alert-manager': { type: 'string' },
} as const;

export interface ExplainOptions extends HttpOptions {
  target: { id: string } | { pool: string; at: number };
  json: boolean;
}

/** @throws UsageError */
export function parseExplain(
  args: string[],
  env: Record<string, string | undefined>,
): ExplainOptions | 'help' {
  const { values: v, positionals } = parseCommand('explain', args, options, true);
  if (v.help) return 'help';
  if (positionals.length > 1) throw new UsageError(`one event id, got ${positionals.length}`, 'explain');
  const id = positionals[0];
  if (id !== undefined && v.pool !== undefined) {
    throw new UsageError('give an event id or --pool, not both', 'explain');
  }
  if (id === undefined && v.pool === undefined)
    throw new UsageError('give an event id or --pool P', 'explain');
  if (v.at !== undefined && v.pool === undefined) throw new UsageError('--at goes with --pool', 'explain');
  return {
    target:
      id !== undefined
        ? { id }
        : { pool: v.pool as string, at: v.at !== undefined ? timeFlag('explain', 'at', v.at) : Date.now() },
    json: v.json === true,
    ...httpOptionsOf('explain', alertManagerApi, v, env),
  };
}

function isExplanation(x: unknown): x is ChainExplanation {
  const e = x as ChainExplanation;
  return typeof e === 'object' && e !== null && Array.isArray(e.chain) && Array.isArray(e.blocked);
}

export async function runExplain(o: ExplainOptions, ctx: Context): Promise<number> {
  const http = callOptions(o, alertManagerApi, ctx);
  if ('id' in o.target) {
    const x = await getJson<unknown>(`${o.baseUrl}/v1/explain/${encodeURIComponent(o.target.id)}`, http);
    if (!isExplanation(x)) {
      throw new ScalewiseError(
        'DEPENDENCY_UNAVAILABLE',
        'alert-manager answered with something not an explanation',
      );
    }
    const related = x.related ?? [];
    const lines = o.json
      ? [JSON.stringify(x)]
      : formatExplanation({ ...x, related }, o.target.id, ctx.colour);
    ctx.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  }
  const q = new URLSearchParams({ pool: o.target.pool, at: new Date(o.target.at).toISOString() });
  const r = await getJson<PoolExplanation>(`${o.baseUrl}/v1/explain?${q}`, http);
  if (!Array.isArray(r.blocked) || !Array.isArray(r.decisions)) {
    throw new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      'alert-manager answered with something not an explanation',
    );
  }
  const lines = o.json ? [JSON.stringify(r)] : formatPoolExplanation(r, ctx.colour);
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

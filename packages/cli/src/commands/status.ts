/** `scalewise status`: the pools as the decision-engine holds them (GET /v1/pools). */
import { commonOptions, httpOptions, listOf, parseCommand } from '../args.ts';
import type { Context } from '../context.ts';
import { formatStatus, type PoolStatus } from '../format.ts';
import {
  callOptions,
  decisionEngineApi,
  getJson,
  type HttpOptions,
  httpOptionsOf,
  httpUsage,
} from '../http.ts';

export const statusUsage = `Usage: scalewise status [--pool P ...] [--json] [options]

The pools: workers now, desired, min, max, paused or active, dry-run, actions in flight, and
a scale trigger's target still pursued or held (HOLD, until when in UTC).

Options:
  --pool P                  only these pools (an unknown one is an error)
  --json                    the API's answer as JSON
${httpUsage(decisionEngineApi, 26)}`;

const options = {
  ...commonOptions,
  ...httpOptions,
  pool: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  'decision-engine': { type: 'string' },
} as const;

export interface StatusOptions extends HttpOptions {
  pools: string[];
  json: boolean;
}

/** @throws UsageError */
export function parseStatus(args: string[], env: Record<string, string | undefined>): StatusOptions | 'help' {
  const { values: v } = parseCommand('status', args, options);
  if (v.help) return 'help';
  return {
    pools: listOf(v.pool),
    json: v.json === true,
    ...httpOptionsOf('status', decisionEngineApi, v, env),
  };
}

export async function runStatus(o: StatusOptions, ctx: Context): Promise<number> {
  const http = callOptions(o, decisionEngineApi, ctx);
  // An unknown pool is the engine's 404, with its message.
  for (const pool of o.pools) await getJson(`${o.baseUrl}/v1/pools/${encodeURIComponent(pool)}`, http);
  const { pools } = await getJson<{ pools: PoolStatus[] }>(`${o.baseUrl}/v1/pools`, http);
  const shown = o.pools.length ? pools.filter((p) => o.pools.includes(p.pool)) : pools;
  const lines = o.json ? [JSON.stringify({ pools: shown })] : formatStatus(shown, ctx.colour);
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

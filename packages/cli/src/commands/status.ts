/** `scalewise status`: the pools as the decision-engine holds them (GET /v1/pools). */
import { commonOptions, httpOptions, intFlag, listOf, parseCommand, urlFlag } from '../args.ts';
import type { Context } from '../context.ts';
import { formatStatus, type PoolStatus } from '../format.ts';
import { bearerToken, getJson, tokenSourceOf } from '../http.ts';

export const statusUsage = `Usage: scalewise status [--pool P ...] [--json] [options]

The pools: workers now, desired, min, max, paused or active, dry-run, actions in flight, and
a scale trigger's target still pursued or held (HOLD, until when in UTC).

Options:
  --pool P                  only these pools (an unknown one is an error)
  --json                    the API's answer as JSON
  --decision-engine URL     default $SCALEWISE_DECISION_ENGINE_URL or http://127.0.0.1:8082
  --token T                 bearer token (default $SCALEWISE_API_TOKEN)
  --token-file F            a file holding it (default $SCALEWISE_API_TOKEN_FILE)
  --timeout MS              per request (default 8000)
  -h, --help                this help`;

const options = {
  ...commonOptions,
  ...httpOptions,
  pool: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  'decision-engine': { type: 'string' },
} as const;

export interface StatusOptions {
  pools: string[];
  json: boolean;
  baseUrl: string;
  token?: string;
  tokenFile?: string;
  timeoutMs?: number;
}

/** @throws UsageError */
export function parseStatus(args: string[], env: Record<string, string | undefined>): StatusOptions | 'help' {
  const { values: v } = parseCommand('status', args, options);
  if (v.help) return 'help';
  const token = tokenSourceOf('status', v, env);
  return {
    pools: listOf(v.pool),
    json: v.json === true,
    baseUrl: urlFlag(
      'status',
      'decision-engine',
      v['decision-engine'] ?? env.SCALEWISE_DECISION_ENGINE_URL ?? 'http://127.0.0.1:8082',
    ),
    ...token,
    ...(v.timeout !== undefined ? { timeoutMs: intFlag('status', 'timeout', v.timeout, 1) } : {}),
  };
}

export async function runStatus(o: StatusOptions, ctx: Context): Promise<number> {
  const http = {
    service: 'decision-engine',
    token: bearerToken(o),
    timeoutMs: o.timeoutMs ?? ctx.connectTimeoutMs,
  };
  // An unknown pool is the engine's 404, with its message.
  for (const pool of o.pools) await getJson(`${o.baseUrl}/v1/pools/${encodeURIComponent(pool)}`, http);
  const { pools } = await getJson<{ pools: PoolStatus[] }>(`${o.baseUrl}/v1/pools`, http);
  const shown = o.pools.length ? pools.filter((p) => o.pools.includes(p.pool)) : pools;
  const lines = o.json ? [JSON.stringify({ pools: shown })] : formatStatus(shown, ctx.colour);
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/**
 * Delivery of notifications to the configured sinks: a generic webhook (the CloudEvent and the
 * alert as JSON) or a Slack-compatible webhook (text blocks). Each sink has its own circuit
 * breaker; each call a timeout. A 5xx, 429, timeout or refused connection is retriable; any
 * other 4xx is not (the URL or payload is wrong, retrying cannot help).
 */

import type { BusMetrics } from '@scalewise/bus';
import { type Breaker, createBreaker } from '@scalewise/bus';
import type { Config } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { type Notification, slackBody, webhookBody } from '../core/index.ts';

export interface Sink {
  name: string;
  kind: 'webhook' | 'slack';
  breaker: Breaker;
  send(n: Notification): Promise<void>;
}

export type SinkConfigEntry = Config['alerts']['sinks'][number];

export function createSink(
  config: SinkConfigEntry,
  options: { timeoutMs?: number; breaker?: Config['events']['breaker']; metrics?: BusMetrics } = {},
): Sink {
  const timeoutMs = options.timeoutMs ?? 5000;
  const breaker = createBreaker(
    `sink-${config.name}`,
    options.breaker
      ? {
          errorThresholdPercentage: options.breaker.error_threshold_percent,
          resetTimeoutMs: options.breaker.reset_timeout_ms,
          timeoutMs: Math.max(options.breaker.call_timeout_ms, timeoutMs + 1000),
        }
      : { timeoutMs: timeoutMs + 1000 },
    options.metrics,
  );
  const host = new URL(config.url).host;
  return {
    name: config.name,
    kind: config.kind,
    breaker,
    async send(n) {
      const body = config.kind === 'slack' ? slackBody(n) : webhookBody(n);
      await breaker.call(async () => {
        let res: Response;
        try {
          res = await fetch(config.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'user-agent': 'scalewise-alert-manager' },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (err) {
          throw new ScalewiseError(
            'DEPENDENCY_UNAVAILABLE',
            `sink ${config.name} (${host}): ${(err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message}`,
            { cause: err, details: { sink: config.name } },
          );
        }
        await res.body?.cancel().catch(() => undefined);
        if (!res.ok) {
          const retriable = res.status >= 500 || res.status === 429;
          throw new ScalewiseError(
            retriable ? 'DEPENDENCY_UNAVAILABLE' : 'BAD_REQUEST',
            `sink ${config.name} (${host}) answered ${res.status} ${res.statusText}`,
            { retriable, details: { sink: config.name, status: res.status } },
          );
        }
      });
    },
  };
}

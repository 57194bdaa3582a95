/**
 * Seed 004's Redis Streams trigger bridge (adapters/bridge.ts), when `trigger_bridge.enabled`:
 * started with a Redis connection of its own (its reads block), with the same TLS and AUTH as
 * the bus's.
 */
import { redisClientConfig } from '@scalewise/config';
import type { ServiceContext } from '@scalewise/service';
import { Redis } from 'ioredis';
import { createTriggerBridge } from '../adapters/bridge.ts';

/** Starts the bridge if the config enables it; resolves to what stops it (a no-op when off). */
export async function startTriggerBridge(ctx: ServiceContext, service: string): Promise<() => Promise<void>> {
  const { config, bus } = ctx;
  const tb = config.trigger_bridge;
  if (!tb.enabled) return async () => undefined;
  const { url, ...redisOptions } = redisClientConfig(ctx.loaded);
  const redis = new Redis(url, redisOptions);
  const bridge = createTriggerBridge({
    redis,
    publisher: bus.publisher,
    dlq: bus.dlq,
    stream: tb.stream,
    group: tb.group,
    ...(tb.default_pool ? { defaultPool: tb.default_pool } : {}),
    blockMs: tb.block_ms,
    service,
    clusterid: config.cluster_id,
    logger: ctx.telemetry.logger,
  });
  const stop = async () => {
    await bridge.stop();
    await redis.quit().catch(() => undefined);
  };
  try {
    await bridge.start();
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return stop;
}

import { Redis } from 'ioredis';
import { freePort } from './net.ts';

/** What undoes a connection when a test or file ends: node:test's `t` or the fixture's scope. */
interface Scope {
  after(fn: () => unknown): void;
}

/**
 * A connection of its own to the Redis at `url` (as a replica of a service has), connected,
 * at most two retries a command; closed when `scope` ends.
 *
 * @throws the connection's error when Redis does not answer.
 */
export async function connectRedis(url: string, scope: Scope): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  scope.after(() => redis.quit());
  return redis;
}

/**
 * A client of a Redis that is not there (a port nothing listens on), no offline queue and no
 * retries: every command fails at once, as when Redis is gone. Disconnected when `scope` ends.
 */
export async function unreachableRedis(scope: Scope): Promise<Redis> {
  const down = new Redis(await freePort(), '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  down.on('error', () => undefined);
  scope.after(() => down.disconnect());
  await down.connect().catch(() => undefined);
  return down;
}

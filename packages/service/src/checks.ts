/** Readiness checks of the servers every service depends on. */
import { type Breaker, describeKafkaError, type S3Api, S3Error } from '@scalewise/bus';
import type { Redis } from 'ioredis';
import { type Admin, Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import type { ReadinessCheck } from './app.ts';

/**
 * Kafka: the cluster answers a metadata request. Uses its own admin client with no retries
 * and short timeouts, so a stopped broker turns the check red within the check timeout;
 * the connection is dropped after a failure so the next check starts afresh.
 */
export function kafkaCheck(config: KafkaConfig): ReadinessCheck & { close(): Promise<void> } {
  const kafka = new Kafka({
    ...config,
    clientId: `${config.clientId ?? 'scalewise'}-readiness`,
    connectionTimeout: 1000,
    requestTimeout: 1500,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  let admin: Admin | undefined;
  const drop = async () => {
    const a = admin;
    admin = undefined;
    await a?.disconnect().catch(() => undefined);
  };
  return {
    name: 'kafka',
    async check() {
      try {
        if (!admin) {
          admin = kafka.admin({ retry: { retries: 0 } });
          await admin.connect();
        }
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length === 0) throw new Error('the cluster reports no brokers');
      } catch (err) {
        await drop();
        throw new Error(`kafka ${(config.brokers as string[]).join(',')}: ${describeKafkaError(err)}`);
      }
    },
    close: drop,
  };
}

/**
 * Redis: PING answers PONG.
 * @param problem why the connection is not ready, in words (the bus's `redisProblem`)
 */
export function redisCheck(
  redis: Redis,
  degrades?: string,
  problem?: () => string | undefined,
): ReadinessCheck {
  return {
    name: 'redis',
    ...(degrades ? { degrades } : {}),
    async check() {
      if (redis.status !== 'ready') throw new Error(problem?.() ?? `redis connection is ${redis.status}`);
      const pong = await redis.ping();
      if (pong !== 'PONG') throw new Error(`redis answered ${pong} to PING`);
    },
  };
}

/**
 * S3: the dead-letter bucket exists and the credentials may read it (a signed HEAD of the
 * bucket). Only dead letters need it: a service without it is degraded, not unready. Through
 * the S3 breaker when given, so that an outage found by the check opens it, and the breaker's
 * CircuitBreakerStateChanged raises the alert.
 */
export function s3Check(
  s3: Pick<S3Api, 'headBucket'>,
  bucket: string,
  breaker?: Pick<Breaker, 'call'>,
): ReadinessCheck {
  const head = () => s3.headBucket(bucket, { signal: AbortSignal.timeout(1500) });
  return {
    name: 's3',
    degrades: 'records that need a dead letter wait in their partitions (paused, nothing lost)',
    async check() {
      try {
        await (breaker ? breaker.call(head) : head());
      } catch (err) {
        const status = err instanceof S3Error && err.status > 0 ? `HTTP ${err.status} ` : '';
        throw new Error(`s3 bucket ${bucket}: ${status}${(err as Error).message}`);
      }
    },
  };
}

/**
 * External triggers as the outside world sends them: a CloudEvent in Kafka binary content
 * mode from a client the project did not write (Debian's `kcat`), an XADD on the Redis stream
 * in seed 004's format, and (for setting a scene) one from the project's own codec.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { createEvent, type EventData, toKafkaMessage } from '@scalewise/events';
import { testKafka } from '@scalewise/testing';
import type { System } from './harness.ts';

const exec = promisify(execFile);

export type ScaleTrigger = EventData<'io.scalewise.trigger.scale'>;

/**
 * Publishes an io.scalewise.trigger.scale from `source` with the project's codec, for the
 * system's pool unless `data` names another; returns its id.
 */
export async function sendTrigger(
  system: System,
  data: Omit<ScaleTrigger, 'pool'> & { pool?: string },
  source = '/e2e/test',
): Promise<string> {
  const pool = data.pool ?? system.pool;
  const event = createEvent('io.scalewise.trigger.scale', { ...data, pool } as ScaleTrigger, {
    source,
    clusterid: system.clusterId,
  });
  const producer = testKafka(system.stack).producer();
  await producer.connect();
  try {
    const m = toKafkaMessage(event);
    await producer.send({
      topic: system.topic('triggers'),
      acks: -1,
      messages: [{ key: m.key ?? pool, value: m.value, headers: m.headers }],
    });
  } finally {
    await producer.disconnect();
  }
  return event.id;
}

/**
 * Produces a trigger with `kcat` as an external system would: CloudEvents 1.0 binary mode,
 * the attributes as `ce_*` headers (the required ones and the optional `partitionkey` and
 * `clusterid` extensions), `content-type: application/json`, the data as the value, keyed by
 * pool (docs/triggers.md).
 * Returns the event id.
 *
 * @throws Error with kcat's output when it fails (or is not installed: `apt-get install kcat`).
 */
export async function kcatTrigger(
  system: System,
  data: Omit<ScaleTrigger, 'pool'>,
  source = '/ci/kcat',
): Promise<string> {
  const id = `kcat-${randomUUID()}`;
  const headers = {
    ce_specversion: '1.0',
    ce_id: id,
    ce_type: 'io.scalewise.trigger.scale',
    ce_source: source,
    ce_time: new Date().toISOString(),
    // Optional on a trigger (docs/triggers.md: absent, the pool and this cluster); sent here
    // as a producer that knows them would.
    ce_partitionkey: system.pool,
    ce_clusterid: system.clusterId,
    'content-type': 'application/json',
  };
  const args = [
    '-P',
    '-b',
    system.stack.kafka.brokers.join(','),
    '-t',
    system.topic('triggers'),
    '-k',
    system.pool,
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]),
    // The whole value from the file argument (stdin here), one message.
    '-c',
    '1',
  ];
  const child = execFileWithInput('kcat', args, `${JSON.stringify({ ...data, pool: system.pool })}\n`);
  await child;
  return id;
}

async function execFileWithInput(cmd: string, args: string[], input: string): Promise<void> {
  const p = exec(cmd, args, { timeout: 30_000 });
  p.child.stdin?.end(input);
  try {
    await p;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`, { cause: err });
  }
}

/** XADD on the system's bridge stream in seed 004's format (`type`, `pod_count`, `task_id`). */
export async function xaddTrigger(
  system: System,
  fields: { type: 'scale_up' | 'scale_down'; pod_count: number; task_id: string },
): Promise<string> {
  const id = await system.redis.xadd(
    system.bridgeStream,
    '*',
    'type',
    fields.type,
    'pod_count',
    String(fields.pod_count),
    'task_id',
    fields.task_id,
  );
  if (!id) throw new Error('XADD returned no entry id');
  return id;
}

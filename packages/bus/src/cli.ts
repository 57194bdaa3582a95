#!/usr/bin/env node
/**
 * `scalewise replay` and `scalewise dlq list|show|replay`: the bus's operator commands.
 * Endpoints from the environment (the names of `scripts/stack env` and seed 003):
 * KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, S3_ENDPOINT, S3_REGION, S3_BUCKET, S3_ACCESS_KEY_ID,
 * S3_SECRET_ACCESS_KEY. Exits non-zero with one clear line on any error.
 */
import { readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { ScalewiseError } from '@scalewise/errors';
import { type TopicKey, topicKeys, topicName } from '@scalewise/events';
import { Command, InvalidArgumentError } from 'commander';
import { Kafka, logLevel } from 'kafkajs';
import { createBreaker } from './breaker.ts';
import { createS3DeadLetterStore } from './dlq.ts';
import { createPublisher } from './publisher.ts';
import { asReplay, type ReplayRange, replay, replayDeadLetter } from './replay.ts';

const env = process.env;
const tty = process.stderr.isTTY;
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);

function need(name: string): string {
  const v = env[name];
  if (!v)
    throw new ScalewiseError(
      'INVALID_CONFIG',
      `${name} is not set (try: eval "$(scripts/stack env | sed 's/^/export /')")`,
    );
  return v;
}

function kafka(): Kafka {
  return new Kafka({
    clientId: 'scalewise-cli',
    brokers: need('KAFKA_BROKERS').split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
}

function store() {
  const s3 = new S3Client({
    region: env.S3_REGION ?? 'us-east-1',
    forcePathStyle: true,
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
    ...(env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY } }
      : {}),
  });
  return { s3, dlq: createS3DeadLetterStore(s3, env.S3_BUCKET ?? 'scalewise-dlq', createBreaker('s3')) };
}

function parseTime(v: string): number {
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`'${v}' is not a time (RFC 3339 or epoch ms)`);
  return ms;
}

function resolveTopic(t: string): string {
  const prefix = env.KAFKA_TOPIC_PREFIX ?? 'scalewise.';
  return (topicKeys as readonly string[]).includes(t) ? topicName(t as TopicKey, prefix) : t;
}

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',')];

const program = new Command('scalewise')
  .description('Scalewise operator commands (bus)')
  .showHelpAfterError();

program
  .command('replay')
  .description('replay a topic range into its topic (marked replayof) or to stdout as JSON lines')
  .requiredOption('-t, --topic <topic>', 'a topic key (signals, nodes, ...) or a full topic name')
  .option('--from <time>', 'start time, inclusive (RFC 3339 or epoch ms)', parseTime)
  .option('--from-offset <offset>', 'start offset on every partition')
  .option('--to <time>', 'end time, inclusive', parseTime)
  .option('--type <types>', 'event types, full or short, comma-separated', collect)
  .option('--pool <pools>', 'pools, comma-separated', collect)
  .option('--into-topic', 'publish the events again instead of printing them', false)
  .action(
    async (o: {
      topic: string;
      from?: number;
      fromOffset?: string;
      to?: number;
      type?: string[];
      pool?: string[];
      intoTopic: boolean;
    }) => {
      const k = kafka();
      const range: ReplayRange = {
        topic: resolveTopic(o.topic),
        ...(o.fromOffset !== undefined
          ? { from: { offset: o.fromOffset } }
          : o.from !== undefined
            ? { from: o.from }
            : {}),
        ...(o.to !== undefined ? { to: o.to } : {}),
        ...(o.type ? { types: o.type } : {}),
        ...(o.pool ? { pools: o.pool } : {}),
      };
      const progress = (s: { scanned: number; matched: number }) => {
        if (tty && s.scanned % 100 === 0)
          process.stderr.write(`\r${dim(`scanned ${s.scanned}, matched ${s.matched}`)}`);
      };
      let stats: Awaited<ReturnType<typeof replay>>;
      if (o.intoTopic) {
        const producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        const publisher = createPublisher({
          producer,
          breaker: createBreaker('kafka-producer'),
          topicPrefix: env.KAFKA_TOPIC_PREFIX ?? 'scalewise.',
        });
        try {
          stats = await replay(k, range, (e) => publisher.publish(asReplay(e)), progress);
        } finally {
          await producer.disconnect();
        }
      } else {
        stats = await replay(
          k,
          range,
          async (e) => void process.stdout.write(`${JSON.stringify(e)}\n`),
          progress,
        );
      }
      if (tty) process.stderr.write('\r');
      process.stderr.write(
        `replayed ${stats.matched} of ${stats.scanned} records (${stats.undecodable} not decodable) from ${range.topic}\n`,
      );
    },
  );

const dlq = program.command('dlq').description('the dead-letter queue on S3');
dlq
  .command('list')
  .option('-t, --topic <topic>', 'only this topic')
  .option('-n, --limit <n>', 'at most n', (v) => Number.parseInt(v, 10), 100)
  .action(async (o: { topic?: string; limit: number }) => {
    const { dlq: d } = store();
    const items = await d.list({ ...(o.topic ? { topic: resolveTopic(o.topic) } : {}), limit: o.limit });
    for (const i of items)
      process.stdout.write(`${i.lastModified?.toISOString() ?? ''}\t${i.size}\t${i.key}\n`);
    process.stderr.write(`${items.length} dead letter(s) in ${d.bucket}\n`);
  });
dlq.command('show <key>').action(async (key: string) => {
  const { dlq: d } = store();
  process.stdout.write(`${JSON.stringify(await d.get(key), null, 2)}\n`);
});
dlq
  .command('replay <key>')
  .description('put a dead-lettered record back into its topic (optionally with a fixed value)')
  .option('--value-file <file>', 'the fixed record value (JSON) to send instead of the stored one')
  .action(async (key: string, o: { valueFile?: string }) => {
    const { dlq: d } = store();
    const res = await replayDeadLetter(
      kafka(),
      d,
      key,
      o.valueFile ? { value: readFileSync(o.valueFile) } : {},
    );
    process.stderr.write(
      `replayed ${key} into ${res.topic} partition ${res.partition} offset ${res.offset}\n`,
    );
  });

program.parseAsync().catch((err: unknown) => {
  const code = err instanceof ScalewiseError ? `${err.code}: ` : '';
  process.stderr.write(`scalewise: ${code}${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

#!/usr/bin/env node
/**
 * `replay`, `dlq list|show|replay` and `acls`: the bus's operator commands. This file is both the
 * `scalewise-bus` binary (endpoints from the environment, the names of `scripts/stack env`
 * and seed 003: KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, the KAFKA_SECURITY_PROTOCOL family of the
 * configuration, S3_ENDPOINT, S3_REGION, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY or
 * S3_SECRET_ACCESS_KEY_FILE, S3_CA_FILE) and a library: the command functions and
 * {@link busProgram} take their clients as {@link BusCliDeps}, so `scalewise replay` and
 * `scalewise dlq` (packages/cli) run this code with clients built from the configuration.
 * Exits non-zero with one clear line on any error.
 */
import { readFileSync } from 'node:fs';
import { busCliEnvironment, kafkaSecurityFromEnv } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { type TopicKey, topicKeys, topicName } from '@scalewise/events';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { Kafka, logLevel, Partitioners } from 'kafkajs';

export { FlagError, type FlagSpec, type ParsedFlags, parseFlags } from './cli-args.ts';

import { aclCommandLine, applyKafkaAcls, type KafkaRole, kafkaAclBindings, kafkaRoles } from './access.ts';
import { audited, type CommandAudit, cliActor, kafkaAudit } from './audit.ts';
import { createBreaker } from './breaker.ts';
import { createS3DeadLetterStore, type DeadLetterStore } from './dlq.ts';
import { createPublisher } from './publisher.ts';
import { asReplay, type ReplayRange, type ReplayStats, replay, replayDeadLetter } from './replay.ts';
import { createS3Client } from './s3.ts';

/** Where output goes: stdout for results, stderr for progress and summaries. */
export interface CliOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** What the commands need; each client is built only when a command asks for it. */
export interface BusCliDeps {
  kafka(): Kafka;
  deadLetters(): DeadLetterStore;
  /** @default 'scalewise.' */
  topicPrefix?: string;
  /** Full names of single topics (config `events.topics`). */
  topicNames?: Partial<Record<TopicKey, string>>;
  stdout: CliOutput;
  stderr: CliOutput;
  /** @default fs.readFileSync */
  readFile?: (path: string) => Buffer;
  /**
   * Records the commands that change a topic (`replay --into-topic`, `dlq replay`) as
   * AuditRecorded events (audit.ts). Absent: not recorded.
   */
  audit?: CommandAudit;
}

/** A topic key (`signals`, `nodes`, ...) as its Kafka name; any other text is a full name. */
export function resolveTopic(t: string, deps: Pick<BusCliDeps, 'topicPrefix' | 'topicNames'>): string {
  return (topicKeys as readonly string[]).includes(t)
    ? topicName(t as TopicKey, deps.topicPrefix ?? 'scalewise.', deps.topicNames)
    : t;
}

/** An instant as epoch ms or RFC 3339. @throws InvalidArgumentError naming the value. */
export function parseTime(v: string): number {
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`'${v}' is not a time (RFC 3339 or epoch ms)`);
  return ms;
}

function parseLimit(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError(`'${v}' is not a positive integer`);
  return n;
}

export interface ReplayCommandOptions {
  topic: string;
  from?: number;
  fromOffset?: string;
  to?: number;
  type?: string[];
  pool?: string[];
  intoTopic?: boolean;
}

/** The range a `replay` command asks for. Pure. */
export function replayRange(
  o: ReplayCommandOptions,
  deps: Pick<BusCliDeps, 'topicPrefix' | 'topicNames'>,
): ReplayRange {
  return {
    topic: resolveTopic(o.topic, deps),
    ...(o.fromOffset !== undefined
      ? { from: { offset: o.fromOffset } }
      : o.from !== undefined
        ? { from: o.from }
        : {}),
    ...(o.to !== undefined ? { to: o.to } : {}),
    ...(o.type ? { types: o.type } : {}),
    ...(o.pool ? { pools: o.pool } : {}),
  };
}

const dim = (tty: boolean | undefined, s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);

/**
 * Replays a range to stdout (JSON lines) or into its topic (marked `replayof`), with
 * progress on a TTY and a summary line on stderr.
 * @throws ScalewiseError NOT_FOUND when the topic does not exist; Kafka's errors otherwise.
 */
export async function replayCommand(o: ReplayCommandOptions, deps: BusCliDeps): Promise<ReplayStats> {
  const k = deps.kafka();
  const range = replayRange(o, deps);
  const tty = deps.stderr.isTTY;
  const progress = (s: ReplayStats) => {
    if (tty && s.scanned % 100 === 0)
      deps.stderr.write(`\r${dim(tty, `scanned ${s.scanned}, matched ${s.matched}`)}`);
  };
  let stats: ReplayStats;
  if (o.intoTopic) {
    const producer = k.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const publisher = createPublisher({
      producer,
      breaker: createBreaker('kafka-producer'),
      topicPrefix: deps.topicPrefix ?? 'scalewise.',
      ...(deps.topicNames ? { topicNames: deps.topicNames } : {}),
    });
    try {
      stats = await audited(
        deps.audit,
        { action: 'topic.replay', target: range.topic },
        () => replay(k, range, (e) => publisher.publish(asReplay(e)), progress),
        (s) => {
          const { topic: _topic, ...asked } = range;
          return { ...asked, matched: s.matched, scanned: s.scanned };
        },
      );
    } finally {
      await producer.disconnect();
    }
  } else {
    stats = await replay(k, range, async (e) => void deps.stdout.write(`${JSON.stringify(e)}\n`), progress);
  }
  if (tty) deps.stderr.write('\r');
  deps.stderr.write(
    `replayed ${stats.matched} of ${stats.scanned} records (${stats.undecodable} not decodable) from ${range.topic}\n`,
  );
  return stats;
}

/** Lists dead letters (newest keys as S3 lists them), one per line: time, size, key. */
export async function dlqListCommand(o: { topic?: string; limit?: number }, deps: BusCliDeps): Promise<void> {
  const d = deps.deadLetters();
  const items = await d.list({
    ...(o.topic ? { topic: resolveTopic(o.topic, deps) } : {}),
    limit: o.limit ?? 100,
  });
  for (const i of items) deps.stdout.write(`${i.lastModified?.toISOString() ?? ''}\t${i.size}\t${i.key}\n`);
  deps.stderr.write(`${items.length} dead letter(s) in ${d.bucket}\n`);
}

/** Prints one dead letter as indented JSON. */
export async function dlqShowCommand(key: string, deps: BusCliDeps): Promise<void> {
  deps.stdout.write(`${JSON.stringify(await deps.deadLetters().get(key), null, 2)}\n`);
}

/** Puts a dead-lettered record back into its topic, optionally with a fixed value. */
export async function dlqReplayCommand(
  key: string,
  o: { valueFile?: string },
  deps: BusCliDeps,
): Promise<void> {
  const readFile = deps.readFile ?? ((p: string) => readFileSync(p));
  const res = await audited(
    deps.audit,
    { action: 'dlq.replay', target: key },
    () =>
      replayDeadLetter(
        deps.kafka(),
        deps.deadLetters(),
        key,
        o.valueFile ? { value: readFile(o.valueFile) } : {},
      ),
    (r) => ({
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      ...(o.valueFile ? { fixed_value: true } : {}),
    }),
  );
  deps.stderr.write(`replayed ${key} into ${res.topic} partition ${res.partition} offset ${res.offset}\n`);
}

export interface AclsCommandOptions {
  topicPrefix?: string;
  groupPrefix?: string;
  role?: string[];
  apply?: boolean;
}

/**
 * Prints the ACLs of the Scalewise principals as `kafka-acls.sh` command lines, or with
 * `apply` creates them through the admin client (the principal of `deps.kafka()` must be
 * allowed to alter ACLs: a super user).
 * @throws ScalewiseError BAD_REQUEST for an unknown role; Kafka's errors otherwise.
 */
export async function aclsCommand(o: AclsCommandOptions, deps: BusCliDeps): Promise<number> {
  const unknown = (o.role ?? []).filter((r) => !(kafkaRoles as string[]).includes(r));
  if (unknown.length > 0)
    throw new ScalewiseError(
      'BAD_REQUEST',
      `unknown role ${unknown.join(', ')} (roles: ${kafkaRoles.join(', ')})`,
    );
  const bindings = kafkaAclBindings({
    topicPrefix: o.topicPrefix ?? deps.topicPrefix ?? 'scalewise.',
    ...(deps.topicNames ? { topicNames: deps.topicNames } : {}),
    groupPrefix: o.groupPrefix ?? 'scalewise.',
    ...(o.role?.length ? { roles: o.role as KafkaRole[] } : {}),
  });
  if (!o.apply) {
    for (const b of bindings) deps.stdout.write(`${aclCommandLine(b)}\n`);
    return bindings.length;
  }
  const admin = deps.kafka().admin();
  await admin.connect();
  try {
    await applyKafkaAcls(admin, bindings);
  } finally {
    await admin.disconnect();
  }
  deps.stderr.write(`${bindings.length} ACLs in place\n`);
  return bindings.length;
}

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',')];

/**
 * The `replay` and `dlq` commands on a commander program named `name`. Help and parse errors
 * go to `deps.stdout`/`deps.stderr`; with `exitOverride` set by the caller they throw a
 * CommanderError instead of exiting.
 */
export function busProgram(deps: BusCliDeps, name = 'scalewise'): Command {
  const program = new Command(name)
    .description('Scalewise operator commands (bus)')
    .showHelpAfterError()
    .configureOutput({
      writeOut: (s) => void deps.stdout.write(s),
      writeErr: (s) => void deps.stderr.write(s),
    });

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
    .action(async (o: ReplayCommandOptions) => {
      await replayCommand(o, deps);
    });

  const dlq = program.command('dlq').description('the dead-letter queue on S3');
  dlq
    .command('list')
    .description('list dead letters: time, size, key')
    .option('-t, --topic <topic>', 'only this topic')
    .option('-n, --limit <n>', 'at most n', parseLimit, 100)
    .action((o: { topic?: string; limit: number }) => dlqListCommand(o, deps));
  dlq
    .command('show <key>')
    .description('print one dead letter (record, error, attempts) as JSON')
    .action((key: string) => dlqShowCommand(key, deps));
  dlq
    .command('replay <key>')
    .description('put a dead-lettered record back into its topic (optionally with a fixed value)')
    .option('--value-file <file>', 'the fixed record value (JSON) to send instead of the stored one')
    .action((key: string, o: { valueFile?: string }) => dlqReplayCommand(key, o, deps));

  program
    .command('acls')
    .description("print the Kafka ACLs of Scalewise's principals as kafka-acls.sh lines, or apply them")
    .option('--topic-prefix <prefix>', 'the topic prefix (default KAFKA_TOPIC_PREFIX or scalewise.)')
    .option('--group-prefix <prefix>', 'the consumer group prefix', 'scalewise.')
    .option('--role <roles>', `only these, comma-separated: ${kafkaRoles.join(', ')}`, collect)
    .option('--apply', 'create them with the admin client (a super user) instead of printing', false)
    .action(async (o: AclsCommandOptions) => {
      await aclsCommand(o, deps);
    });
  return program;
}

/**
 * Runs `argv` (without node and script) through {@link busProgram}.
 * @returns the exit status: 0, 1 for a failed command, 2 for bad arguments.
 */
export async function runBusCli(argv: string[], deps: BusCliDeps, name = 'scalewise'): Promise<number> {
  const program = busProgram(deps, name);
  program.exitOverride();
  for (const c of program.commands) {
    c.exitOverride();
    for (const sub of c.commands) sub.exitOverride();
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander already printed the message of a usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    const code = err instanceof ScalewiseError ? `${err.code}: ` : '';
    deps.stderr.write(`${name}: ${code}${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/**
 * Clients from the environment, as `scripts/stack env` prints it: the variables are bound in
 * packages/config ({@link busCliEnvironment}).
 */
export function envDeps(env: Record<string, string | undefined> = process.env): BusCliDeps {
  const bound = busCliEnvironment(env);
  const kafka = () =>
    new Kafka({
      clientId: 'scalewise-cli',
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
      ...bound.kafka(),
    });
  return {
    kafka,
    // The replays into a topic are audited as the scalewise CLI's are (audit.ts).
    audit: kafkaAudit({
      kafka,
      clusterid: bound.clusterId,
      actor: cliActor(),
      ...(bound.principal ? { principal: bound.principal } : {}),
      service: 'scalewise-bus',
      topicPrefix: bound.topicPrefix,
    }),
    deadLetters: () => {
      const { bucket, ...s3 } = bound.s3();
      return createS3DeadLetterStore(createS3Client(s3), bucket, createBreaker('s3'));
    },
    topicPrefix: bound.topicPrefix,
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

/** kafkajs' `ssl` and `sasl` from the configuration's variables; bound in packages/config. */
export { kafkaSecurityFromEnv };

if (import.meta.main) {
  process.exitCode = await runBusCli(process.argv.slice(2), envDeps(), 'scalewise-bus');
}

/**
 * A Kafka broker, a cluster of them, a Redis or an S3 server of the test's own, started with the
 * project's stack scripts in scratch run directories on free ports, so a test can stop, SIGKILL
 * and restart a real server without touching the shared one. Uses the cached installs. With
 * `secure`/`tls` they run the stack's secure modes (docs/security.md, "Transport"): SASL_SSL with
 * SCRAM users and ACLs, Redis over TLS with an ACL user, S3 over https.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, repositoryRoot } from '@scalewise/testing';
import { Kafka, logLevel } from 'kafkajs';

const run = promisify(execFile);

export interface PrivateServer {
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGKILLs the server's process group, as a crash would: no clean shutdown. */
  kill(): Promise<void>;
  /** Stops the server and deletes its data. */
  destroy(): Promise<void>;
}

/** One broker of a {@link PrivateKafka}: stop, start and kill act on it alone. */
export interface PrivateBroker extends PrivateServer {
  /** Its KRaft node.id (the index + 1). */
  nodeId: number;
  address: string;
}

/** stop, start, kill and destroy act on every broker (side by side). */
export interface PrivateKafka extends PrivateServer {
  /** Every broker's `host:port`, by index. */
  brokers: string[];
  /** One broker by index (0 to brokers.length - 1). */
  broker(index: number): PrivateBroker;
  /**
   * The index of the broker that is the KRaft quorum's leader (the active controller), as the
   * nodes' quorum-state files say (the highest epoch wins); undefined when none knows.
   */
  quorumLeader(): number | undefined;
}

export interface PrivateKafkaOptions {
  /**
   * How many brokers: each a combined broker + controller KRaft node with its own node.id,
   * data and ports, one quorum and cluster id. With more than one, topics get 3 replicas
   * (fewer with fewer brokers) by default and min.insync.replicas 2, the internal topics
   * likewise. @default 1 (replication 1, as the shared stack's)
   */
  brokers?: number;
  /** Extra server.properties of every broker, e.g. `{ 'broker.session.timeout.ms': 3000 }`. */
  properties?: Record<string, number | string>;
  /**
   * The stack's secure mode alone (`SCALEWISE_KAFKA_SECURE=only`, one broker): a SASL_SSL
   * listener, SCRAM-SHA-512 users made at format time (`admin` and one per Scalewise role,
   * `scalewise-<role>`), the StandardAuthorizer with the ACLs of access.ts for the prefixes.
   * @default plaintext
   */
  secure?: true | SecureKafkaOptions;
}

export interface SecureKafkaOptions {
  /** Where the CA and the certificates go (share one with startPrivateRedis/S3). @default a new one */
  tlsDir?: string;
  /** The ACLs' topic prefix. @default 'scalewise.' */
  topicPrefix?: string;
  /** The ACLs' consumer group prefix. @default 'scalewise.' */
  groupPrefix?: string;
}

/** A user of a secure server: its name, password and a file holding the password. */
export interface PrivateUser {
  username: string;
  password: string;
  passwordFile: string;
}

/** What clients of a secure Kafka need besides the brokers (SASL_SSL, SCRAM-SHA-512). */
export interface PrivateKafkaSecurity {
  /** The CA that signed the broker's certificate (PEM file). */
  caFile: string;
  tlsDir: string;
  /** A SCRAM user made at format time: `admin` (a super user) or `scalewise-<role>`. */
  user(name: string): PrivateUser;
}

export interface PrivateRedis extends PrivateServer {
  url: string;
  /** With `tls`: the ACL user (AUTH) and the CA file; the URL is `rediss://`. */
  user?: PrivateUser;
  caFile?: string;
}

export interface PrivateS3 extends PrivateServer {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** With `tls`: a file holding the secret key, and the CA file; the endpoint is https. */
  secretAccessKeyFile?: string;
  caFile?: string;
}

async function startPrivate(
  component: 'kafka' | 'redis' | 's3',
  vars: Record<string, number | string>,
  baseEnv: NodeJS.ProcessEnv = process.env,
): Promise<PrivateServer & { runDir: string }> {
  const runDir = mkdtempSync(join(tmpdir(), `scalewise-private-${component}-`));
  const env = {
    ...baseEnv,
    // Plain unless asked for, whatever the developer's shell exports.
    SCALEWISE_KAFKA_SECURE: '',
    SCALEWISE_REDIS_SECURE: '',
    SCALEWISE_S3_SECURE: '',
    SCALEWISE_TLS_DIR: join(runDir, 'tls'),
    SCALEWISE_RUN_DIR: runDir,
    ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)])),
  };
  const stack = join(repositoryRoot(), 'scripts', 'stack');
  const start = async () => {
    await run(stack, ['up', component], { env, timeout: 180_000 });
  };
  const stop = async () => {
    await run(stack, ['down', component], { env, timeout: 60_000 });
  };
  await start();
  return {
    runDir,
    start,
    stop,
    async kill() {
      const pidFile = join(runDir, component, `${component}.pid`);
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        process.kill(pid, 'SIGKILL');
      }
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      rmSync(pidFile, { force: true });
    },
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/** A KRaft cluster id: 16 random bytes, URL-safe base64 (not starting with '-', as Kafka's). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * A kafkajs client of a secure private Kafka as its `admin` super user (SASL_SSL with
 * SCRAM-SHA-512, the CA of its TLS directory), kafkajs' logs off: for a test's own setup.
 */
export function adminKafkaClient(
  kafka: PrivateKafka & { security: PrivateKafkaSecurity },
  clientId: string,
): Kafka {
  const admin = kafka.security.user('admin');
  return new Kafka({
    clientId,
    brokers: kafka.brokers,
    ssl: { ca: [readFileSync(kafka.security.caFile, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: admin.username, password: admin.password },
    logLevel: logLevel.NOTHING,
  });
}

export async function startPrivateKafka(
  options: PrivateKafkaOptions & { secure: NonNullable<PrivateKafkaOptions['secure']> },
): Promise<PrivateKafka & { security: PrivateKafkaSecurity }>;
export async function startPrivateKafka(options?: PrivateKafkaOptions): Promise<PrivateKafka>;
export async function startPrivateKafka(
  options: PrivateKafkaOptions = {},
): Promise<PrivateKafka & { security?: PrivateKafkaSecurity }> {
  if (options.secure) return startSecureKafka(options, options.secure === true ? {} : options.secure);
  const n = options.brokers ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`brokers must be an integer >= 1, got ${n}`);
  const nodes: { port: number; controller: number }[] = [];
  for (let i = 0; i < n; i++) nodes.push({ port: await freePort(), controller: await freePort() });
  const extra = Object.entries(options.properties ?? {}).map(([k, v]) => `${k}=${v}`);
  const common: Record<string, number | string> =
    n === 1
      ? {}
      : {
          SCALEWISE_KAFKA_QUORUM_VOTERS: nodes.map((b, i) => `${i + 1}@127.0.0.1:${b.controller}`).join(','),
          SCALEWISE_KAFKA_CLUSTER_ID: clusterId(),
          SCALEWISE_KAFKA_REPLICATION: Math.min(n, 3),
          SCALEWISE_KAFKA_MIN_ISR: Math.min(n - 1, 2),
        };
  if (extra.length > 0) common.SCALEWISE_KAFKA_PROPERTIES = extra.join('\n');
  // Side by side: a node of a quorum of several is not ready before a majority runs.
  const started = await Promise.allSettled(
    nodes.map((b, i) =>
      startPrivate('kafka', {
        ...common,
        SCALEWISE_KAFKA_PORT: b.port,
        SCALEWISE_KAFKA_CONTROLLER_PORT: b.controller,
        ...(n === 1 ? {} : { SCALEWISE_KAFKA_NODE_ID: i + 1 }),
      }),
    ),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.kill().then(() => s.destroy())));
    throw failed.reason;
  }
  const brokers = nodes.map((b) => `127.0.0.1:${b.port}`);
  const broker = (index: number): PrivateBroker => {
    const server = servers[index];
    if (!server) throw new Error(`no broker ${index}: there are ${n}`);
    return { ...server, nodeId: index + 1, address: brokers[index] as string };
  };
  const quorumLeader = (): number | undefined => {
    let best: { epoch: number; id: number } | undefined;
    for (const server of servers) {
      try {
        const file = join(server.runDir, 'kafka', 'data', '__cluster_metadata-0', 'quorum-state');
        const q = JSON.parse(readFileSync(file, 'utf8')) as { leaderId?: number; leaderEpoch?: number };
        if (q.leaderId !== undefined && q.leaderId > 0 && (q.leaderEpoch ?? -1) > (best?.epoch ?? -1)) {
          best = { epoch: q.leaderEpoch ?? 0, id: q.leaderId };
        }
      } catch {
        // not written yet, or being rewritten
      }
    }
    return best === undefined ? undefined : best.id - 1;
  };
  if (n === 1) return { ...broker(0), brokers, broker, quorumLeader };
  const all = (f: (s: PrivateServer) => Promise<void>) => async () => {
    await Promise.all(servers.map(f));
  };
  return {
    brokers,
    broker,
    quorumLeader,
    start: all((s) => s.start()),
    stop: all((s) => s.stop()),
    kill: all((s) => s.kill()),
    // The data goes: no clean shutdown needed (one broker left of a quorum would wait for it).
    destroy: all(async (s) => {
      await s.kill().catch(() => undefined);
      await s.destroy();
    }),
  };
}

/** A user's password, as the stack scripts wrote it. */
function userAt(dir: string, username: string): PrivateUser {
  const passwordFile = join(dir, `${username}.password`);
  return { username, passwordFile, password: readFileSync(passwordFile, 'utf8').trim() };
}

/** A new directory for the TLS material of one test's servers. */
export function privateTlsDir(): string {
  return mkdtempSync(join(tmpdir(), 'scalewise-private-tls-'));
}

/**
 * A CA nobody trusts, made in `dir` (for the refusals of an untrusted certificate): its
 * certificate's path.
 */
export function untrustedCa(dir: string): string {
  const pem = join(dir, 'other-ca.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-days', '1', '-keyout', join(dir, 'other-ca.key'), '-out', pem, '-subj', '/CN=a CA nobody trusts'],
    ],
    { stdio: 'ignore' },
  );
  return pem;
}

async function startSecureKafka(
  options: PrivateKafkaOptions,
  secure: SecureKafkaOptions,
): Promise<PrivateKafka & { security: PrivateKafkaSecurity }> {
  if ((options.brokers ?? 1) !== 1) throw new Error('a secure private Kafka has one broker');
  const [port, securePort, controller] = [await freePort(), await freePort(), await freePort()];
  const tlsDir = secure.tlsDir ?? privateTlsDir();
  const extra = Object.entries(options.properties ?? {}).map(([k, v]) => `${k}=${v}`);
  const server = await startPrivate('kafka', {
    SCALEWISE_KAFKA_SECURE: 'only',
    SCALEWISE_KAFKA_PORT: port,
    SCALEWISE_KAFKA_SECURE_PORT: securePort,
    SCALEWISE_KAFKA_CONTROLLER_PORT: controller,
    SCALEWISE_TLS_DIR: tlsDir,
    SCALEWISE_KAFKA_ACL_TOPIC_PREFIX: secure.topicPrefix ?? 'scalewise.',
    SCALEWISE_KAFKA_ACL_GROUP_PREFIX: secure.groupPrefix ?? 'scalewise.',
    ...(extra.length > 0 ? { SCALEWISE_KAFKA_PROPERTIES: extra.join('\n') } : {}),
  });
  const address = `127.0.0.1:${securePort}`;
  const broker = (index: number): PrivateBroker => {
    if (index !== 0) throw new Error(`no broker ${index}: there is 1`);
    return { ...server, nodeId: 1, address };
  };
  const users = join(server.runDir, 'kafka', 'users');
  return {
    ...broker(0),
    brokers: [address],
    broker,
    quorumLeader: () => 0,
    security: { caFile: join(tlsDir, 'ca.pem'), tlsDir, user: (name) => userAt(users, name) },
  };
}

/**
 * @param options.appendOnly keep the data across a restart (the append-only file).
 * @param options.tls the stack's secure mode alone (`SCALEWISE_REDIS_SECURE=only`): TLS with the
 * certificate of `tlsDir` (a new directory by default), the `scalewise` ACL user, no default user.
 */
export async function startPrivateRedis(
  options: { appendOnly?: boolean; tls?: boolean; tlsDir?: string } = {},
): Promise<PrivateRedis> {
  const [port, tlsPort] = [await freePort(), await freePort()];
  const tlsDir = options.tls ? (options.tlsDir ?? privateTlsDir()) : undefined;
  const server = await startPrivate('redis', {
    SCALEWISE_REDIS_PORT: port,
    ...(options.appendOnly ? { SCALEWISE_REDIS_APPENDONLY: 'yes' } : {}),
    ...(tlsDir
      ? { SCALEWISE_REDIS_SECURE: 'only', SCALEWISE_REDIS_TLS_PORT: tlsPort, SCALEWISE_TLS_DIR: tlsDir }
      : {}),
  });
  if (!tlsDir) return { ...server, url: `redis://127.0.0.1:${port}` };
  return {
    ...server,
    url: `rediss://127.0.0.1:${tlsPort}`,
    user: userAt(join(server.runDir, 'redis', 'users'), 'scalewise'),
    caFile: join(tlsDir, 'ca.pem'),
  };
}

/**
 * An s3proxy of the test's own. With `tls` the stack's secure mode alone
 * (`SCALEWISE_S3_SECURE=only`): https with the certificate of `tlsDir`, a generated secret key.
 */
export async function startPrivateS3(options: { tls?: boolean; tlsDir?: string } = {}): Promise<PrivateS3> {
  const [port, tlsPort] = [await freePort(), await freePort()];
  const tlsDir = options.tls ? (options.tlsDir ?? privateTlsDir()) : undefined;
  const { S3_SECRET_ACCESS_KEY: _secret, S3_ACCESS_KEY_ID: _id, ...rest } = process.env;
  const server = await startPrivate(
    's3',
    {
      SCALEWISE_S3_PORT: port,
      ...(tlsDir
        ? { SCALEWISE_S3_SECURE: 'only', SCALEWISE_S3_TLS_PORT: tlsPort, SCALEWISE_TLS_DIR: tlsDir }
        : {}),
    },
    rest,
  );
  const base = { ...server, region: 'us-east-1', accessKeyId: 'scalewise' };
  if (!tlsDir) return { ...base, endpoint: `http://127.0.0.1:${port}`, secretAccessKey: 'scalewise-secret' };
  const secretAccessKeyFile = join(server.runDir, 's3', 'secret-access-key');
  return {
    ...base,
    endpoint: `https://127.0.0.1:${tlsPort}`,
    secretAccessKey: readFileSync(secretAccessKeyFile, 'utf8').trim(),
    secretAccessKeyFile,
    caFile: join(tlsDir, 'ca.pem'),
  };
}

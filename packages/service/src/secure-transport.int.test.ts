// Every service's connections on servers that demand who they are and encrypt the way there:
// Kafka with SASL_SSL (SCRAM-SHA-512, a user and ACLs per service), Redis over TLS with an ACL
// user, S3 over https, all three signed by one private CA (the stack's secure modes, started
// here on private ports). The services are built with the kit from YAML, as main.ts does; the
// refusals (a wrong password, an untrusted certificate, a missing ACL) must each end in an
// error that names its cause, in seconds, without a restart loop.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  type Breaker,
  createBreaker,
  createPublisher,
  type KafkaRole,
  kafkaAccess,
  type Subscriber,
} from '@scalewise/bus';
import {
  adminKafkaClient,
  type PrivateKafka,
  type PrivateKafkaSecurity,
  type PrivateRedis,
  type PrivateS3,
  privateTlsDir,
  startPrivateKafka,
  startPrivateRedis,
  startPrivateS3,
  untrustedCa,
} from '@scalewise/bus/test-support';
import { loadConfig } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import {
  type AnyScalewiseEvent,
  createEvent,
  type EventType,
  eventTypesOfTopic,
  sampleData,
  type TopicKey,
} from '@scalewise/events';
import { uniqueName, waitFor } from '@scalewise/testing';
import { createService, type Service } from './index.ts';

const services = [
  'metrics-listener',
  'decision-engine',
  'node-manager',
  'min-enforcer',
  'state-sync',
  'alert-manager',
] as const satisfies readonly KafkaRole[];

let tlsDir: string;
let kafka: PrivateKafka & { security: PrivateKafkaSecurity };
let redis: PrivateRedis;
let s3: PrivateS3;
/** A CA that signed none of the servers. */
let otherCa: string;
const running: Service[] = [];

before(async () => {
  tlsDir = privateTlsDir();
  [kafka, redis, s3] = await Promise.all([
    startPrivateKafka({ secure: { tlsDir } }),
    startPrivateRedis({ tls: true, tlsDir }),
    startPrivateS3({ tls: true, tlsDir }),
  ]);
  otherCa = untrustedCa(tlsDir);
});

after(async () => {
  await Promise.all(running.map((s) => s.stop().catch(() => undefined)));
  await Promise.all([kafka?.destroy(), redis?.destroy(), s3?.destroy()]);
  if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
});

interface Variant {
  kafkaUser?: string;
  kafkaPassword?: string;
  /** A password file of the test's own, instead of the user's. */
  kafkaPasswordFile?: string;
  /** Extra top-level YAML (a process's start_retry, its log level). */
  extra?: string;
  kafkaCa?: string;
  redisPassword?: string;
  redisCa?: string;
  s3Secret?: string;
  s3Ca?: string;
}

/** A service's YAML: its own SCRAM user, Redis' ACL user and S3's key, every CA the servers'. */
function yamlFor(service: string, v: Variant = {}): string {
  const user = kafka.security.user(v.kafkaUser ?? `scalewise-${service}`);
  const password = v.kafkaPassword
    ? `password: "${v.kafkaPassword}"`
    : `password_file: "${v.kafkaPasswordFile ?? user.passwordFile}"`;
  const redisUser = redis.user as NonNullable<PrivateRedis['user']>;
  const redisPassword = v.redisPassword
    ? `password: "${v.redisPassword}"`
    : `password_file: "${redisUser.passwordFile}"`;
  return `
autoscaler:
  pools: [{ name: workers }]
events:
  partitions: 2
  retry: { attempts: 2, initial_ms: 50, max_ms: 100 }
kafka:
  brokers: [${kafka.brokers.join(', ')}]
  security:
    protocol: SASL_SSL
    mechanism: SCRAM-SHA-512
    username: ${user.username}
    ${password}
    ca_file: "${v.kafkaCa ?? kafka.security.caFile}"
redis:
  url: ${redis.url}
  username: ${redisUser.username}
  ${redisPassword}
  ca_file: "${v.redisCa ?? redis.caFile}"
s3:
  endpoint: ${s3.endpoint}
  region: ${s3.region}
  bucket: ${uniqueName('secure-dlq')}
  access_key_id: ${s3.accessKeyId}
  secret_access_key: "${v.s3Secret ?? s3.secretAccessKey}"
  ca_file: "${v.s3Ca ?? s3.caFile}"
http: { host: 127.0.0.1, port: 0 }
${v.extra ?? 'telemetry: { log_level: silent }'}
shutdown_timeout_seconds: 10
`;
}

function configFor(service: string, v: Variant = {}) {
  return loadConfig({ env: {}, text: yamlFor(service, v) });
}

const quiet = { logDestination: new Writable({ write: (_c, _e, done) => done() }) };

async function build(
  service: string,
  v: Variant = {},
  handlers?: Record<string, (e: AnyScalewiseEvent) => Promise<void>>,
): Promise<Service> {
  const s = await createService({
    name: service,
    config: configFor(service, v),
    telemetry: quiet,
    ...(handlers ? { handlers: () => handlers as never, fromBeginning: true } : {}),
  });
  running.push(s);
  return s;
}

async function readyz(s: Service): Promise<{ status: number; checks: Record<string, { error?: string }> }> {
  const res = await s.app.inject({ method: 'GET', url: '/readyz' });
  return {
    status: res.statusCode,
    checks: (res.json() as { checks: Record<string, { error?: string }> }).checks,
  };
}

/** One event of a type that travels on `topic`. */
function eventOn(topic: TopicKey): AnyScalewiseEvent {
  const type = eventTypesOfTopic(topic)[0] as EventType;
  return createEvent(type, sampleData[type] as never, {
    source: '/secure-transport-test',
    clusterid: 'local',
    partitionkey: 'workers',
  }) as AnyScalewiseEvent;
}

/** `fn`'s rejection, and how long it took. */
async function rejection(fn: () => Promise<unknown>): Promise<{ err: Error; ms: number }> {
  const t0 = Date.now();
  try {
    await fn();
  } catch (err) {
    return { err: err as Error, ms: Date.now() - t0 };
  }
  assert.fail('expected a rejection');
}

/**
 * Starts a subscriber of `s`'s bus, as `groupId` on `topic` (handling `type`), that Kafka
 * refuses; resolves with why it gave up (its start's rejection or its failure), how often
 * kafkajs crashed, counted 3 s after it gave up (no restart loop), and the subscriber.
 */
async function givesUp(
  s: Service,
  groupId: string,
  topic: TopicKey,
  type: EventType,
): Promise<{ why: string; crashes: number; sub: Subscriber }> {
  const sub = s.bus.subscribe({
    groupId,
    topics: [topic],
    handlers: { [type]: async () => undefined } as never,
  });
  let crashes = 0;
  sub.consumer.on(sub.consumer.events.CRASH, () => {
    crashes += 1;
  });
  let rejected: string | undefined;
  sub.start().catch((err: Error) => {
    rejected = err.message;
  });
  const why = await waitFor(() => rejected ?? sub.failure(), {
    timeoutMs: 20_000,
    what: 'the consumer to give up',
  });
  await new Promise((r) => setTimeout(r, 3000));
  return { why, crashes, sub };
}

/** A publisher as Kafka's super user, for the events the services consume. */
async function adminPublisher(): Promise<{
  publish(e: AnyScalewiseEvent): Promise<void>;
  stop(): Promise<void>;
}> {
  const producer = adminKafkaClient(kafka, 'secure-test-admin').producer({
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const breaker: Breaker = createBreaker('test-admin');
  const publisher = createPublisher({ producer, breaker, topicPrefix: 'scalewise.' });
  return {
    publish: (e) => publisher.publish(e),
    stop: async () => {
      breaker.shutdown();
      await producer.disconnect();
    },
  };
}

describe('services on Kafka with SASL_SSL, Redis over TLS with AUTH, S3 over https', () => {
  test('each of the six services connects as its own user: ready, publishes to its topics, consumes its own', async () => {
    const admin = await adminPublisher();
    try {
      await Promise.all(
        services.map(async (name) => {
          const access = kafkaAccess[name];
          const consumed = access.reads[0];
          const received: AnyScalewiseEvent[] = [];
          const sent = consumed ? eventOn(consumed) : undefined;
          const s = await build(
            name,
            {},
            sent
              ? {
                  [sent.type]: async (e) => {
                    received.push(e);
                  },
                }
              : undefined,
          );
          await s.start();
          const r = await readyz(s);
          assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.checks)}`);
          // Acknowledged by the broker (acks=all): the user may write there.
          for (const topic of access.writes) await s.bus.publisher.publish(eventOn(topic));
          if (sent) {
            await admin.publish(sent);
            await waitFor(() => received.some((e) => e.id === sent.id), {
              timeoutMs: 30_000,
              what: `${name} receives ${sent.type} on ${consumed}`,
            });
          }
          // Redis: the idempotency store round-trips over TLS as the ACL user.
          assert.equal(await s.bus.redis.ping(), 'PONG');
          await s.stop();
        }),
      );
    } finally {
      await admin.stop();
    }
  });

  test('a wrong Kafka password: start fails in seconds naming the SASL authentication, and /readyz names it', async () => {
    const s = await build('node-manager', { kafkaPassword: 'not-the-password' });
    const { err, ms } = await rejection(() => s.start());
    assert.ok(err instanceof ScalewiseError, String(err));
    assert.match(err.message, /SASL authentication failed/);
    assert.equal(err.retriable, false);
    assert.ok(ms < 10_000, `took ${ms} ms`);
    const r = await readyz(s);
    assert.equal(r.status, 503);
    assert.match(r.checks.kafka?.error ?? '', /SASL authentication failed/);
  });

  test('a CA that did not sign the broker: start fails naming the untrusted certificate', async () => {
    const s = await build('node-manager', { kafkaCa: otherCa });
    const { err, ms } = await rejection(() => s.start());
    assert.match(err.message, /TLS handshake failed: the server's certificate is not signed by a trusted CA/);
    assert.equal((err as ScalewiseError).retriable, false);
    assert.ok(ms < 20_000, `took ${ms} ms`);
  });

  test('a topic without an ACL: publishing fails naming TOPIC_AUTHORIZATION_FAILED and the topic; its own topics still work', async () => {
    const s = await build('metrics-listener');
    await s.start();
    assert.ok(!kafkaAccess['metrics-listener'].writes.includes('decisions'));
    const { err } = await rejection(() => s.bus.publisher.publish(eventOn('decisions')));
    assert.match(err.message, /TOPIC_AUTHORIZATION_FAILED/);
    assert.match(err.message, /scalewise\.decisions/);
    await s.bus.publisher.publish(eventOn('metrics'));
  });

  test('a topic it may not read: the consumer stops naming TOPIC_AUTHORIZATION_FAILED and the topic, once', async () => {
    const s = await build('node-manager');
    await s.start();
    assert.ok(!kafkaAccess['node-manager'].reads.includes('metrics'));
    const { why, crashes, sub } = await givesUp(
      s,
      'scalewise.node-manager',
      'metrics',
      'io.scalewise.PoolMetricsObserved',
    );
    assert.match(why, /TOPIC_AUTHORIZATION_FAILED/);
    assert.match(why, /scalewise\.metrics/);
    assert.ok(crashes <= 1, `${crashes} crashes`);
    assert.match((await readyz(s)).checks.consumer?.error ?? '', /TOPIC_AUTHORIZATION_FAILED/);
    await sub.stop(5000);
  });

  test('a consumer group without an ACL: the consumer stops naming GROUP_AUTHORIZATION_FAILED and the group, once', async () => {
    const s = await build('node-manager');
    await s.start();
    const { why, crashes, sub } = await givesUp(
      s,
      'scalewise.decision-engine',
      'decisions',
      'io.scalewise.ScaleUpDecision',
    );
    assert.match(why, /GROUP_AUTHORIZATION_FAILED/);
    assert.match(why, /consumer group scalewise\.decision-engine/);
    assert.ok(crashes <= 1, `${crashes} crashes`);
    await sub.stop(5000);
  });

  test('Redis: a wrong password makes /readyz name the refused credentials', async () => {
    const s = await build('alert-manager', { redisPassword: 'not-the-password' });
    await s.start();
    const r = await waitFor(
      async () => {
        const x = await readyz(s);
        return /WRONGPASS/.test(x.checks.redis?.error ?? '') ? x : undefined;
      },
      { timeoutMs: 10_000, what: '/readyz naming WRONGPASS' },
    );
    assert.equal(r.status, 503);
    assert.match(r.checks.redis?.error ?? '', /Redis refused the credentials/);
  });

  test('Redis: a CA that did not sign the server makes /readyz name the certificate', async () => {
    const s = await build('alert-manager', { redisCa: otherCa });
    await s.start();
    const r = await waitFor(
      async () => {
        const x = await readyz(s);
        return /TLS handshake failed/.test(x.checks.redis?.error ?? '') ? x : undefined;
      },
      { timeoutMs: 10_000, what: '/readyz naming the certificate' },
    );
    assert.equal(r.status, 503);
    assert.match(r.checks.redis?.error ?? '', /not signed by a trusted CA/);
  });

  test('S3: a wrong secret key: start fails naming the refused credentials', async () => {
    const s = await build('state-sync', { s3Secret: 'not-the-secret' });
    const { err } = await rejection(() => s.start());
    assert.match(err.message, /403/);
    assert.match(err.message, /wrong access key id or secret key|SignatureDoesNotMatch|InvalidAccessKeyId/);
  });

  test('S3: a CA that did not sign the server: start fails naming the certificate', async () => {
    const s = await build('state-sync', { s3Ca: otherCa });
    const { err } = await rejection(() => s.start());
    assert.match(err.message, /TLS handshake failed: the server's certificate is not signed by a trusted CA/);
  });
});

/** A service run by runService in a process of its own (run-service.fixture.ts), its log lines read. */
interface ServiceProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  url(): Promise<string>;
  count(msg: string, level?: string): number;
}

function runAsProcess(name: string, type: string, yaml: string, file: string): ServiceProcess {
  writeFileSync(file, yaml);
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=TimeoutNegativeWarning',
      join(import.meta.dirname, 'run-service.fixture.ts'),
      name,
      type,
    ],
    {
      // Only what the test names: no KAFKA_* or REDIS_* of the runner's environment.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SCALEWISE_CONFIG: file },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a JSON line
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    url: () =>
      waitFor(() => lines.find((l) => l.msg === 'listening')?.address as string | undefined, {
        timeoutMs: 20_000,
        what: `${name} to listen`,
      }),
    count: (msg, level) =>
      lines.filter((l) => l.msg === msg && (level === undefined || l.level === level)).length,
  };
}

async function probe(url: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const refusedLog = 'start failed on a dependency: the process stays up (not ready) and tries again';

describe('a service process whose start Kafka refuses (runService)', () => {
  const procs: ServiceProcess[] = [];
  after(() => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });

  test('a wrong password file: not ready naming SASL authentication, logged once, retried; the corrected file makes it ready and it handles an event, without a restart', async () => {
    const name = 'node-manager';
    const consumed = kafkaAccess[name].reads[0] as TopicKey;
    const sent = eventOn(consumed);
    const passwordFile = join(tlsDir, `${uniqueName('password')}.txt`);
    writeFileSync(passwordFile, 'not-the-password\n');
    const p = runAsProcess(
      name,
      sent.type,
      yamlFor(name, {
        kafkaPasswordFile: passwordFile,
        extra: 'telemetry: { log_level: debug }\nstart_retry: { initial_ms: 200, max_ms: 800 }',
      }),
      join(tlsDir, `${uniqueName('config')}.yaml`),
    );
    procs.push(p);
    const url = await p.url();
    const t0 = Date.now();
    const notReady = await waitFor(
      async () => {
        const r = await probe(url, '/readyz');
        const checks = r.body.checks as Record<string, { error?: string }>;
        return /SASL authentication failed/.test(checks.kafka?.error ?? '') &&
          /SASL authentication failed/.test(checks.start?.error ?? '')
          ? r
          : undefined;
      },
      { timeoutMs: 15_000, what: '/readyz naming the SASL authentication' },
    );
    assert.equal(notReady.status, 503);
    assert.ok(Date.now() - t0 < 15_000);
    assert.equal((await probe(url, '/healthz')).status, 200);

    // Several attempts, one error line: the repeats are at debug level only.
    await waitFor(() => p.count('start failed again') >= 3 || undefined, {
      timeoutMs: 30_000,
      what: 'three more attempts',
    });
    assert.equal(p.child.exitCode, null, 'the process is still up');
    assert.equal(p.count(refusedLog, 'error'), 1);
    assert.equal(p.count('start failed', 'fatal'), 0);

    writeFileSync(passwordFile, `${kafka.security.user(`scalewise-${name}`).password}\n`);
    let last: unknown;
    await waitFor(
      async () => {
        const r = await probe(url, '/readyz');
        last = r.body;
        return r.status === 200 ? true : undefined;
      },
      { timeoutMs: 30_000, what: '/readyz 200 once the password file is right' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}; log: ${JSON.stringify(p.lines.slice(-8))}`);
    });
    assert.equal(p.count('started after failed attempts'), 1);
    const admin = await adminPublisher();
    try {
      await admin.publish(sent);
    } finally {
      await admin.stop();
    }
    await waitFor(() => p.lines.some((l) => l.handled === sent.id) || undefined, {
      timeoutMs: 30_000,
      what: `${name} handles ${sent.type}`,
    });
    assert.equal(p.count(refusedLog, 'error'), 1);

    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
  });

  test('SIGTERM while it waits to retry: drains and exits 0 at once', async () => {
    const name = 'node-manager';
    const p = runAsProcess(
      name,
      'io.scalewise.ScaleUpDecision',
      yamlFor(name, {
        kafkaPassword: 'not-the-password',
        extra: 'telemetry: { log_level: info }\nstart_retry: { initial_ms: 60000, max_ms: 60000 }',
      }),
      join(tlsDir, `${uniqueName('config')}.yaml`),
    );
    procs.push(p);
    await p.url();
    await waitFor(() => p.count(refusedLog) === 1 || undefined, {
      timeoutMs: 15_000,
      what: 'the first refusal',
    });
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  });
});

// The scalewise binary as an operator runs it, against the real broker of the stack; the
// REST commands against a small local server speaking alert-manager's and the
// decision-engine's contracts from fixture events (our own services' stand-ins; the explain
// answers are alert-manager's own core, which is why this file lives in e2e/).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { explain, reasonsInForce } from '@scalewise/alert-manager/core';
import { cliActor, createBreaker, createPublisher } from '@scalewise/bus';
import { chainPositions, scaleUpChain } from '@scalewise/cli/test-fixtures';
import {
  type AnyScalewiseEvent,
  createEvent,
  type EventData,
  fromKafkaMessage,
  sampleData,
  topicKeys,
} from '@scalewise/events';
import {
  freePort,
  integrationFixture,
  PENDING_SCALE_UP_CHAIN,
  repositoryRoot,
  startNode,
  testKafka,
  uniqueName,
  waitFor,
} from '@scalewise/testing';
import type { Producer } from 'kafkajs';

const main = join(repositoryRoot(), 'packages', 'cli', 'src', 'main.ts');
const fx = integrationFixture();

/** The environment of one test: the stack's broker and a topic prefix of its own, no config file. */
function cliEnv(prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const {
    SCALEWISE_CONFIG: _file,
    SCALEWISE_API_TOKEN: _token,
    SCALEWISE_API_TOKEN_FILE: _tokenFile,
    SCALEWISE_CLUSTER_ID: _c,
    ...rest
  } = process.env;
  return {
    ...rest,
    KAFKA_BROKERS: fx.stack.kafka.brokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_GROUP_PREFIX: prefix,
    NO_COLOR: '1',
    ...extra,
  };
}

const start = (args: string[], env: NodeJS.ProcessEnv) =>
  startNode(main, args, env, { after: (fn) => fx.defer(fn) });
const scalewise = (args: string[], env: NodeJS.ProcessEnv) => start(args, env).result;

async function createTopics(prefix: string, keys: readonly string[] = topicKeys): Promise<void> {
  const admin = testKafka(fx.stack).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: keys.map((k) => ({ topic: `${prefix}${k}`, numPartitions: 3, replicationFactor: 1 })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

async function readAll(topic: string, count: number): Promise<AnyScalewiseEvent[]> {
  const kafka = testKafka(fx.stack);
  const consumer = kafka.consumer({ groupId: uniqueName('cli-read') });
  const seen: AnyScalewiseEvent[] = [];
  const keys: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        keys.push(message.key?.toString() ?? '');
        seen.push(fromKafkaMessage(message, { topic, partition, offset: message.offset }));
      },
    });
    await waitFor(() => seen.length >= count, { timeoutMs: 20_000, what: `${count} record(s) on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return seen.map((e, i) => Object.assign(e, { key: keys[i] }));
}

async function producer(): Promise<Producer> {
  const p = testKafka(fx.stack).producer({ idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  fx.defer(() => p.disconnect());
  return p;
}

describe('trigger', () => {
  test('trigger scale --pool workers --count 2 puts a valid io.scalewise.trigger.scale record on the triggers topic', async () => {
    const prefix = `${uniqueName('cli-trig')}.`;
    await createTopics(prefix, ['triggers', 'audit']);
    const r = await scalewise(
      ['trigger', 'scale', '--pool', 'workers', '--count', '2', '--reason', 'load test'],
      cliEnv(prefix),
    );
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(
      r.stderr,
      new RegExp(`published io.scalewise.trigger.scale for pool workers to ${prefix}triggers`),
    );
    const [record, ...more] = await readAll(`${prefix}triggers`, 1);
    assert.equal(more.length, 0);
    assert.ok(record);
    assert.equal(record.id, id);
    assert.equal(record.type, 'io.scalewise.trigger.scale');
    assert.equal(record.source, '/scalewise/cli');
    assert.equal(record.partitionkey, 'workers');
    assert.equal((record as unknown as { key: string }).key, 'workers');
    assert.deepEqual(record.data, { pool: 'workers', action: 'scale_up', count: 2, reason: 'load test' });
    // No config file, no SCALEWISE_CLUSTER_ID: the trigger names no cluster (this topic's).
    assert.equal(record.clusterid, undefined);
    // Told the cluster, it names it.
    const named = await scalewise(
      ['trigger', 'pause', '--pool', 'workers'],
      cliEnv(prefix, { SCALEWISE_CLUSTER_ID: 'east' }),
    );
    assert.equal(named.code, 0, named.stderr);
    const [, paused] = await readAll(`${prefix}triggers`, 2);
    assert.equal(paused?.id, named.stdout.trim());
    assert.equal(paused?.clusterid, 'east');

    // Each trigger is audited, naming the operator; the trigger is caused by its record, so the
    // chain of what it leads to starts at who asked.
    const audits = await readAll(`${prefix}audit`, 2);
    const scale = audits.find((a) => (a.data as { action: string }).action === 'trigger.scale');
    assert.ok(scale, 'the record of trigger scale');
    const d = scale.data as EventData<'io.scalewise.AuditRecorded'>;
    assert.deepEqual(
      [d.actor, d.action, d.target, d.outcome, d.pool, d.service],
      [cliActor(), 'trigger.scale', 'workers', 'succeeded', 'workers', 'scalewise-cli'],
    );
    assert.equal(d.principal, undefined, 'no SASL user on this broker');
    assert.equal(d.details?.event_id, id);
    assert.equal(scale.partitionkey, 'workers');
    assert.equal(record.causationid, scale.id);
    assert.equal(record.correlationid, scale.id);
  });

  test('an invalid trigger is refused before anything is sent, naming the flag', async () => {
    const prefix = `${uniqueName('cli-bad')}.`;
    const r = await scalewise(
      ['trigger', 'update', '--pool', 'workers', '--min', '7', '--max', '3'],
      cliEnv(prefix),
    );
    assert.equal(r.code, 2);
    assert.match(
      r.stderr.split('\n')[0] as string,
      /^scalewise trigger update: --min: min must not exceed max/,
    );
    assert.equal(r.stdout, '');
  });
});

describe('tail', () => {
  test('tail --json --type NodeReady prints an event published after it started, and only that type', async () => {
    const prefix = `${uniqueName('cli-tail')}.`;
    await createTopics(prefix);
    const tail = start(['tail', '--json', '--type', 'NodeReady', '--pool', 'workers'], cliEnv(prefix));
    await waitFor(() => tail.err().includes('tailing 1 topic(s) from now'), {
      timeoutMs: 15_000,
      what: 'tail to start',
    });
    const p = await producer();
    const publisher = createPublisher({ producer: p, breaker: createBreaker('test'), topicPrefix: prefix });
    const opts = { source: '/scalewise/test', clusterid: 'local' };
    const created = createEvent('io.scalewise.NodeCreated', sampleData['io.scalewise.NodeCreated'], opts);
    const otherPool = createEvent(
      'io.scalewise.NodeReady',
      { ...sampleData['io.scalewise.NodeReady'], pool: 'batch' },
      opts,
    );
    const ready = createEvent('io.scalewise.NodeReady', sampleData['io.scalewise.NodeReady'], opts);
    await publisher.publish(created, otherPool);
    await publisher.publish(ready);
    await waitFor(() => tail.out().includes(ready.id), { timeoutMs: 30_000, what: 'the NodeReady line' });
    const lines = tail.out().trim().split('\n');
    assert.equal(lines.length, 1, tail.out());
    const printed = JSON.parse(lines[0] as string);
    assert.equal(printed.id, ready.id);
    assert.equal(printed.type, 'io.scalewise.NodeReady');
    assert.deepEqual(printed.data, ready.data);
    tail.child.kill('SIGINT');
    const r = await tail.result;
    assert.equal(r.code, 0, r.stderr);
  });

  test('tail prints human lines without colour when NO_COLOR is set', async () => {
    const prefix = `${uniqueName('cli-tailh')}.`;
    await createTopics(prefix, ['decisions']);
    const tail = start(['tail', '--type', 'ScaleUpDecision'], cliEnv(prefix));
    await waitFor(() => tail.err().includes('tailing'), { timeoutMs: 15_000, what: 'tail to start' });
    const p = await producer();
    const publisher = createPublisher({ producer: p, breaker: createBreaker('test'), topicPrefix: prefix });
    const { decision } = scaleUpChain();
    const fresh = createEvent('io.scalewise.ScaleUpDecision', decision.data, {
      source: '/t',
      clusterid: 'local',
    });
    await publisher.publish(fresh);
    await waitFor(() => tail.out().includes('ScaleUpDecision'), {
      timeoutMs: 30_000,
      what: 'the decision line',
    });
    assert.match(
      tail.out(),
      /Z {2}info {4}ScaleUpDecision +workers +scale up 3 -> 5 \(\+2\), pending_pods: 3 pods pending for 4s/,
    );
    assert.ok(!tail.out().includes('\x1b['), 'no escape codes');
    tail.child.kill('SIGTERM');
    assert.equal((await tail.result).code, 0);
  });
});

describe('an unreachable broker', () => {
  const closedPort = freePort;

  test('refused: trigger exits non-zero within 15 s with one line naming the broker', async () => {
    const port = await closedPort();
    const r = await scalewise(
      ['trigger', 'pause', '--pool', 'workers'],
      cliEnv('x.', { KAFKA_BROKERS: `127.0.0.1:${port}` }),
    );
    assert.equal(r.code, 1);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^scalewise trigger: DEPENDENCY_UNAVAILABLE: cannot reach Kafka broker 127\\.0\\.0\\.1:${port}`,
      ),
    );
  });

  test('silent (accepts, never answers): tail exits non-zero within 15 s naming the broker', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent: TcpServer = createTcpServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    fx.defer(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    });
    const port = (silent.address() as { port: number }).port;
    const r = await scalewise(['tail'], cliEnv('x.', { KAFKA_BROKERS: `127.0.0.1:${port}` }));
    assert.equal(r.code, 1);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    assert.match(
      r.stderr,
      new RegExp(
        `^scalewise tail: DEPENDENCY_UNAVAILABLE: cannot reach Kafka broker 127\\.0\\.0\\.1:${port}`,
      ),
    );
  });
});

/** A local HTTP server; `routes` answers [status, body] or undefined for a 404 route. */
async function jsonServer(
  routes: (url: URL, auth: string | undefined) => [number, unknown] | undefined,
): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${url.pathname}${url.search}`);
    const answer = routes(url, req.headers.authorization) ?? [
      404,
      { error: { code: 'NOT_FOUND', message: `no route GET ${url.pathname}` } },
    ];
    res.writeHead(answer[0], { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer[1]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fx.defer(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, requests };
}

const notFound = (what: string): [number, unknown] => [404, { error: { code: 'NOT_FOUND', message: what } }];

/** alert-manager's explain and history routes over fixture events, with its bearer-token rule. */
function alertManagerRoutes(events: AnyScalewiseEvent[], token: string) {
  return (url: URL, auth: string | undefined): [number, unknown] | undefined => {
    if (auth !== `Bearer ${token}`)
      return [401, { error: { code: 'UNAUTHORIZED', message: 'a bearer token is required' } }];
    const byId = (id: string) => events.find((e) => e.id === id);
    const m = /^\/v1\/(explain|events)\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const e = byId(decodeURIComponent(m[2] as string));
      if (!e) return notFound(`no event with id '${m[2]}' in the history`);
      if (m[1] === 'events') return [200, e];
      return [
        200,
        explain(
          e.id,
          events.filter((x) => x.correlationid === e.correlationid),
        ),
      ];
    }
    if (url.pathname === '/v1/explain') {
      const pool = url.searchParams.get('pool') ?? '';
      const at = Date.parse(url.searchParams.get('at') ?? '');
      const decisions = events.filter(
        (e) => e.partitionkey === pool && e.type === 'io.scalewise.ScaleUpDecision',
      );
      return [
        200,
        { pool, at: new Date(at).toISOString(), blocked: reasonsInForce(events, pool, at), decisions },
      ];
    }
    return undefined;
  };
}

describe('explain', () => {
  const token = 'fixture-token-0123456789';

  test('explain <id> prints PendingPodsDetected -> ScaleUpDecision (with its numbers) -> ScaleUpStarted -> NodeCreated -> NodeReady -> ScalingActionCompleted', async () => {
    const c = scaleUpChain();
    const am = await jsonServer(alertManagerRoutes(c.all, token));
    const r = await scalewise(
      ['explain', c.started.id, '--alert-manager', am.url],
      cliEnv('x.', { SCALEWISE_API_TOKEN: token }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(am.requests, [`/v1/explain/${c.started.id}`]);
    const lines = r.stdout.split('\n');
    const found = chainPositions(lines, PENDING_SCALE_UP_CHAIN, r.stdout);
    const at = (type: string) => lines.findIndex((l) => l.includes(` ${type} `));
    PENDING_SCALE_UP_CHAIN.forEach((type, depth) => {
      const line = lines[found[depth] as number] as string;
      assert.equal(
        line.search(/\S/),
        2 * (depth + 1) + (type === 'ScaleUpStarted' ? 0 : 2),
        `indent of ${type}: '${line}'`,
      );
    });
    assert.match(lines[at('ScaleUpStarted')] as string, /^ {6}\* /);
    const numbers = lines.slice(at('ScaleUpDecision') + 1, at('ScaleUpStarted')).map((l) => l.trim());
    assert.deepEqual(numbers, [
      'rule pending_pods: 3 pods pending for 4s; 2 more 4-CPU workers fit them',
      'inputs: pending_count=3, requested_cpu_millicores=6000, node_cpu_millicores=4000',
      'compared: pending_count 3 > 0 -> true',
      'clamped: wanted 6, got 5 (by max)',
    ]);
    assert.match(r.stdout, /not acted on \(reasons in this chain\):\n.*ScaleDownBlocked/);
  });

  test('explain --pool --at prints the reasons in force and the decisions', async () => {
    const c = scaleUpChain();
    const am = await jsonServer(alertManagerRoutes(c.all, token));
    const r = await scalewise(
      [
        'explain',
        '--pool',
        'workers',
        '--at',
        '2026-11-22T11:25:00Z',
        '--alert-manager',
        am.url,
        '--token',
        token,
      ],
      cliEnv('x.'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(am.requests, ['/v1/explain?pool=workers&at=2026-11-22T11%3A25%3A00.000Z']);
    assert.match(
      r.stdout,
      /^pool workers at 2026-11-22T11:25:00.000Z\n\nreasons not to act in force:\n.*ScaleDownBlocked .*pending_pods/,
    );
    assert.match(r.stdout, /decisions in the 10 minutes before:\n.*ScaleUpDecision .*\n +rule pending_pods/);
  });

  test('an unknown event id is the history 404, one line, exit 1', async () => {
    const am = await jsonServer(alertManagerRoutes(scaleUpChain().all, token));
    const r = await scalewise(
      ['explain', 'no-such-id', '--alert-manager', am.url],
      cliEnv('x.', { SCALEWISE_API_TOKEN: token }),
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "scalewise explain: NOT_FOUND: alert-manager: no event with id 'no-such-id' in the history\n",
    );
  });

  test('without the token the 401 says how to give one', async () => {
    const am = await jsonServer(alertManagerRoutes(scaleUpChain().all, token));
    const r = await scalewise(['explain', 'evt-decision', '--alert-manager', am.url], cliEnv('x.'));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^scalewise explain: UNAUTHORIZED: .*pass --token or --token-file, or set SCALEWISE_API_TOKEN/,
    );
  });

  test('the token from a file (--token-file, SCALEWISE_API_TOKEN_FILE) is sent like --token', async () => {
    const am = await jsonServer(alertManagerRoutes(scaleUpChain().all, token));
    const dir = mkdtempSync(join(tmpdir(), 'scalewise-cli-token-'));
    fx.defer(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'token');
    writeFileSync(file, `${token}\n`);
    const flag = await scalewise(
      ['explain', 'evt-decision', '--json', '--alert-manager', am.url, '--token-file', file],
      cliEnv('x.'),
    );
    assert.equal(flag.code, 0, flag.stderr);
    const env = await scalewise(
      ['explain', 'evt-decision', '--json', '--alert-manager', am.url],
      cliEnv('x.', { SCALEWISE_API_TOKEN_FILE: file }),
    );
    assert.equal(env.code, 0, env.stderr);
    assert.equal(JSON.parse(env.stdout).correlationid, JSON.parse(flag.stdout).correlationid);
  });
});

describe('status', () => {
  const pools = [
    { pool: 'workers', workers: 3, desired: 5, min: 2, max: 6, paused: false, dry_run: false, in_flight: 1 },
    { pool: 'batch', workers: 0, desired: 0, min: 0, max: 4, paused: true, dry_run: false, in_flight: 0 },
  ];
  const engineRoutes = (url: URL): [number, unknown] | undefined => {
    if (url.pathname === '/v1/pools') return [200, { pools }];
    const m = /^\/v1\/pools\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const name = decodeURIComponent(m[1] as string);
      const p = pools.find((x) => x.pool === name);
      return p ? [200, { pool: name, state: {} }] : notFound(`no pool named '${name}' in the configuration`);
    }
    return undefined;
  };

  test('status prints the pools table from the decision-engine', async () => {
    const de = await jsonServer(engineRoutes);
    const r = await scalewise(['status', '--decision-engine', de.url], cliEnv('x.'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split('\n'), [
      'POOL     WORKERS  DESIRED  MIN  MAX  STATE   IN-FLIGHT  HOLD',
      'workers  3        5        2    6    active  1          -',
      'batch    0        0        0    4    paused  0          -',
    ]);
  });

  test('an unknown pool is the engine 404, one line, exit 1', async () => {
    const de = await jsonServer(engineRoutes);
    const r = await scalewise(
      ['status', '--pool', 'gpu'],
      cliEnv('x.', { SCALEWISE_DECISION_ENGINE_URL: de.url }),
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "scalewise status: NOT_FOUND: decision-engine: no pool named 'gpu' in the configuration\n",
    );
  });
});

describe('replay', () => {
  test('scalewise replay runs the bus command with clients from the configuration', async () => {
    const prefix = `${uniqueName('cli-replay')}.`;
    await createTopics(prefix, ['nodes']);
    const p = await producer();
    const publisher = createPublisher({ producer: p, breaker: createBreaker('test'), topicPrefix: prefix });
    const opts = { source: '/scalewise/test', clusterid: 'local' };
    const ready = createEvent('io.scalewise.NodeReady', sampleData['io.scalewise.NodeReady'], opts);
    const created = createEvent('io.scalewise.NodeCreated', sampleData['io.scalewise.NodeCreated'], opts);
    await publisher.publish(ready, created);
    const r = await scalewise(['replay', '--topic', 'nodes', '--type', 'NodeReady'], cliEnv(prefix));
    assert.equal(r.code, 0, r.stderr);
    const printed = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AnyScalewiseEvent);
    assert.deepEqual(
      printed.map((e) => e.id),
      [ready.id],
    );
    assert.match(r.stderr, new RegExp(`replayed 1 of 2 records \\(0 not decodable\\) from ${prefix}nodes`));
  });

  test('replay --into-topic and dlq replay are audited, naming the operator, a failure with its reason', async () => {
    const prefix = `${uniqueName('cli-areplay')}.`;
    await createTopics(prefix, ['nodes', 'audit']);
    const p = await producer();
    const publisher = createPublisher({ producer: p, breaker: createBreaker('test'), topicPrefix: prefix });
    const opts = { source: '/scalewise/test', clusterid: 'local' };
    await publisher.publish(
      createEvent('io.scalewise.NodeReady', sampleData['io.scalewise.NodeReady'], opts),
    );
    const into = await scalewise(
      ['replay', '--topic', 'nodes', '--type', 'NodeReady', '--into-topic'],
      cliEnv(prefix),
    );
    assert.equal(into.code, 0, into.stderr);
    // The stack's S3, a bucket with no such dead letter: the replay fails, and says so.
    const s3 = fx.stack.s3;
    const missing = await scalewise(
      ['dlq', 'replay', 'dlq/nowhere/2026/01/01/none.json'],
      cliEnv(prefix, {
        S3_ENDPOINT: s3.endpoint,
        S3_REGION: s3.region,
        S3_BUCKET: uniqueName('nodlq'),
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      }),
    );
    assert.equal(missing.code, 1, missing.stderr);
    const audits = await readAll(`${prefix}audit`, 2);
    const rows = audits.map((a) => a.data as EventData<'io.scalewise.AuditRecorded'>);
    const replayed = rows.find((r) => r.action === 'topic.replay');
    assert.deepEqual(
      [replayed?.actor, replayed?.target, replayed?.outcome, replayed?.details?.matched],
      [cliActor(), `${prefix}nodes`, 'succeeded', 1],
    );
    const dlq = rows.find((r) => r.action === 'dlq.replay');
    assert.deepEqual([dlq?.target, dlq?.outcome], ['dlq/nowhere/2026/01/01/none.json', 'failed']);
    assert.ok(dlq?.reason, 'the failure says why');
  });
});

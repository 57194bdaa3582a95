/**
 * A Kafka broker, a cluster of them, or a Redis of the test's own, started with the project's
 * stack scripts in scratch run directories on free ports, so a test can stop, SIGKILL and
 * restart a real server without touching the shared one. Uses the cached installs.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repositoryRoot } from '@scalewise/testing';

const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

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
}

export interface PrivateRedis extends PrivateServer {
  url: string;
}

async function startPrivate(
  component: 'kafka' | 'redis',
  vars: Record<string, number | string>,
): Promise<PrivateServer & { runDir: string }> {
  const runDir = mkdtempSync(join(tmpdir(), `scalewise-private-${component}-`));
  const env = {
    ...process.env,
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

export async function startPrivateKafka(options: PrivateKafkaOptions = {}): Promise<PrivateKafka> {
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

/** @param options.appendOnly keep the data across a restart (the append-only file). */
export async function startPrivateRedis(options: { appendOnly?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const server = await startPrivate('redis', {
    SCALEWISE_REDIS_PORT: port,
    ...(options.appendOnly ? { SCALEWISE_REDIS_APPENDONLY: 'yes' } : {}),
  });
  return { ...server, url: `redis://127.0.0.1:${port}` };
}

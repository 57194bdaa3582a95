/**
 * A Kafka broker (or a Redis) of the test's own, started with the project's stack scripts in
 * a scratch run directory on free ports, so a test can stop, SIGKILL and restart a real
 * server without touching the shared one. Uses the cached installs.
 */
import { execFile } from 'node:child_process';
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

export interface PrivateKafka extends PrivateServer {
  brokers: string[];
}

export interface PrivateRedis extends PrivateServer {
  url: string;
}

async function startPrivate(
  component: 'kafka' | 'redis',
  vars: Record<string, number | string>,
): Promise<PrivateServer> {
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

export async function startPrivateKafka(): Promise<PrivateKafka> {
  const port = await freePort();
  const server = await startPrivate('kafka', {
    SCALEWISE_KAFKA_PORT: port,
    SCALEWISE_KAFKA_CONTROLLER_PORT: await freePort(),
  });
  return { ...server, brokers: [`127.0.0.1:${port}`] };
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

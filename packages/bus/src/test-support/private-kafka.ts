/**
 * A Kafka broker of the test's own, started with the project's stack scripts in a scratch
 * run directory on free ports, so a test can stop and restart a real broker without
 * touching the shared one. Uses the cached Kafka install.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export interface PrivateKafka {
  brokers: string[];
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the broker and deletes its data. */
  destroy(): Promise<void>;
}

export async function startPrivateKafka(): Promise<PrivateKafka> {
  const runDir = mkdtempSync(join(tmpdir(), 'scalewise-private-kafka-'));
  const port = await freePort();
  const controller = await freePort();
  const env = {
    ...process.env,
    SCALEWISE_RUN_DIR: runDir,
    SCALEWISE_KAFKA_PORT: String(port),
    SCALEWISE_KAFKA_CONTROLLER_PORT: String(controller),
  };
  const stack = join(repositoryRoot(), 'scripts', 'stack');
  const start = async () => {
    await run(stack, ['up', 'kafka'], { env, timeout: 180_000 });
  };
  const stop = async () => {
    await run(stack, ['down', 'kafka'], { env, timeout: 60_000 });
  };
  await start();
  return {
    brokers: [`127.0.0.1:${port}`],
    start,
    stop,
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

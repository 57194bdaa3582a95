/**
 * Integration-test helpers: the optional Go servers of scripts/go-tool (built once from the Go
 * module proxy, cached outside the work tree), a free 127.0.0.1 port, and a child process
 * that is stopped by its own pid. Used by tests only.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, repositoryRoot } from '@scalewise/testing';

const exec = promisify(execFile);

/** The binary of a Go tool; the first call of a machine builds it (minutes). */
export async function goTool(name: 'metrics-server' | 'victoria-metrics' | 'kwok'): Promise<string> {
  const { stdout } = await exec(join(repositoryRoot(), 'scripts', 'go-tool'), ['path', name], {
    cwd: repositoryRoot(),
    timeout: 20 * 60_000,
    maxBuffer: 16 * 2 ** 20,
  });
  return stdout.trim().split('\n').at(-1) ?? '';
}

/** A port nothing listens on right now (packages/testing). */
export { freePort };

export interface Proc {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** The end of its log, for failure messages. */
  tail(lines?: number): Promise<string>;
  /** SIGTERM to this pid, SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts `bin args` with stdout and stderr to `logFile`. */
export function startProcess(bin: string, args: string[], logFile: string): Proc {
  const out = createWriteStream(logFile);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    logFile,
    async tail(lines = 20) {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      return text.split('\n').slice(-lines).join('\n');
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A self-signed certificate for 127.0.0.1 (openssl), as PEM file paths in `dir`. */
export async function selfSignedCert(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { cert, key };
}

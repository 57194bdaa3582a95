import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** How a program run by {@link startNode} ended. */
export interface NodeResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** From the start to the exit. */
  ms: number;
}

/** A program run by {@link startNode}: the child, its end, and its output so far. */
export interface NodeRun {
  child: ChildProcess;
  result: Promise<NodeResult>;
  out(): string;
  err(): string;
}

/**
 * Runs `script` (a .ts or .js file) with this process's node and `args`, in `env`, collecting
 * stdout and stderr: how a test runs a binary of ours (the CLI, a service's main.ts) as an
 * operator does. When `scope` ends, a child still running is killed (SIGKILL).
 */
export function startNode(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  scope?: { after(fn: () => unknown): void },
): NodeRun {
  const started = Date.now();
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const result = new Promise<NodeResult>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
  scope?.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, result, out: () => stdout, err: () => stderr };
}

/** A server run by {@link startProcess}: its child, its log, and its stop. */
export interface Proc {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** The end of its log, for failure messages. */
  tail(lines?: number): Promise<string>;
  /** SIGTERM to this pid, SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Starts `bin args` (in `env`, this process's by default) with stdout and stderr to `logFile`:
 * how a test runs a server that is not ours (metrics-server, KEDA, kwok), stopped by its own pid.
 */
export function startProcess(
  bin: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Proc {
  const out = createWriteStream(logFile);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
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

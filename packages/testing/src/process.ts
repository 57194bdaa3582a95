import { type ChildProcess, spawn } from 'node:child_process';

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

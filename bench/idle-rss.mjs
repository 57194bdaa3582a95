#!/usr/bin/env node
// Idle memory of a service built with the kit (packages/service/examples/minimal.ts: config,
// telemetry, bus with a consumer, fastify), side by side in one run:
//   - bare node (the floor),
//   - the service run from its TypeScript sources (Node strips types at load: local runs),
//   - the service bundled by esbuild into one file, dependencies included (no type stripping,
//     no module resolution at run time).
// Each is started against the native stack, waited for until /readyz answers 200, left idle,
// then its RSS is sampled. Numbers vary with the machine; they are reported, never asserted.
//
//   node bench/idle-rss.mjs [--idle-seconds 15] [--samples 10]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({
  options: { 'idle-seconds': { type: 'string', default: '15' }, samples: { type: 'string', default: '10' } },
});
const idleSeconds = Number(values['idle-seconds']);
const samples = Number(values.samples);
const root = join(import.meta.dirname, '..');
const config = join(root, 'config', 'scalewise.local.yaml');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function bundle(dir) {
  const outfile = join(dir, 'minimal.mjs');
  await build({
    entryPoints: [join(root, 'packages', 'service', 'examples', 'minimal.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    logLevel: 'error',
    // Everything in one file (third-party code too), with require() available to the CommonJS parts.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outfile;
}

async function measure(label, args, port, cwd) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, SCALEWISE_CONFIG: config, SCALEWISE_HTTP_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  try {
    if (port) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`${label} never became ready: ${stderr}`);
        await sleep(250);
      }
    }
    await sleep(idleSeconds * 1000);
    const values = [];
    for (let i = 0; i < samples; i++) {
      values.push(rssMiB(child.pid));
      await sleep(1000);
    }
    values.sort((a, b) => a - b);
    return { label, median: values[Math.floor(values.length / 2)], max: values.at(-1) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'scalewise-bench-'));
try {
  const bundled = await bundle(dir);
  const results = [
    await measure('bare node (setInterval)', ['-e', 'setInterval(() => {}, 1000)'], 0, root),
    await measure(
      'kit service, TypeScript sources',
      [join(root, 'packages', 'service', 'examples', 'minimal.ts')],
      18191,
      root,
    ),
    await measure('kit service, esbuild bundle', [bundled], 18192, join(root, 'packages', 'service')),
    // A smaller young generation (a NODE_OPTIONS choice) trades a little GC time for memory.
    await measure('bundle, --max-semi-space-size=2', ['--max-semi-space-size=2', bundled], 18193, root),
  ];
  const floor = results[0].median;
  console.log(`idle RSS after ${idleSeconds} s idle, ${samples} samples, node ${process.version}`);
  console.log('case                                  median MiB   max MiB   above bare node');
  for (const r of results) {
    console.log(
      `${r.label.padEnd(38)}${r.median.toFixed(1).padStart(10)}${r.max.toFixed(1).padStart(10)}${(r.median - floor).toFixed(1).padStart(12)}`,
    );
  }
  console.log(`bundle / sources: ${(results[2].median / results[1].median).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

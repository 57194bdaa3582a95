#!/usr/bin/env node
// Idle memory of a service built with the kit (packages/service/examples/minimal.ts: config,
// telemetry, bus with a consumer, fastify), side by side in one run:
//   - bare node (the floor),
//   - the service run from its TypeScript sources (Node strips types at load: local runs),
//   - the service bundled as the images bundle it (scripts/build-service.mjs: no type
//     stripping, no module resolution at run time), with and without the V8 flag that
//     docs/configuration.md recommends for the launcher,
//   - optionally an earlier bundle (--baseline <main.js>, e.g. one built from an older
//     commit), so that a change is measured before and after in the same run.
// Each is started against the native stack, waited for until /readyz answers 200, left idle,
// then its RSS is sampled. Numbers vary with the machine; they are reported, never asserted.
//
//   node bench/idle-rss.mjs [--idle-seconds 15] [--samples 10] [--baseline <bundle.js>]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleService } from '../scripts/build-service.mjs';

const { values } = parseArgs({
  options: {
    'idle-seconds': { type: 'string', default: '15' },
    samples: { type: 'string', default: '10' },
    baseline: { type: 'string' },
  },
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

/** The V8 flag recommended for a service's launcher (docs/configuration.md, "Memory"). */
const launcherFlags = ['--max-semi-space-size=2'];

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
  await bundleService(join(root, 'packages', 'service', 'examples', 'minimal.ts'), dir, { sourcemap: false });
  const bundled = join(dir, 'main.js');
  const baseline = values.baseline ? resolve(values.baseline) : undefined;
  const results = [
    await measure('bare node (setInterval)', ['-e', 'setInterval(() => {}, 1000)'], 0, root),
    await measure(
      'kit service, TypeScript sources',
      [join(root, 'packages', 'service', 'examples', 'minimal.ts')],
      18191,
      root,
    ),
    await measure('kit service, bundle (build-service)', [bundled], 18192, dir),
    // A smaller young generation trades a little GC time for memory.
    await measure('bundle, --max-semi-space-size=2', [...launcherFlags, bundled], 18193, dir),
    ...(baseline
      ? [
          await measure(
            `baseline ${(statSync(baseline).size / 1048576).toFixed(1)} MB bundle`,
            [baseline],
            18194,
            dir,
          ),
          await measure('baseline, --max-semi-space-size=2', [...launcherFlags, baseline], 18195, dir),
        ]
      : []),
  ];
  const floor = results[0].median;
  console.log(`idle RSS after ${idleSeconds} s idle, ${samples} samples, node ${process.version}`);
  console.log('case                                     median MiB   max MiB   above bare node');
  for (const r of results) {
    console.log(
      `${r.label.padEnd(41)}${r.median.toFixed(1).padStart(10)}${r.max.toFixed(1).padStart(10)}${(r.median - floor).toFixed(1).padStart(12)}`,
    );
  }
  console.log(`bundle / sources: ${(results[2].median / results[1].median).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

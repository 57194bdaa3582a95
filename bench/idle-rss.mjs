#!/usr/bin/env node
// Idle memory of the services, side by side in one run:
//   - bare node (the floor),
//   - a kit service (packages/service/examples/minimal.ts: config, telemetry, bus with a
//     consumer, fastify) from its TypeScript sources (Node strips types at load: local runs),
//     bundled as the images bundle it (scripts/build-service.mjs), and bundled with the
//     image's V8 flags,
//   - each service (services/<name>/src/main.ts: the six and the reference provisioner) bundled and started exactly as
//     its image starts it: dist/ copied alone to a scratch directory (no node_modules to lean
//     on) and run with the Dockerfile's ENTRYPOINT flags (read from the Dockerfile, so the
//     bench measures what ships), against the native stack with a topic prefix and cluster id
//     of its own (as scripts/validate-deploy does), started once to create its topics and
//     consumer group, then started again and measured,
//   - optionally an earlier bundle (--baseline <main.js>, e.g. one built from an older
//     commit), so that a change is measured before and after in the same run,
//   - optionally each service a second time with one source file replaced
//     (--swap <file in the repo>=<replacement>, e.g. the file as it was before a change): the
//     two bundles of a service are measured one after the other, A/B in one run.
// Each is started, waited for until /readyz answers 200, left idle, then its RSS is sampled.
// Numbers vary with the machine; they are reported, never asserted.
//
//   node bench/idle-rss.mjs [--idle-seconds 15] [--samples 10] [--baseline <bundle.js>]
//                           [--services all|none|<name>,<name>] [--flags='<node flags>'] [--no-kit]
//                           [--no-image-env] [--swap <repo file>=<replacement file>]
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleService } from '../scripts/build-service.mjs';

const { values } = parseArgs({
  options: {
    'idle-seconds': { type: 'string', default: '15' },
    samples: { type: 'string', default: '10' },
    baseline: { type: 'string' },
    services: { type: 'string', default: 'all' },
    flags: { type: 'string' },
    kit: { type: 'boolean', default: true },
    'image-env': { type: 'boolean', default: true },
    swap: { type: 'string' },
  },
  allowNegative: true,
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

/**
 * `--swap a=b`: an esbuild plugin that loads file b in place of the repo's file a (imports
 * in b resolve from a's directory), for the B side of an A/B.
 */
function swapPlugin() {
  if (!values.swap) return undefined;
  const [from, to] = values.swap.split('=').map((p) => resolve(root, p));
  if (!from || !to || !existsSync(from) || !existsSync(to))
    throw new Error('--swap <repo file>=<existing file>');
  const filter = new RegExp(`${basename(from).replace(/[.]/g, '\\.')}$`);
  return {
    label: `${basename(from)} <- ${values.swap.split('=')[1]}`,
    plugin: {
      name: 'swap',
      setup(b) {
        b.onLoad({ filter }, (args) =>
          args.path === from
            ? {
                contents: readFileSync(to, 'utf8'),
                loader: from.endsWith('.ts') ? 'ts' : 'js',
                resolveDir: dirname(from),
              }
            : undefined,
        );
      },
    },
  };
}
const swap = swapPlugin();

const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

/**
 * The node flags of the image's ENTRYPOINT (Dockerfile), without `node` and the script:
 * measured here so that the numbers are those of what ships. `--flags` replaces them (to
 * measure a candidate before changing the Dockerfile).
 */
function imageFlags() {
  if (values.flags !== undefined) return values.flags.split(/\s+/).filter(Boolean);
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (!line) throw new Error('no ENTRYPOINT ["node", ...] line in the Dockerfile');
  const argv = JSON.parse(line);
  return argv.slice(1, -1);
}
const flags = imageFlags();
/** The V8 flags alone (not --enable-source-maps and the like), for the kit-service rows. */
const v8Flags = flags.filter((f) => /^--(max|min|lite|no-|single|stack|initial)/.test(f));

/**
 * The allocator settings of the image (`ENV MALLOC_...=` lines of the Dockerfile's runtime
 * stage), given to every measured process but bare node; `--no-image-env` leaves them out.
 */
function imageEnv() {
  if (!values['image-env']) return {};
  const env = {};
  for (const [, name, value] of dockerfile.matchAll(/^ENV\s+((?:MALLOC|GLIBC)_[A-Z_]*)=(\S+)\s*$/gm)) {
    env[name] = value;
  }
  return env;
}
const allocatorEnv = imageEnv();

async function measure(label, args, port, cwd, extraEnv = {}, { idle = idleSeconds, count = samples } = {}) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: {
      ...process.env,
      ...(port ? allocatorEnv : {}),
      SCALEWISE_CONFIG: config,
      SCALEWISE_HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
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
    await sleep(idle * 1000);
    const values = [];
    for (let i = 0; i < count; i++) {
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

const allServices = readdirSync(join(root, 'services')).filter((s) =>
  existsSync(join(root, 'services', s, 'src', 'main.ts')),
);
const services =
  values.services === 'all' ? allServices : values.services === 'none' ? [] : values.services.split(',');
const kubeconfig = services.length
  ? execFileSync(join(root, 'scripts', 'stack'), ['kubeconfig'], { encoding: 'utf8' }).trim()
  : '';

const dir = mkdtempSync(join(tmpdir(), 'scalewise-bench-'));
try {
  await bundleService(join(root, 'packages', 'service', 'examples', 'minimal.ts'), join(dir, 'minimal'), {
    sourcemap: false,
  });
  const bundled = join(dir, 'minimal', 'main.js');
  const baseline = values.baseline ? resolve(values.baseline) : undefined;
  let port = 18190;
  const results = [await measure('bare node (setInterval)', ['-e', 'setInterval(() => {}, 1000)'], 0, root)];
  if (values.kit) {
    results.push(
      await measure(
        'kit service, TypeScript sources',
        [join(root, 'packages', 'service', 'examples', 'minimal.ts')],
        ++port,
        root,
      ),
      await measure('kit service, bundle (build-service)', [bundled], ++port, dir),
      // A smaller young generation trades a little GC time for memory.
      await measure(`kit bundle, ${v8Flags.join(' ')}`, [...v8Flags, bundled], ++port, dir),
    );
  }
  if (baseline) {
    const size = (statSync(baseline).size / 1048576).toFixed(1);
    results.push(await measure(`baseline ${size} MB bundle`, [baseline], ++port, dir));
    results.push(await measure(`baseline, ${v8Flags.join(' ')}`, [...v8Flags, baseline], ++port, dir));
  }
  const kitRows = results.length;
  for (const svc of services) {
    // As the image holds it: the service's dist/ alone (main.js, chunks, source maps).
    const out = join(dir, svc);
    mkdirSync(out);
    const bytes = await bundleService(join(root, 'services', svc, 'src', 'main.ts'), join(out, 'dist'));
    // alert-manager's image carries the console build beside dist/ (when it has been built).
    const web = join(root, 'packages', 'console', 'dist', 'web');
    if (svc === 'alert-manager' && existsSync(web)) cpSync(web, join(out, 'console'), { recursive: true });
    const id = `bench-rss-${svc}-${process.pid}`;
    const env = {
      KUBECONFIG: kubeconfig,
      SCALEWISE_CLUSTER_ID: id,
      KAFKA_TOPIC_PREFIX: `${id}.`,
      KAFKA_GROUP_PREFIX: `${id}.`,
      SCALEWISE_CONSOLE_DIR: join(out, 'console'),
    };
    // A first start creates the service's topics and consumer group (leader elections and
    // retries that leave garbage behind: about 7 MiB more than a restart); a service in a
    // running deployment finds them there, so the second start is the one measured.
    await measure(`${svc} (creating its topics)`, [...flags, 'dist/main.js'], ++port, out, env, {
      idle: 0,
      count: 1,
    });
    const r = await measure(
      `${svc} (${(bytes / 1048576).toFixed(1)} MB js)`,
      [...flags, 'dist/main.js'],
      ++port,
      out,
      env,
    );
    results.push(r);
    if (swap) {
      const outB = join(dir, `${svc}-swap`);
      mkdirSync(outB);
      const bytesB = await bundleService(join(root, 'services', svc, 'src', 'main.ts'), join(outB, 'dist'), {
        plugins: [swap.plugin],
      });
      results.push(
        await measure(
          `  ${svc} B (${(bytesB / 1048576).toFixed(1)} MB js)`,
          [...flags, 'dist/main.js'],
          ++port,
          outB,
          env,
        ),
      );
    }
  }
  const floor = results[0].median;
  const envText = Object.entries(allocatorEnv)
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  console.log(`idle RSS after ${idleSeconds} s idle, ${samples} samples, node ${process.version}`);
  if (envText) console.log(`environment of the services (Dockerfile ENV): ${envText}`);
  console.log('case                                     median MiB   max MiB   above bare node');
  results.forEach((r, i) => {
    if (i === kitRows)
      console.log(`services, bundled, run as the image runs them: node ${flags.join(' ')} dist/main.js`);
    console.log(
      `${r.label.padEnd(41)}${r.median.toFixed(1).padStart(10)}${r.max.toFixed(1).padStart(10)}${(r.median - floor).toFixed(1).padStart(12)}`,
    );
  });
  if (swap) console.log(`B: the service bundled with ${swap.label}`);
  if (values.kit) console.log(`bundle / sources: ${(results[2].median / results[1].median).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

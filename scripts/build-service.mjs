#!/usr/bin/env node
// Bundles one service for its container image: services/<name>/src/main.ts with everything
// it imports (the workspace packages, shipped as TypeScript, and every third-party package)
// into one file, services/<name>/dist/main.js. The image needs nothing else: no node_modules,
// no package manager at run time. Only optional native add-ons that their packages load
// inside try/catch (ws's bufferutil and utf-8-validate) stay external and are simply absent.
//
//   node scripts/build-service.mjs <service>
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const service = process.argv[2];
const root = join(import.meta.dirname, '..');
if (!service || !/^[a-z][a-z0-9-]*$/.test(service)) {
  console.error('usage: node scripts/build-service.mjs <service>   (a directory name under services/)');
  process.exit(2);
}
const entry = join(root, 'services', service, 'src', 'main.ts');
if (!existsSync(entry)) {
  console.error(`build-service: ${entry} does not exist; is '${service}' a service?`);
  process.exit(2);
}

/** Optional native add-ons, loaded in try/catch by their users: left out of the bundle. */
const optionalNative = ['bufferutil', 'utf-8-validate'];
const result = await build({
  entryPoints: [entry],
  outfile: join(root, 'services', service, 'dist', 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  sourcemap: 'linked',
  external: optionalNative,
  // Some bundled CommonJS packages call require() for Node built-ins: give the ESM bundle one.
  banner: {
    js: "import { createRequire as __scalewiseCreateRequire } from 'node:module'; const require = __scalewiseCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(
  `build-service: ${service} -> services/${service}/dist/main.js (${(bytes / 1024).toFixed(0)} KiB with map)`,
);

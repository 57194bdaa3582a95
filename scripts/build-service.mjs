#!/usr/bin/env node
// Bundles one service for its container image: services/<name>/src/main.ts and the
// workspace packages it imports (@scalewise/*, shipped as TypeScript) into
// services/<name>/dist/main.js. Every other package stays an external import, resolved at
// run time from the node_modules `pnpm deploy --prod` installs, so that OpenTelemetry's
// instrumentations can patch them and native modules keep working.
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

/** Bundle @scalewise/* (workspace TypeScript); keep every other bare import external. */
const externalThirdParty = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@scalewise/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const result = await build({
  entryPoints: [entry],
  outfile: join(root, 'services', service, 'dist', 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  sourcemap: 'linked',
  plugins: [externalThirdParty],
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`build-service: ${service} -> services/${service}/dist/main.js (${(bytes / 1024).toFixed(0)} KiB with map)`);

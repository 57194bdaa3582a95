#!/usr/bin/env node
// Bundles one service for its container image: services/<name>/src/main.ts with everything
// it imports (the workspace packages, shipped as TypeScript, and every third-party package)
// into services/<name>/dist/: main.js, plus the chunks of code it imports only when needed
// (dist/chunks/). The image needs nothing else: no node_modules, no package manager at run
// time. Only optional native add-ons that their packages load inside try/catch (ws's
// bufferutil and utf-8-validate) stay external and are simply absent.
//
//   node scripts/build-service.mjs <service>
//
// Choices that keep a service's idle memory down (measured in bench/README.md):
//   - splitting: a dynamic import() becomes its own chunk, read only when the import runs
//     (the AWS credential chain of an S3 client without static keys, the OTLP exporter of a
//     service sending traces). In one file that code would still be held as source.
//   - charset ascii and no comments (minifyWhitespace): V8 keeps every script's source in
//     memory for the life of the process, as one byte per character only when all of it is
//     Latin-1; one non-ASCII character in a comment doubled the 6.6 MB bundle to 13 MB.
//   - minifySyntax, but identifiers and names kept (keepNames): stack traces and error
//     names stay readable without the source map.
//   - source maps of our own code only (scripts/lib/own-source-map.mjs): with
//     --enable-source-maps Node holds every mapping of a loaded bundle in memory (the
//     services map their stack traces themselves, on the first one:
//     packages/service/src/source-stacks.ts; the map is as heavy then); the full map of a service (about a million mappings, nearly all in
//     node_modules) cost 40 to 80 MiB of an idle service. Frames in packages/ and services/
//     map to their .ts file and line; a frame in a dependency keeps its function name and
//     its position in the bundle.
//   - OpenTelemetry exporters: @opentelemetry/sdk-node imports every exporter it can build
//     from OTEL_* variables (OTLP over gRPC and protobuf with @grpc/grpc-js and protobufjs,
//     Zipkin, logs and metrics exporters: about 900 KB). packages/telemetry hands NodeSDK
//     its span processors, metric readers and log processors, so those are never
//     constructed; in the bundle NodeSDK's imports of them are stubs that throw if they ever
//     were (otelExportersNotShipped below). The OTLP/HTTP trace exporter a service does use is
//     imported by packages/telemetry itself, as a chunk read on the first export.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ownCodeSourceMap } from './lib/own-source-map.mjs';

const root = join(import.meta.dirname, '..');

/**
 * `import ... from 'node:http'` (any Node built-in) in the bundle becomes a require() of it.
 * An ES module import of a built-in builds its namespace from every export, which runs the
 * lazy getters Node defines on some of them: node:http's WebSocket, CloseEvent and
 * MessageEvent load Node's internal undici (about 13.5 MiB of RSS, for a WebSocket client no
 * service uses), and fs, util and process have smaller ones. require() returns the exports
 * object and runs none of them; esbuild reads the names off it where they are used.
 */
const builtinPattern = new RegExp(
  `^(node:)?(${builtinModules.map((m) => m.replace(/^node:/, '').replace(/[/.]/g, '\\$&')).join('|')})$`,
);
export const builtinsAsRequire = {
  name: 'builtins-as-require',
  setup(b) {
    b.onResolve({ filter: builtinPattern }, (args) =>
      args.kind === 'import-statement' || args.kind === 'dynamic-import'
        ? {
            path: args.path.startsWith('node:') ? args.path : `node:${args.path}`,
            namespace: 'builtin-require',
          }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * Exporters `@opentelemetry/sdk-node` imports and packages/telemetry never lets it construct
 * (it passes NodeSDK the span processors, metric readers and log processors itself). Only
 * NodeSDK's own imports are replaced; packages/telemetry's import of the OTLP/HTTP trace
 * exporter and metrics.ts's of the Prometheus exporter resolve to the real packages.
 */
const otelExporter = /^@opentelemetry\/(exporter-[a-z-]+|otlp-grpc-exporter-base)$/;
export const otelExportersNotShipped = {
  name: 'otel-exporters-not-shipped',
  setup(b) {
    b.onResolve({ filter: otelExporter }, (args) =>
      args.path !== '@opentelemetry/exporter-prometheus' &&
      /[/\\]@opentelemetry[/\\]sdk-node[/\\]/.test(args.importer)
        ? { path: args.path, namespace: 'otel-not-shipped', pluginData: { importer: args.importer } }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'otel-not-shipped' }, (args) => {
      // The stub exports the names the real package exports (read here, at build time).
      const names = Object.keys(createRequire(args.pluginData.importer)(args.path)).filter(
        (n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default',
      );
      const message = `${args.path} is not in this service's bundle (scripts/build-service.mjs): traces are exported over OTLP/HTTP only`;
      return {
        contents: [
          `const notShipped = () => function () { throw new Error(${JSON.stringify(message)}); };`,
          ...names.map((n) => `export const ${n} = /* @__PURE__ */ notShipped();`),
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

/** Some bundled CommonJS packages call require() for Node built-ins: an ESM bundle's first line gives them one. */
export const esmRequire =
  "import { createRequire as __scalewiseCreateRequire } from 'node:module'; const require = __scalewiseCreateRequire(import.meta.url);";

/** Optional native add-ons, loaded in try/catch by their users: left out of the bundle. */
const optionalNative = ['bufferutil', 'utf-8-validate'];

/**
 * The esbuild options of every bundle, the services' and the CLI's (scripts/build-cli.mjs):
 * Node 24 ESM, ASCII and no comments, syntax minified with names kept, the optional native
 * add-ons left out, and `require` given to bundled CommonJS.
 */
export const bundleDefaults = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  charset: 'ascii',
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  external: optionalNative,
  banner: { js: esmRequire },
  logLevel: 'warning',
  metafile: true,
};

/**
 * Bundles `entry` into `outdir`/main.js (+ chunks/). Returns the bytes of the JavaScript
 * written (source maps excluded). `plugins` run before the build's own (bench/idle-rss.mjs's
 * `--swap` replaces a source file with them, to measure a change A/B in one run).
 */
export async function bundleService(entry, outdir, { sourcemap = 'linked', plugins = [] } = {}) {
  // Chunk names carry a content hash: drop the previous build's, or they pile up.
  rmSync(join(outdir, 'chunks'), { recursive: true, force: true });
  const result = await build({
    ...bundleDefaults,
    entryPoints: { main: entry },
    outdir,
    outExtension: { '.js': '.js' },
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    sourcemap,
    plugins: [...plugins, builtinsAsRequire, otelExportersNotShipped],
  });
  // The metafile's paths are relative to the working directory, as esbuild resolved them.
  for (const file of Object.keys(result.metafile.outputs)) {
    if (!file.endsWith('.map')) continue;
    const map = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(
      file,
      JSON.stringify(ownCodeSourceMap(map, (source) => !source.includes('/node_modules/'))),
    );
  }
  return Object.entries(result.metafile.outputs)
    .filter(([file]) => file.endsWith('.js'))
    .reduce((n, [, o]) => n + o.bytes, 0);
}

if (import.meta.main) {
  const service = process.argv[2];
  if (!service || !/^[a-z][a-z0-9-]*$/.test(service)) {
    console.error('usage: node scripts/build-service.mjs <service>   (a directory name under services/)');
    process.exit(2);
  }
  const entry = join(root, 'services', service, 'src', 'main.ts');
  if (!existsSync(entry)) {
    console.error(`build-service: ${entry} does not exist; is '${service}' a service?`);
    process.exit(2);
  }
  const bytes = await bundleService(entry, join(root, 'services', service, 'dist'));
  console.log(
    `build-service: ${service} -> services/${service}/dist/main.js (${(bytes / 1024).toFixed(0)} KiB of JavaScript)`,
  );
}

/**
 * The web console (packages/console) served by alert-manager, so operators need no other
 * server:
 *   GET /                    the console's page
 *   GET /console/*           its fingerprinted assets (a path without an extension: the page)
 *   GET /console/api/pools   the configured limits of each pool (the chart's min/max before any
 *                            event states them); bearer token like every /v1 route
 * The page and its assets are open (`auth: none`): they are the same build for everyone, hold
 * no data, and must load before the operator has typed the token in. Every byte of data comes
 * from /v1, /console/api and the WebSocket, which need the token.
 * The files are read once at start from the console's build (`vite build` into
 * packages/console/dist/web) and kept in memory with a gzip copy. When the build is missing
 * the service still starts, and those paths answer 404 naming the missing build and the
 * command that makes it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Config } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

// The page loads only its own files and talks only to this origin (REST and the WebSocket).
const csp =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

interface StaticFile {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  /** Vite fingerprints assets: they never change under one name. */
  immutable: boolean;
}

function readTree(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        const body = readFileSync(p);
        const type = types[extname(p)] ?? 'application/octet-stream';
        const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 512;
        files.set(relative(dir, p).split(sep).join('/'), {
          body,
          ...(compressible ? { gzip: gzipSync(body, { level: 9 }) } : {}),
          type,
          immutable: relative(dir, p).startsWith(`assets${sep}`),
        });
      }
    }
  };
  walk(dir);
  return files;
}

export interface ConsoleOptions {
  config: Pick<Config, 'autoscaler'>;
  /** The console's build directory (service.ts: SCALEWISE_CONSOLE_DIR, else the repository's build). */
  dir: string;
}

/** Registers the console's routes. Never throws for a missing build: those routes answer 404. */
export function consoleRoutes(app: FastifyInstance, options: ConsoleOptions): void {
  const { dir } = options;
  let files = new Map<string, StaticFile>();
  let missing: string | undefined;
  try {
    if (!statSync(join(dir, 'index.html')).isFile()) throw new Error('not a file');
    files = readTree(dir);
  } catch {
    missing =
      `the web console is not built: ${join(dir, 'index.html')} is missing; ` +
      'build it with `pnpm --filter @scalewise/console build` (or `pnpm exec turbo run build`) and restart';
    app.log.warn({ dir }, missing);
  }

  const send = (req: FastifyRequest, reply: FastifyReply, name: string) => {
    if (missing) throw new ScalewiseError('NOT_FOUND', missing, { details: { dir } });
    const f = files.get(name);
    if (!f) throw new ScalewiseError('NOT_FOUND', `the console has no file '${name}'`);
    const gzip = f.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    reply
      .header('content-type', f.type)
      .header('cache-control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('vary', 'accept-encoding');
    if (f.type.startsWith('text/html')) reply.header('content-security-policy', csp);
    if (gzip) reply.header('content-encoding', 'gzip');
    return reply.send(gzip ? f.gzip : f.body);
  };

  const open = { config: { auth: 'none' as const } };
  app.get('/', open, (req, reply) => send(req, reply, 'index.html'));
  app.get('/console', open, (_req, reply) => reply.redirect('/console/'));
  app.get<{ Params: { '*': string } }>('/console/*', open, (req, reply) => {
    const name = req.params['*'];
    // A path without an extension is a view of the page (a bookmark): the page itself.
    return send(req, reply, name === '' || !extname(name) ? 'index.html' : name);
  });

  app.get('/console/api/pools', async () => {
    return {
      pools: options.config.autoscaler.pools.map((p) => ({ pool: p.name, min: p.min, max: p.max })),
    };
  });
}

/**
 * Bearer-token authentication of every route of every service (docs/security.md).
 *
 * One `onRequest` hook, installed before any route, decides for each request from its route's
 * `config.auth`:
 *   - `none`: open. Only the probes (/healthz, /readyz), /metrics with `http.metrics_auth: open`
 *     and alert-manager's static console files say so: a route opts out, never in.
 *   - `read` (the default of GET, HEAD and OPTIONS routes): any configured token.
 *   - `write` (the default of every other method; a GET route may ask for it): a write token.
 * A missing or unknown token is 401 with `WWW-Authenticate: Bearer`; a read token on a write
 * route is 403 (`insufficient_scope`). With no token configured the read routes are open (a
 * warning at start) and the write routes refused with 403 naming the missing configuration.
 *
 * The token is looked up by comparing SHA-256 digests with `timingSafeEqual` against every
 * configured token, without stopping at a match. A token read from a file is re-read when the
 * file changes (checked at most once a second, on use), so a rotated Secret takes effect
 * without a restart. The token's *name* is put on the request (`request.principal`) and on its
 * log lines (`token_name`); the token itself is never logged.
 *
 * Every request to a write route that got past authentication is audited: an AuditRecorded
 * event naming the token, the action (the route's `config.audit`, else `http.<method>`), the
 * target (what the handler put in `request.audit`, else the path) and the outcome, sent before
 * the response.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { type HttpToken, type TokenScope, tokenValueProblem } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import type { AuditData } from '@scalewise/events';
import { type Logger, redactUrlTokens } from '@scalewise/telemetry';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

/** What a route needs: nothing, any token, or a write token. */
export type RouteAuth = 'none' | 'read' | 'write';

/** Who made a request: the configured name of the token it carried, and that token's scope. */
export interface Principal {
  name: string;
  scope: TokenScope;
}

/** What a write route's handler says about its action, for the audit event. */
export interface AuditNote {
  /** What it acted on (a silence id). @default the request path */
  target?: string;
  /** The pool it concerned, if one: the audit event is then in that pool's history. */
  pool?: string;
  details?: Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** @default `read` for GET, HEAD and OPTIONS, `write` for every other method */
    auth?: RouteAuth;
    /** The audit action of a write route (`silence.create`). @default `http.<method>` */
    audit?: string;
  }
  interface FastifyRequest {
    /** The token the request was authenticated with; null on an open route or before the check. */
    principal: Principal | null;
    /** Set by a write route's handler: what the audit event says it acted on. */
    audit: AuditNote | null;
  }
}

/** Publishes one audit record (the kit: an AuditRecorded event on the audit topic). */
export type AuditSink = (record: AuditData) => Promise<void>;

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The scope a route needs, from its config and method. */
export function routeAuthOf(method: string, config: { auth?: RouteAuth } | undefined): RouteAuth {
  return config?.auth ?? (readMethods.has(method.toUpperCase()) ? 'read' : 'write');
}

// ---------------------------------------------------------------------------------------------
// The tokens

interface Entry {
  name: string;
  scope: TokenScope;
  /** SHA-256 of the token; a random value no token hashes to while the token is unusable. */
  digest: Buffer;
  usable: boolean;
  file?: string;
  /** The file as last seen: a change of any of these re-reads it. */
  seen?: string;
  checkedAt: number;
  /** The last problem logged, so that a lasting one is logged once. */
  problem?: string;
}

export interface TokenStore {
  /** True when at least one token is configured (usable or not). */
  readonly configured: boolean;
  /** The configured tokens' names and scopes, for the start-up log. */
  readonly tokens: readonly Principal[];
  /**
   * The principal whose token `given` is, comparing against every token in constant time.
   * Undefined for an unknown token, and for one that matches several (a configuration error,
   * logged).
   */
  verify(given: string): Principal | undefined;
}

export interface TokenStoreOptions {
  log?: Logger;
  /** @default Date.now */
  now?: () => number;
  /** A file token's file is looked at again at most this often. @default 1000 */
  recheckMs?: number;
  /** @default fs.statSync */
  stat?: (path: string) => { mtimeMs: number; size: number; ino: number };
  /** @default fs.readFileSync (utf8) */
  readFile?: (path: string) => string;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The tokens a service accepts, from the configuration as loaded (values read at start); file
 * tokens are re-read when their file changes. A file that cannot be read, or whose token is too
 * short, makes that token unusable (401) until it is fixed: rotation fails closed.
 */
export function createTokenStore(tokens: readonly HttpToken[], options: TokenStoreOptions = {}): TokenStore {
  const now = options.now ?? Date.now;
  const recheckMs = options.recheckMs ?? 1000;
  const stat = options.stat ?? ((p: string) => statSync(p));
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const log = options.log;
  const signature = (file: string) => {
    const s = stat(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  };
  const entries: Entry[] = tokens.map((t) => {
    const e: Entry = {
      name: t.name,
      scope: t.scope,
      digest: sha256(t.value),
      usable: true,
      checkedAt: now(),
    };
    if (t.file !== undefined) {
      e.file = t.file;
      try {
        e.seen = signature(t.file);
      } catch {
        // Looked at again on first use.
      }
    }
    return e;
  });

  const unusable = (e: Entry, problem: string) => {
    e.usable = false;
    e.digest = randomBytes(32);
    if (e.problem !== problem) {
      log?.error(
        { token_name: e.name, file: e.file },
        `token '${e.name}' is refused until fixed: ${problem}`,
      );
    }
    e.problem = problem;
  };
  const refresh = (e: Entry, t: number) => {
    if (e.file === undefined || t - e.checkedAt < recheckMs) return;
    e.checkedAt = t;
    let seen: string;
    try {
      seen = signature(e.file);
    } catch (err) {
      unusable(e, `cannot read ${e.file}: ${(err as Error).message}`);
      e.seen = undefined;
      return;
    }
    if (seen === e.seen && e.usable) return;
    let value: string;
    try {
      value = readFile(e.file).trim();
    } catch (err) {
      unusable(e, `cannot read ${e.file}: ${(err as Error).message}`);
      return;
    }
    e.seen = seen;
    const problem = tokenValueProblem(e.name, value);
    if (problem) {
      unusable(e, problem);
      return;
    }
    const digest = sha256(value);
    const changed = !e.usable || !timingSafeEqual(digest, e.digest);
    e.digest = digest;
    e.usable = true;
    e.problem = undefined;
    if (changed) log?.info({ token_name: e.name, file: e.file }, `token '${e.name}' re-read from its file`);
  };

  return {
    configured: entries.length > 0,
    tokens: entries.map((e) => ({ name: e.name, scope: e.scope })),
    verify(given) {
      const t = now();
      for (const e of entries) refresh(e, t);
      const digest = sha256(given);
      const matches: Entry[] = [];
      // Every token is compared, a match or not, so the time taken says nothing about which.
      for (const e of entries) {
        if (timingSafeEqual(digest, e.digest) && e.usable) matches.push(e);
      }
      if (matches.length > 1) {
        log?.error(
          { token_names: matches.map((m) => m.name) },
          'a request carried a token several configured tokens share: refused; give each its own',
        );
        return undefined;
      }
      const m = matches[0];
      return m ? { name: m.name, scope: m.scope } : undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The hook

const isUpgrade = (request: FastifyRequest) =>
  String(request.headers.upgrade ?? '').toLowerCase() === 'websocket';

/** The bearer token a request carries, or undefined; '' for a malformed Authorization header. */
export function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer +(\S+) *$/i.exec(header);
    return m?.[1] ?? '';
  }
  // Browsers cannot set headers on a WebSocket: its upgrade request may carry the token in the
  // query (redacted from every log line) or as a subprotocol `bearer.<token>`. Plain requests
  // may not: a URL ends up in too many places.
  if (!isUpgrade(request)) return undefined;
  const q = (request.query as Record<string, unknown> | undefined)?.token;
  if (typeof q === 'string') return q;
  const protocols = String(request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  const bearer = protocols.find((p) => p.startsWith('bearer.'));
  return bearer === undefined ? undefined : bearer.slice('bearer.'.length);
}

/** The subprotocol a WebSocket server selects: the client's first that is not its token. */
export function selectSubprotocol(protocols: ReadonlySet<string>): string | false {
  for (const p of protocols) if (!p.startsWith('bearer.')) return p;
  return false;
}

/** A route as the kit registered it, with the scope it needs (the route table of a service). */
export interface RouteInfo {
  method: string;
  url: string;
  auth: RouteAuth;
  websocket: boolean;
}

const routeTables = new WeakMap<FastifyInstance, RouteInfo[]>();

/** Every route of an app built by {@link buildApp}, with the scope each needs. */
export function routeTable(app: FastifyInstance): readonly RouteInfo[] {
  const table = routeTables.get(app);
  if (!table) throw new ScalewiseError('INTERNAL', 'routeTable: this app was not built by buildApp');
  return table;
}

export interface AuthOptions {
  service: string;
  store: TokenStore;
  log: Logger;
  audit?: AuditSink;
}

const realm = 'Bearer realm="scalewise"';

/** Why a request is refused: logged at `level` with its route, answered with `err` and its status. */
interface Refusal {
  level: 'info' | 'warn';
  why: string;
  /** The `www-authenticate` header, if any. */
  challenge?: string;
  err: ScalewiseError;
}

function refuse(request: FastifyRequest, reply: FastifyReply, route: string, refusal: Refusal): FastifyReply {
  const { level, why, challenge, err } = refusal;
  request.log[level]({ route }, `request refused: ${why}`);
  if (challenge) reply.header('www-authenticate', challenge);
  if (isUpgrade(request)) {
    // An upgrade's socket is the WebSocket plugin's, which closes it only for the requests its
    // own hook saw: refused before it, the socket would stay open. It is ended once the answer
    // is written, and destroyed if the client does not end its side.
    const socket = request.raw.socket as { end?: () => void; destroy?: () => void } | undefined;
    reply.header('connection', 'close');
    reply.raw.once('finish', () => {
      socket?.end?.();
      setTimeout(() => socket?.destroy?.(), 1000).unref();
    });
  }
  return reply.code(err.status).send({ error: err.toJSON() });
}

const describeRoute = (request: FastifyRequest) =>
  `${request.method} ${request.routeOptions.url ?? redactUrlTokens(request.url.split('?')[0] ?? '')}`;

/**
 * Installs authentication, the route table and auditing on `app`. Call before any route is
 * added: the hooks apply to the routes added after them.
 */
export function installAuth(app: FastifyInstance, options: AuthOptions): void {
  const { store, log } = options;
  const table: RouteInfo[] = [];
  routeTables.set(app, table);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      table.push({
        method,
        url: route.url,
        auth: routeAuthOf(method, route.config as { auth?: RouteAuth } | undefined),
        websocket: (route as { websocket?: boolean }).websocket === true,
      });
    }
  });
  app.decorateRequest('principal', null);
  app.decorateRequest('audit', null);

  if (store.configured) {
    log.info({ tokens: store.tokens }, 'HTTP API: bearer tokens configured');
  } else {
    log.warn(
      'HTTP API unauthenticated: no token is configured (http.tokens, http.api_token or SCALEWISE_API_TOKEN); ' +
        'its read routes are open to anyone who reaches the port, its write routes are refused',
    );
  }

  app.addHook('onRequest', async (request, reply) => {
    const need = routeAuthOf(request.method, request.routeOptions.config);
    if (need === 'none') return;
    const what = describeRoute(request);
    if (!store.configured) {
      if (need === 'read') return;
      return refuse(request, reply, what, {
        level: 'info',
        why: 'a write route, and no token is configured',
        err: new ScalewiseError(
          'FORBIDDEN',
          `${what} needs a write token and none is configured: set http.tokens (scope: write) or http.api_token (SCALEWISE_API_TOKEN)`,
        ),
      });
    }
    const given = tokenOf(request);
    if (given === undefined) {
      return refuse(request, reply, what, {
        level: 'info',
        why: 'no bearer token',
        challenge: realm,
        err: new ScalewiseError(
          'UNAUTHORIZED',
          `${what} needs a bearer token (Authorization: Bearer <token>)`,
        ),
      });
    }
    const principal = given === '' ? undefined : store.verify(given);
    if (!principal) {
      return refuse(request, reply, what, {
        level: 'warn',
        why: 'unknown bearer token',
        challenge: `${realm}, error="invalid_token"`,
        err: new ScalewiseError('UNAUTHORIZED', 'the bearer token is not one of the configured tokens'),
      });
    }
    request.principal = principal;
    // The request's remaining lines, "request completed" included, name the token.
    request.log = request.log.child({ token_name: principal.name });
    reply.log = request.log;
    if (need === 'write' && principal.scope !== 'write') {
      return refuse(request, reply, what, {
        level: 'warn',
        why: 'a read token on a write route',
        challenge: `${realm}, error="insufficient_scope", scope="write"`,
        err: new ScalewiseError(
          'FORBIDDEN',
          `token '${principal.name}' has read scope; ${what} needs a token with write scope`,
        ),
      });
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.principal || routeAuthOf(request.method, request.routeOptions.config) !== 'write') {
      return payload;
    }
    const record = auditRecord(options.service, request, reply, payload);
    request.log.info({ audit: record }, 'audit');
    if (options.audit) {
      try {
        await options.audit(record);
      } catch (err) {
        // The change is made: the response says so. The record stays in the log line above.
        request.log.error({ err, audit: record }, 'could not publish the audit record');
      }
    }
    return payload;
  });
}

function reasonOf(payload: unknown): string | undefined {
  if (typeof payload !== 'string') return undefined;
  try {
    const message = (JSON.parse(payload) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? message.slice(0, 2000) : undefined;
  } catch {
    return undefined;
  }
}

function auditRecord(
  service: string,
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): AuditData {
  const status = reply.statusCode;
  const outcome = status < 400 ? 'succeeded' : status === 401 || status === 403 ? 'denied' : 'failed';
  const note = request.audit ?? {};
  const path = redactUrlTokens(request.url.split('?')[0] ?? request.url);
  const reason = status >= 400 ? reasonOf(payload) : undefined;
  return {
    actor: (request.principal as Principal).name,
    action: request.routeOptions.config.audit ?? `http.${request.method.toLowerCase()}`,
    target: note.target ?? path,
    outcome,
    ...(reason ? { reason } : {}),
    service,
    ...(note.pool ? { pool: note.pool } : {}),
    request: {
      id: String(request.id),
      method: request.method,
      route: request.routeOptions.url ?? path,
      status,
      remote_address: request.ip,
    },
    ...(note.details ? { details: note.details } : {}),
    at: new Date().toISOString(),
  };
}

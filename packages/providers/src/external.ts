/**
 * The `external` provider: an `external` pool's workers are machines a provisioner of the
 * team's own creates and deletes (VMs on Proxmox, Hetzner, vSphere, a cloud API, Terraform...),
 * spoken to over the provisioner contract (external-contract.ts, docs/providers.md).
 *
 * - Every call: HTTP(S) + JSON to the pool's `provider_options.url`, `Authorization: Bearer`
 *   from `token_file` and the CA bundle of `ca_file` (both read at each call, so rotated files
 *   are used without a restart), given up after `timeout_seconds`.
 * - Through a circuit breaker per provisioner (`provisioner-<host[:port]>`, the
 *   `events.breaker` settings) and the bus's retry policy (`events.retry`) for retriable
 *   errors only; an open breaker is not retried. The error that ends the call is the last
 *   one, with its ScalingActionFailed reason in `details.reason` (`PROVISIONER_<CODE>`) and
 *   `details.retried` set, so node-manager does not retry it once more.
 * - A create carries the action id as its idempotency key and the worker names node-manager
 *   derived from it: the same action delivered twice, or resumed after a crash, asks for the
 *   same names and the provisioner creates each once. A worker counts once its Node is Ready
 *   in Kubernetes (node-manager's node watch), as with every provider.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type Breaker, type BreakerOptions, createBreaker, withRetry } from '@scalewise/bus';
import {
  type ExternalOptions,
  externalOptionsSchema,
  type PoolConfig,
  poolTaints,
  zonesOfNew,
} from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { POOL_LABEL, ZONE_LABEL } from '@scalewise/kube';
import type { ReadinessCheck } from '@scalewise/service';
import {
  type CreateRequest,
  errorOfAnswer,
  parseWorkers,
  TRANSPORT_REASONS,
  type WireWorker,
  type WorkerTemplate,
} from './external-contract.ts';
import type { CreateOptions, Instance, Provider } from './provider.ts';
import type { CallResilience } from './resilient.ts';

/** A pool's provisioner settings, checked. */
export interface ExternalSettings {
  pool: string;
  options: ExternalOptions;
  /** The base URL without a trailing slash. */
  base: string;
  /** The breaker's name: one per provisioner (host and port). */
  provisioner: string;
}

const configError = (key: string, message: string) =>
  new ScalewiseError('INVALID_CONFIG', `${key}: ${message}`, { details: { key } });

/**
 * An external pool's settings: its `provider_options` as validated at load, and its files
 * readable now.
 * @param where the pool's key in messages, e.g. `autoscaler.pools[0]`.
 * @throws ScalewiseError INVALID_CONFIG naming the key of the first problem.
 */
export function resolveExternalSettings(
  pool: PoolConfig,
  where: string,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ExternalSettings {
  const parsed = externalOptionsSchema.safeParse(pool.provider_options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw configError(
      `${where}.provider_options.${issue?.path.join('.') ?? ''}`,
      issue?.message ?? 'invalid',
    );
  }
  const options = parsed.data;
  for (const key of ['token_file', 'ca_file'] as const) {
    const file = options[key];
    if (file === undefined) continue;
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      throw configError(`${where}.provider_options.${key}`, `cannot read ${file}: ${(err as Error).message}`);
    }
    if (text.trim() === '') throw configError(`${where}.provider_options.${key}`, `${file} is empty`);
  }
  const url = new URL(options.url);
  return {
    pool: pool.name,
    options,
    base: options.url.replace(/\/+$/, ''),
    provisioner: `provisioner-${url.host}`,
  };
}

/** The template every worker of the pool is created from (the scheduling simulation's). Pure. */
export function workerTemplate(pool: PoolConfig, options: ExternalOptions): WorkerTemplate {
  const size = pool.node_size;
  // The zone is each worker's own (CreateRequest.workers[].zone), the hostname its name.
  const labels: Record<string, string> = { ...pool.node_labels, [POOL_LABEL]: pool.name };
  delete labels['kubernetes.io/hostname'];
  if (pool.zones.length > 0) delete labels[ZONE_LABEL];
  return {
    labels,
    taints: poolTaints(pool).map((x) => ({
      key: x.key,
      ...(x.value !== undefined ? { value: x.value } : {}),
      effect: x.effect as 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute',
    })),
    resources: {
      cpu_millicores: size.cpu_millicores,
      memory_mib: size.memory_mib,
      pods: size.pods,
      ...(size.ephemeral_storage_mib !== undefined
        ? { ephemeral_storage_mib: size.ephemeral_storage_mib }
        : {}),
      extended_resources: { ...size.extended_resources },
    },
    ...(options.instance_type !== undefined ? { instance_type: options.instance_type } : {}),
    parameters: { ...options.parameters },
  };
}

interface Answer {
  status: number;
  body: unknown;
}

const MAX_BODY = 4 * 2 ** 20;

/** What every error of a contract call names. */
const contextOf = (s: ExternalSettings, operation: string) => ({
  provisioner: s.base,
  pool: s.pool,
  operation,
});

/** A call that could not reach the provisioner, or whose connection broke (retriable). Pure. */
const unreachableError = (s: ExternalSettings, operation: string, err: Error) =>
  new ScalewiseError(
    'DEPENDENCY_UNAVAILABLE',
    `provisioner of pool '${s.pool}' (${operation}): ${err.message}`,
    {
      cause: err,
      details: { reason: TRANSPORT_REASONS.unreachable, ...contextOf(s, operation) },
    },
  );

/** An answer over {@link MAX_BODY} (not retriable). Pure. */
const tooLargeError = (s: ExternalSettings, operation: string) =>
  new ScalewiseError('PROVISIONER_API', `provisioner of pool '${s.pool}' (${operation}): answer over 4 MiB`, {
    retriable: false,
    details: { reason: TRANSPORT_REASONS.badResponse, ...contextOf(s, operation) },
  });

/** No answer within the pool's `timeout_seconds` (retriable). Pure. */
const timeoutError = (s: ExternalSettings, operation: string) =>
  new ScalewiseError(
    'TIMEOUT',
    `provisioner of pool '${s.pool}' (${operation}): no answer within ${s.options.timeout_seconds} s`,
    { details: { reason: TRANSPORT_REASONS.timeout, ...contextOf(s, operation) } },
  );

/**
 * The answer of a status and its body's text, parsed as JSON (an empty body is none). A 2xx
 * that is not JSON is an error; any other status without JSON is an answer without a body. Pure.
 */
function answerOf(
  s: ExternalSettings,
  operation: string,
  status: number,
  text: string,
): Answer | ScalewiseError {
  try {
    return { status, body: text === '' ? undefined : JSON.parse(text) };
  } catch {
    if (status >= 200 && status < 300) {
      return new ScalewiseError(
        'PROVISIONER_API',
        `provisioner of pool '${s.pool}' (${operation}): an answer that is not JSON`,
        {
          retriable: false,
          details: { reason: TRANSPORT_REASONS.badResponse, status, ...contextOf(s, operation) },
        },
      );
    }
    return { status, body: undefined };
  }
}

/** The headers of a contract call: JSON, its body's length, the bearer token, then the call's own. Pure. */
function requestHeaders(
  payload: Buffer | undefined,
  token: string | undefined,
  headers: Record<string, string>,
): Record<string, string> {
  return {
    accept: 'application/json',
    'user-agent': 'scalewise-node-manager',
    ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...headers,
  };
}

/** Reads a response's body: `tooLarge` for each chunk past {@link MAX_BODY}, `end` with the text read. */
function readBody(
  res: IncomingMessage,
  on: { tooLarge(): void; error(err: Error): void; end(text: string): void },
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY) on.tooLarge();
    else chunks.push(c);
  });
  res.on('error', on.error);
  res.on('end', () => on.end(Buffer.concat(chunks).toString('utf8')));
}

/**
 * One HTTP call of the contract, no retry.
 * @throws ScalewiseError TIMEOUT (PROVISIONER_TIMEOUT) or DEPENDENCY_UNAVAILABLE
 *   (PROVISIONER_UNREACHABLE), both retriable; PROVISIONER_API for a 2xx that is not JSON.
 */
function call(
  s: ExternalSettings,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  operation: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const o = s.options;
  const url = new URL(`${s.base}${path}`);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const token = o.token_file !== undefined ? readFileSync(o.token_file, 'utf8').trim() : undefined;
  const ca = o.ca_file !== undefined ? readFileSync(o.ca_file, 'utf8') : undefined;
  const timeoutMs = Math.round(o.timeout_seconds * 1000);
  return new Promise<Answer>((resolve, reject) => {
    // Settled once: the first of the answer, the timeout, a transport error.
    let settled = false;
    const fail = (err: ScalewiseError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const answered = (status: number, text: string) => {
      if (settled) return;
      const a = answerOf(s, operation, status, text);
      if (a instanceof ScalewiseError) {
        fail(a);
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve(a);
    };
    const unreachable = (err: Error) => fail(unreachableError(s, operation, err));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method,
        headers: requestHeaders(payload, token, headers),
        ...(ca !== undefined ? { ca } : {}),
        // A fresh connection per call: a provisioner restarted behind the same address is found.
        agent: false,
      },
      (res: IncomingMessage) =>
        readBody(res, {
          tooLarge: () => fail(tooLargeError(s, operation)),
          error: unreachable,
          end: (text) => answered(res.statusCode ?? 0, text),
        }),
    );
    const timer = setTimeout(() => fail(timeoutError(s, operation)), timeoutMs);
    req.on('error', unreachable);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Its `retry` is `{ maxAttempts: 1 }` where the caller retries itself. */
export interface ExternalProviderDeps extends CallResilience {
  /** The configured pools; only the `external` ones are used, their settings checked now. */
  pools: readonly PoolConfig[];
  /** The `events.breaker` settings; the call timeout is the pool's `timeout_seconds` and a margin. */
  breaker: BreakerOptions;
}

export interface ExternalProvider extends Provider {
  /** One readiness check per provisioner (`GET /healthz`; a 404 counts as healthy: the call is optional). */
  readonly checks: ReadinessCheck[];
  /** Each provisioner's breaker. */
  breakers(): Breaker[];
  shutdown(): void;
}

/**
 * The `external` provider of the configured external pools.
 * @throws ScalewiseError INVALID_CONFIG naming a pool's key (bad options, unreadable files).
 */
export function externalProvider(deps: ExternalProviderDeps): ExternalProvider {
  return new ProvisionersProvider(deps);
}

const poolPath = (pool: string) => `/pools/${encodeURIComponent(pool)}/workers`;

/** One readiness check per provisioner (a provisioner may serve several pools): `GET /healthz`. */
function healthChecks(settings: Iterable<ExternalSettings>): ReadinessCheck[] {
  const byProvisioner = new Map([...settings].map((s) => [s.provisioner, s]));
  return [...byProvisioner.values()].map((s) => ({
    name: s.provisioner,
    degrades: `scale-ups and scale-downs of the pools provisioned by ${s.base}`,
    async check() {
      const a = await call(s, 'GET', '/healthz', 'health');
      if (a.status === 404 || (a.status >= 200 && a.status < 300)) return;
      throw errorOfAnswer(a.status, a.body, contextOf(s, 'health'));
    },
  }));
}

/** A call through the provisioner's breaker; an open breaker's error names the pool and is final. */
async function throughBreaker<T>(breaker: Breaker, s: ExternalSettings, fn: () => Promise<T>): Promise<T> {
  try {
    return await breaker.call(fn);
  } catch (err) {
    // An open breaker answers the same until it half-opens: retrying now only waits.
    if (err instanceof ScalewiseError && err.code === 'CIRCUIT_OPEN')
      throw new ScalewiseError(
        'CIRCUIT_OPEN',
        `${err.message}: the provisioner of pool '${s.pool}' failed too often`,
        {
          retriable: false,
          cause: err,
          details: { reason: TRANSPORT_REASONS.circuitOpen, provisioner: s.base, pool: s.pool, open: true },
        },
      );
    throw err;
  }
}

/**
 * The error a call ends with after `attempts`: the last one (not the retry's RETRIES_EXHAUSTED),
 * with `details.attempts`, and `details.retried` when `retriedHere`.
 */
function finalError(err: unknown, attempts: number, retriedHere: boolean): unknown {
  const last = err instanceof ScalewiseError && err.code === 'RETRIES_EXHAUSTED' ? err.cause : err;
  if (!(last instanceof ScalewiseError)) return last;
  return new ScalewiseError(last.code, last.message, {
    // An open breaker is worth a later action: it half-opens after its reset timeout.
    retriable: last.details.open === true ? true : last.retriable,
    cause: last.cause ?? last,
    // Marked only when retried here: a caller that retries itself (maxAttempts 1) still does.
    details: { ...last.details, ...(retriedHere ? { retried: true } : {}), attempts },
  });
}

/**
 * The workers a create asked for, as the provisioner answered.
 * @throws ScalewiseError PROVISIONER_API when the answer lacks one, or one of them failed.
 */
function createdWorkers(
  context: { provisioner: string; pool: string; operation: string },
  nodes: readonly string[],
  made: readonly WireWorker[],
): { node: string; providerId: string }[] {
  const byName = new Map(made.map((w) => [w.name, w]));
  const missing = nodes.filter((n) => !byName.has(n));
  if (missing.length > 0)
    throw new ScalewiseError(
      'PROVISIONER_API',
      `provisioner of pool '${context.pool}' (create): the answer lacks ${missing.join(', ')}`,
      { retriable: false, details: { reason: TRANSPORT_REASONS.badResponse, ...context, retried: true } },
    );
  const failed = nodes.map((n) => byName.get(n) as WireWorker).filter((w) => w.state === 'failed');
  if (failed.length > 0)
    throw new ScalewiseError(
      'PROVISIONER_API',
      `provisioner of pool '${context.pool}' (create): ${failed.map((w) => `${w.name} failed${w.message ? `: ${w.message}` : ''}`).join('; ')}`,
      { retriable: true, details: { reason: TRANSPORT_REASONS.workerFailed, ...context, retried: true } },
    );
  return nodes.map((n) => ({ node: n, providerId: (byName.get(n) as WireWorker).provider_id }));
}

class ProvisionersProvider implements ExternalProvider {
  readonly name = 'external';
  readonly checks: ReadinessCheck[];
  private readonly deps: ExternalProviderDeps;
  /** Each external pool's settings (pool name -> settings). */
  private readonly settings = new Map<string, ExternalSettings>();
  /** One breaker per provisioner, made at its first call. */
  private readonly breakersByProvisioner = new Map<string, Breaker>();

  constructor(deps: ExternalProviderDeps) {
    this.deps = deps;
    deps.pools.forEach((p, i) => {
      if (p.provider === 'external')
        this.settings.set(p.name, resolveExternalSettings(p, `autoscaler.pools[${i}]`));
    });
    this.checks = healthChecks(this.settings.values());
  }

  async create(pool: PoolConfig, nodes: readonly string[], actionId: string, options: CreateOptions = {}) {
    const s = this.settingsOf(pool);
    const zones = pool.zones.length > 0 ? await this.zonesOf(pool, nodes, options) : undefined;
    const body: CreateRequest = {
      idempotency_key: actionId,
      workers: nodes.map((name) => {
        const zone = zones?.get(name);
        return zone ? { name, zone } : { name };
      }),
      template: workerTemplate(pool, s.options),
      ...(options.taskId !== undefined ? { task_id: options.taskId } : {}),
    };
    const made = await this.workersCall(s, 'POST', poolPath(pool.name), 'create', body, {
      'idempotency-key': actionId,
    });
    return createdWorkers({ provisioner: s.base, pool: pool.name, operation: 'create' }, nodes, made);
  }

  async remove(pool: PoolConfig, node: string): Promise<{ existed: boolean }> {
    const s = this.settingsOf(pool);
    return this.reliably(s, async () => {
      const a = await call(s, 'DELETE', `${poolPath(pool.name)}/${encodeURIComponent(node)}`, 'delete');
      if (a.status >= 200 && a.status < 300) return { existed: true };
      // Gone already, or never made (a create that failed before it): nothing to delete.
      if (
        a.status === 404 &&
        (a.body as { error?: { code?: unknown } } | undefined)?.error?.code === 'WORKER_NOT_FOUND'
      )
        return { existed: false };
      throw errorOfAnswer(a.status, a.body, { provisioner: s.base, pool: pool.name, operation: 'delete' });
    });
  }

  async list(pool: PoolConfig): Promise<Instance[]> {
    return (await this.workersOf(pool)).map((w) => ({
      id: w.provider_id,
      node: w.name,
      alive: w.state === 'creating' || w.state === 'running',
      createdAt: Date.parse(w.created_at) || 0,
    }));
  }

  breakers(): Breaker[] {
    return [...this.breakersByProvisioner.values()];
  }

  shutdown(): void {
    for (const b of this.breakersByProvisioner.values()) b.shutdown();
  }

  private settingsOf(pool: PoolConfig): ExternalSettings {
    const s = this.settings.get(pool.name);
    if (!s)
      throw new ScalewiseError(
        'INVALID_CONFIG',
        `pool '${pool.name}' is not an external pool of this configuration`,
        { details: { pool: pool.name } },
      );
    return s;
  }

  private breakerOf(s: ExternalSettings): Breaker {
    let b = this.breakersByProvisioner.get(s.provisioner);
    if (!b) {
      b = createBreaker(
        s.provisioner,
        // The call's own timeout answers first; the breaker's only catches a hang beyond it.
        { ...this.deps.breaker, timeoutMs: Math.round(s.options.timeout_seconds * 1000) + 2_000 },
        this.deps.metrics,
        this.deps.onBreakerState,
      );
      this.breakersByProvisioner.set(s.provisioner, b);
    }
    return b;
  }

  /**
   * A call through the provisioner's breaker, retried by the bus's policy while retriable.
   * @throws the last error, marked `details.retried` with `details.attempts`.
   */
  private async reliably<T>(s: ExternalSettings, fn: () => Promise<T>): Promise<T> {
    const breaker = this.breakerOf(s);
    let attempts = 0;
    try {
      const { value } = await withRetry(
        async (attempt) => {
          attempts = attempt;
          return throughBreaker(breaker, s, fn);
        },
        this.deps.retry,
        this.deps.sleep ? { sleep: this.deps.sleep } : {},
      );
      return value;
    } catch (err) {
      throw finalError(err, attempts, this.deps.retry.maxAttempts > 1);
    }
  }

  /** A contract call that must answer 2xx with workers. */
  private async workersCall(
    s: ExternalSettings,
    method: 'GET' | 'POST',
    path: string,
    operation: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<WireWorker[]> {
    return this.reliably(s, async () => {
      const a = await call(s, method, path, operation, body, headers);
      const context = contextOf(s, operation);
      if (a.status < 200 || a.status >= 300) throw errorOfAnswer(a.status, a.body, context);
      return parseWorkers(a.body, context);
    });
  }

  /** The pool's workers as its provisioner lists them. */
  private async workersOf(pool: PoolConfig): Promise<WireWorker[]> {
    return this.workersCall(this.settingsOf(pool), 'GET', poolPath(pool.name), 'list');
  }

  /** The zone of each new worker: one made by an earlier attempt keeps its own, new ones go where the pool has fewest. */
  private async zonesOf(
    pool: PoolConfig,
    nodes: readonly string[],
    options: CreateOptions,
  ): Promise<Map<string, string>> {
    const existing = new Map<string, string>();
    for (const w of await this.workersOf(pool))
      if (w.zone && w.state !== 'deleting' && w.state !== 'failed') existing.set(w.name, w.zone);
    return zonesOfNew(pool.zones, existing, nodes, options.zones);
  }
}

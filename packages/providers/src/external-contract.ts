/**
 * The provisioner contract, version 1 (docs/providers.md, docs/provisioner-openapi.yaml): the
 * shapes an `external` pool's provisioner takes and answers, and what each of its error codes
 * means to Scalewise. Pure: the HTTP client is external.ts, the reference server is
 * services/provisioner, and both are written against these types.
 *
 * Paths, relative to the pool's `provider_options.url`:
 *   POST   /pools/{pool}/workers          create the named workers (idempotent by key and name)
 *   GET    /pools/{pool}/workers          list the pool's workers
 *   DELETE /pools/{pool}/workers/{name}   delete one worker (404 WORKER_NOT_FOUND: already gone)
 *   GET    /healthz                       optional: 200 when the provisioner can work
 */
import { ScalewiseError } from '@scalewise/errors';

export const CONTRACT_VERSION = 'v1';

/** A worker's life as the provisioner sees it. */
export type WorkerState = 'creating' | 'running' | 'deleting' | 'failed';
export const WORKER_STATES: readonly WorkerState[] = ['creating', 'running', 'deleting', 'failed'];

export interface WireTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** What every worker of the pool is: the pool's node template (packages/config template.ts). */
export interface WorkerTemplate {
  /** Labels the Node must register with (k3s `--node-label`); `scalewise.io/pool` among them. */
  labels: Record<string, string>;
  /** Taints the Node must register with (k3s `--node-taint`). */
  taints: WireTaint[];
  /** What the scheduling simulation assumes one worker offers (its allocatable). */
  resources: {
    cpu_millicores: number;
    memory_mib: number;
    pods: number;
    ephemeral_storage_mib?: number;
    extended_resources: Record<string, number>;
  };
  instance_type?: string;
  parameters: Record<string, string>;
}

export interface CreateRequest {
  /** The action id: a create repeated with the same key and names creates nothing new. */
  idempotency_key: string;
  /** The workers to create; each must join Kubernetes as the Node of this name. */
  workers: { name: string; zone?: string }[];
  template: WorkerTemplate;
  /** The trigger's task id, when the scale-up came from one. */
  task_id?: string;
}

export interface WireWorker {
  /** The Node name the worker joins as. */
  name: string;
  /** The infrastructure's id of the machine (a VM id, `hcloud://123`...). */
  provider_id: string;
  state: WorkerState;
  /** The key of the create that made it. */
  idempotency_key: string;
  zone?: string;
  /** RFC 3339. */
  created_at: string;
  /** Why a worker is `failed`, for people. */
  message?: string;
}

export interface WorkersResponse {
  workers: WireWorker[];
}

/** The body of every answer that is not a 2xx. */
export interface ErrorBody {
  error: { code: string; message: string; retriable?: boolean };
}

/** The error codes of the contract: HTTP status, whether retrying the same call can help, and the ScalingActionFailed reason. */
export const provisionerErrors = {
  INVALID_REQUEST: { status: 400, retriable: false },
  UNAUTHENTICATED: { status: 401, retriable: false },
  FORBIDDEN: { status: 403, retriable: false },
  POOL_NOT_FOUND: { status: 404, retriable: false },
  WORKER_NOT_FOUND: { status: 404, retriable: false },
  NAME_CONFLICT: { status: 409, retriable: false },
  QUOTA_EXCEEDED: { status: 422, retriable: false },
  RATE_LIMITED: { status: 429, retriable: true },
  INTERNAL: { status: 500, retriable: true },
  UNAVAILABLE: { status: 503, retriable: true },
  CAPACITY_UNAVAILABLE: { status: 503, retriable: true },
} as const satisfies Record<string, { status: number; retriable: boolean }>;

export type ProvisionerErrorCode = keyof typeof provisionerErrors;

/** The ScalingActionFailed `error_code` of a provisioner's error code: `PROVISIONER_<code>`. */
export const reasonOf = (code: string): string => `PROVISIONER_${code}`;

/**
 * Reasons of failures the client sees without a contract answer: no answer in time, no
 * connection, an answer outside the contract, the breaker open.
 */
export const TRANSPORT_REASONS = {
  timeout: 'PROVISIONER_TIMEOUT',
  unreachable: 'PROVISIONER_UNREACHABLE',
  badResponse: 'PROVISIONER_BAD_RESPONSE',
  circuitOpen: 'PROVISIONER_CIRCUIT_OPEN',
  workerFailed: 'PROVISIONER_WORKER_FAILED',
} as const;

/**
 * The error of a non-2xx answer: a contract code says itself (its `retriable` flag, when the
 * provisioner sets one, wins); an unknown code or no contract body is judged by the status
 * (408, 429 and 5xx retriable, other 4xx not). Pure.
 */
export function errorOfAnswer(
  status: number,
  body: unknown,
  context: { provisioner: string; pool: string; operation: string },
): ScalewiseError {
  const e = (body as Partial<ErrorBody> | undefined)?.error;
  const code = typeof e?.code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(e.code) ? e.code : undefined;
  const known =
    code !== undefined && code in provisionerErrors
      ? provisionerErrors[code as ProvisionerErrorCode]
      : undefined;
  const byStatus = status === 408 || status === 429 || status >= 500;
  const retriable = typeof e?.retriable === 'boolean' ? e.retriable : (known?.retriable ?? byStatus);
  const reason = code !== undefined ? reasonOf(code) : reasonOf(`HTTP_${status}`);
  const message = typeof e?.message === 'string' ? e.message.slice(0, 500) : `HTTP ${status}`;
  return new ScalewiseError(
    'PROVISIONER_API',
    `provisioner of pool '${context.pool}' (${context.operation}): ${code ?? `HTTP ${status}`}: ${message}`,
    { retriable, details: { reason, status, ...context } },
  );
}

/** Why a value is not a contract worker, or undefined when it is. Pure. */
export function workerProblem(w: unknown): string | undefined {
  if (typeof w !== 'object' || w === null) return 'not an object';
  const o = w as Record<string, unknown>;
  for (const k of ['name', 'provider_id', 'idempotency_key', 'created_at'] as const)
    if (typeof o[k] !== 'string' || (o[k] as string).length === 0) return `${k}: a non-empty string`;
  if (!WORKER_STATES.includes(o.state as WorkerState)) return `state: one of ${WORKER_STATES.join(', ')}`;
  if (o.zone !== undefined && typeof o.zone !== 'string') return 'zone: a string';
  return undefined;
}

/**
 * The workers of a 2xx answer, checked against the contract.
 * @throws ScalewiseError PROVISIONER_API (reason PROVISIONER_BAD_RESPONSE, not retriable) for
 *   an answer that is not one.
 */
export function parseWorkers(
  body: unknown,
  context: { provisioner: string; pool: string; operation: string },
): WireWorker[] {
  const list = (body as Partial<WorkersResponse> | undefined)?.workers;
  const bad = (why: string) =>
    new ScalewiseError(
      'PROVISIONER_API',
      `provisioner of pool '${context.pool}' (${context.operation}): an answer outside the contract: ${why}`,
      { retriable: false, details: { reason: TRANSPORT_REASONS.badResponse, ...context } },
    );
  if (!Array.isArray(list)) throw bad('no workers array');
  list.forEach((w, i) => {
    const problem = workerProblem(w);
    if (problem) throw bad(`workers[${i}].${problem}`);
  });
  return list as WireWorker[];
}

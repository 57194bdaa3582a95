/**
 * A small Docker Engine API client: plain HTTP/1.1 over the engine's unix socket (node:http
 * `socketPath`) or over TCP for `DOCKER_HOST=tcp://host:port`, JSON in and out. Only the calls
 * the `docker` provider makes: ping, containers (create, start, inspect, list, stop, remove),
 * image inspect and pull.
 *
 * API version: requests go to `/v<version>/...`. The client pins {@link DOCKER_API_VERSION}
 * (what it was written against) and negotiates down the way the docker CLI does: the first
 * call reads `Api-Version` from `GET /_ping` and uses the lower of the two, refusing engines
 * older than {@link MIN_DOCKER_API_VERSION}. Every field it sends exists since v1.40 (Docker
 * 19.03; podman's compatibility API reports 1.41).
 *
 * Request bodies carry the k3s join token: they are never logged nor put into errors.
 */
import { type RequestOptions, request } from 'node:http';
import { ScalewiseError } from '@scalewise/errors';

/** The API version this client is written against (Docker Engine 24). */
export const DOCKER_API_VERSION = '1.43';
/** The oldest engine API version it accepts. */
export const MIN_DOCKER_API_VERSION = '1.40';
/** Where the engine listens when DOCKER_HOST is not set. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export type DockerEndpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number };

/**
 * The engine's address from a DOCKER_HOST value: `unix:///path`, `tcp://host:port` (or
 * `http://`), unset or empty meaning the default socket. Pure.
 * @throws ScalewiseError INVALID_CONFIG for any other scheme (ssh://, npipe://, TLS): name
 *   DOCKER_HOST in the message.
 */
export function parseDockerHost(value: string | undefined): DockerEndpoint {
  if (value === undefined || value.trim() === '') return { kind: 'unix', socketPath: DEFAULT_DOCKER_SOCKET };
  const v = value.trim();
  if (v.startsWith('unix://')) {
    const socketPath = v.slice('unix://'.length);
    if (!socketPath.startsWith('/')) {
      throw invalidHost(v, 'a unix socket needs an absolute path: unix:///var/run/docker.sock');
    }
    return { kind: 'unix', socketPath };
  }
  const m = /^(?:tcp|http):\/\/(\[[0-9a-fA-F:]+\]|[^:/\s]+)(?::(\d{1,5}))?\/?$/.exec(v);
  if (m) {
    const port = m[2] === undefined ? 2375 : Number(m[2]);
    if (port < 1 || port > 65535) throw invalidHost(v, 'the port must be 1-65535');
    return { kind: 'tcp', host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
  }
  throw invalidHost(
    v,
    'only unix:///path and tcp://host:port are supported (no TLS or ssh: put a socket proxy in front)',
  );
}

const invalidHost = (value: string, why: string) =>
  new ScalewiseError('INVALID_CONFIG', `DOCKER_HOST=${value}: ${why}`, { details: { key: 'DOCKER_HOST' } });

/** `1.43` → [1, 43]. */
const parts = (v: string): [number, number] => {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : [Number.NaN, Number.NaN];
};
const compare = (a: string, b: string): number => {
  const [a1, a2] = parts(a);
  const [b1, b2] = parts(b);
  return a1 === b1 ? a2 - b2 : a1 - b1;
};

/**
 * The version to speak to an engine that reports `server` (its `Api-Version` header): the
 * lower of it and `pinned`; `pinned` when the engine says nothing usable. Pure.
 * @throws ScalewiseError DOCKER_API (not retriable) when the engine is older than
 *   {@link MIN_DOCKER_API_VERSION}.
 */
export function negotiateApiVersion(server: string | undefined, pinned = DOCKER_API_VERSION): string {
  if (server === undefined || Number.isNaN(parts(server)[0])) return pinned;
  if (compare(server, MIN_DOCKER_API_VERSION) < 0) {
    throw new ScalewiseError(
      'DOCKER_API',
      `the Docker engine speaks API v${server}; node-manager needs v${MIN_DOCKER_API_VERSION} or newer (Docker 19.03+, podman 3+)`,
      { retriable: false, details: { operation: 'negotiate', server_version: server } },
    );
  }
  return compare(server, pinned) < 0 ? server : pinned;
}

/** An image reference split for `POST /images/create`: `repo[:tag]` or `repo@digest`. Pure. */
export function splitImage(image: string): { fromImage: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { fromImage: image.slice(0, at), tag: image.slice(at + 1) };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  // A colon before the last slash is a registry port (localhost:5000/k3s), not a tag.
  if (colon > slash) return { fromImage: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { fromImage: image, tag: 'latest' };
}

/**
 * The first error in the JSON lines `POST /images/create` streams (a failed pull still
 * answers 200 and reports `{"error": ...}` or `{"errorDetail": {...}}` in the stream). Pure.
 */
export function pullStreamError(stream: string): string | undefined {
  for (const line of stream.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const o = JSON.parse(t) as { error?: unknown; errorDetail?: { message?: unknown } };
      const msg = o.errorDetail?.message ?? o.error;
      if (typeof msg === 'string' && msg.length > 0) return msg;
    } catch {
      // A line cut by a proxy's chunking: the rest of the stream still tells.
    }
  }
  return undefined;
}

/** The message of a Docker error answer (`{"message": "..."}`), else the raw text, shortened. */
export function errorMessage(body: string): string {
  try {
    const o = JSON.parse(body) as { message?: unknown };
    if (typeof o.message === 'string') return o.message;
  } catch {
    // not JSON: an HTTP proxy's page, say
  }
  return body.trim().slice(0, 300);
}

/** `docker ps`'s view of a container (GET /containers/json). */
export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  Labels?: Record<string, string> | null;
  /** created, restarting, running, removing, paused, exited, dead */
  State?: string;
  /** Seconds since the epoch. */
  Created?: number;
}

/** The parts of GET /containers/{id}/json the provider reads. */
export interface ContainerInspect {
  Id: string;
  Name?: string;
  Created?: string;
  State?: { Status?: string; Running?: boolean; ExitCode?: number; Error?: string };
  Config?: { Image?: string; Labels?: Record<string, string> | null };
}

export type CreateResult =
  | { kind: 'created'; id: string }
  /** 409: a container of that name exists already. */
  | { kind: 'exists' }
  /** 404: the image is not on the engine. */
  | { kind: 'no-image'; message: string };

export interface DockerApi {
  readonly endpoint: DockerEndpoint;
  /** The negotiated API version (negotiates on first use). */
  apiVersion(): Promise<string>;
  ping(): Promise<void>;
  createContainer(name: string, body: unknown): Promise<CreateResult>;
  /** Starts a container; one that runs already is fine (304). */
  startContainer(id: string): Promise<void>;
  /** undefined when there is no such container. */
  inspectContainer(idOrName: string): Promise<ContainerInspect | undefined>;
  /** Containers (running or not) carrying every one of the `key=value` labels. */
  listContainers(labels: readonly string[]): Promise<ContainerSummary[]>;
  /** Stops a container within `timeoutSeconds` (then the engine kills it); false if it is gone. */
  stopContainer(id: string, timeoutSeconds: number): Promise<boolean>;
  /** Removes a container with its anonymous volumes; false if it is gone (or going). */
  removeContainer(id: string): Promise<boolean>;
  imageExists(image: string): Promise<boolean>;
  /** Pulls an image, waiting for the end of the stream. */
  pullImage(image: string): Promise<void>;
}

export interface DockerClientOptions {
  endpoint: DockerEndpoint;
  /** Skip negotiation and use this version (DOCKER_API_VERSION, as the docker CLI reads it). */
  apiVersion?: string;
  /** One call's deadline. @default 30000 */
  timeoutMs?: number;
  /** A pull's deadline. @default 600000 */
  pullTimeoutMs?: number;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Where the engine is, for messages: `unix:///var/run/docker.sock` or `tcp://host:port`. */
export const describeEndpoint = (e: DockerEndpoint): string =>
  e.kind === 'unix' ? `unix://${e.socketPath}` : `tcp://${e.host}:${e.port}`;

/** What one request sends besides its method and path. */
interface SendInit {
  body?: unknown;
  /** This call's deadline instead of the client's. */
  timeoutMs?: number;
}

/** node:http's options for a request to the engine, with its JSON `payload` when there is one. Pure. */
function requestOptions(
  endpoint: DockerEndpoint,
  method: string,
  path: string,
  payload: string | undefined,
): RequestOptions {
  return {
    method,
    path,
    ...(endpoint.kind === 'unix'
      ? { socketPath: endpoint.socketPath }
      : { host: endpoint.host, port: endpoint.port }),
    headers: {
      // The engine checks Host only for being present; a socket has no host name.
      host: endpoint.kind === 'unix' ? 'docker' : `${endpoint.host}:${endpoint.port}`,
      accept: 'application/json',
      ...(payload === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
    },
  };
}

/** The error of a call that could not reach the engine at `endpoint`: what to check, by errno. Pure. */
function connectionError(endpoint: DockerEndpoint, err: unknown, operation: string): unknown {
  if (err instanceof ScalewiseError) return err;
  const where = describeEndpoint(endpoint);
  const code = (err as { code?: string }).code;
  const hint =
    endpoint.kind === 'unix'
      ? `is the engine running and its socket mounted? Set DOCKER_HOST (unix:///path or tcp://host:port) if it listens elsewhere`
      : 'is the engine listening there? Check DOCKER_HOST';
  if (code === 'EACCES' || code === 'EPERM') {
    return new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `Docker API ${operation}: permission denied on ${where}: node-manager's user may not use the socket (run it as root or in the socket's group)`,
      { retriable: false, cause: err, details: { operation, endpoint: where, errno: code } },
    );
  }
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH') {
    const what =
      code === 'ENOENT'
        ? `no Docker socket at ${endpoint.kind === 'unix' ? endpoint.socketPath : where}`
        : `${where} refused the connection (${code})`;
    return new ScalewiseError('DEPENDENCY_UNAVAILABLE', `Docker API ${operation}: ${what}: ${hint}`, {
      cause: err,
      details: { operation, endpoint: where, errno: code },
    });
  }
  return new ScalewiseError(
    'DEPENDENCY_UNAVAILABLE',
    `Docker API ${operation} via ${where} failed: ${(err as Error).message}`,
    { cause: err, details: { operation, endpoint: where, ...(code ? { errno: code } : {}) } },
  );
}

/** The error of an answer the call did not expect (retriable for 5xx and 429). Pure. */
function apiError(operation: string, a: Answer, target: string): ScalewiseError {
  return new ScalewiseError(
    'DOCKER_API',
    `Docker API ${operation} ${target}: ${a.status} ${errorMessage(a.body)}`.trim(),
    { retriable: a.status >= 500 || a.status === 429, details: { operation, status: a.status, target } },
  );
}

/** The answer's JSON body. Pure. */
function json<T>(a: Answer, operation: string, target: string): T {
  try {
    return JSON.parse(a.body) as T;
  } catch {
    throw new ScalewiseError('DOCKER_API', `Docker API ${operation} ${target}: an answer that is not JSON`, {
      details: { operation, status: a.status, target },
    });
  }
}

const enc = encodeURIComponent;

/**
 * A client of one engine. Calls fail with ScalewiseError: DEPENDENCY_UNAVAILABLE when the
 * engine cannot be reached (the message names the address and DOCKER_HOST), TIMEOUT, or
 * DOCKER_API for an error answer (retriable for 5xx, not for 4xx).
 */
export function createDockerClient(options: DockerClientOptions): DockerApi {
  return new DockerClient(options);
}

class DockerClient implements DockerApi {
  readonly endpoint: DockerEndpoint;
  private readonly timeoutMs: number;
  private readonly pullTimeoutMs: number;
  /** The engine's address, for messages. */
  private readonly where: string;
  /** The API version, once negotiated (or as given); undefined before, or after a failed negotiation. */
  private version: Promise<string> | undefined;

  constructor(options: DockerClientOptions) {
    this.endpoint = options.endpoint;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.pullTimeoutMs = options.pullTimeoutMs ?? 600_000;
    this.where = describeEndpoint(options.endpoint);
    this.version = options.apiVersion ? Promise.resolve(options.apiVersion) : undefined;
  }

  apiVersion(): Promise<string> {
    if (!this.version) {
      const negotiating = this.send('GET', '/_ping', 'ping').then((a) => {
        if (a.status !== 200) throw apiError('ping', a, this.where);
        const header = a.headers['api-version'];
        return negotiateApiVersion(Array.isArray(header) ? header[0] : header);
      });
      this.version = negotiating;
      // A failed negotiation is tried again on the next call, not remembered.
      negotiating.catch(() => {
        if (this.version === negotiating) this.version = undefined;
      });
    }
    return this.version;
  }

  async ping(): Promise<void> {
    await this.apiVersion();
  }

  async createContainer(name: string, body: unknown): Promise<CreateResult> {
    const a = await this.call('POST', `/containers/create?name=${enc(name)}`, 'create container', { body });
    if (a.status === 201)
      return { kind: 'created', id: json<{ Id: string }>(a, 'create container', name).Id };
    if (a.status === 409) return { kind: 'exists' };
    // podman 4's compatibility API answers a taken name with 500 instead of Docker's 409.
    if (a.status === 500 && /name .* is already in use/i.test(errorMessage(a.body)))
      return { kind: 'exists' };
    if (a.status === 404) return { kind: 'no-image', message: errorMessage(a.body) };
    throw apiError('create container', a, name);
  }

  async startContainer(id: string): Promise<void> {
    const a = await this.call('POST', `/containers/${enc(id)}/start`, 'start container');
    if (a.status === 204 || a.status === 304) return;
    throw apiError('start container', a, id);
  }

  async inspectContainer(idOrName: string): Promise<ContainerInspect | undefined> {
    const a = await this.call('GET', `/containers/${enc(idOrName)}/json`, 'inspect container');
    if (a.status === 404) return undefined;
    if (a.status !== 200) throw apiError('inspect container', a, idOrName);
    return json<ContainerInspect>(a, 'inspect container', idOrName);
  }

  async listContainers(labels: readonly string[]): Promise<ContainerSummary[]> {
    const filters = enc(JSON.stringify({ label: labels }));
    const a = await this.call('GET', `/containers/json?all=true&filters=${filters}`, 'list containers');
    if (a.status !== 200) throw apiError('list containers', a, labels.join(','));
    return json<ContainerSummary[]>(a, 'list containers', labels.join(','));
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<boolean> {
    const t = Math.max(0, Math.round(timeoutSeconds));
    const a = await this.call('POST', `/containers/${enc(id)}/stop?t=${t}`, 'stop container', {
      // The engine answers once the container stopped: after up to t seconds and the kill.
      timeoutMs: this.timeoutMs + t * 1000,
    });
    if (a.status === 204 || a.status === 304) return true;
    if (a.status === 404) return false;
    throw apiError('stop container', a, id);
  }

  async removeContainer(id: string): Promise<boolean> {
    const a = await this.call('DELETE', `/containers/${enc(id)}?v=true&force=true`, 'remove container');
    if (a.status === 204) return true;
    if (a.status === 404) return false;
    // Another remove of it is under way (a retry racing the first attempt): it is going.
    if (a.status === 409 && /already in progress/i.test(errorMessage(a.body))) return false;
    throw apiError('remove container', a, id);
  }

  async imageExists(image: string): Promise<boolean> {
    const a = await this.call('GET', `/images/${enc(image)}/json`, 'inspect image');
    if (a.status === 200) return true;
    if (a.status === 404) return false;
    throw apiError('inspect image', a, image);
  }

  async pullImage(image: string): Promise<void> {
    const { fromImage, tag } = splitImage(image);
    const a = await this.call(
      'POST',
      `/images/create?fromImage=${enc(fromImage)}&tag=${enc(tag)}`,
      'pull image',
      { timeoutMs: this.pullTimeoutMs },
    );
    if (a.status !== 200) throw apiError('pull image', a, image);
    const failed = pullStreamError(a.body);
    if (failed !== undefined) {
      throw new ScalewiseError('DOCKER_API', `Docker API pull image ${image}: ${failed}`, {
        details: { operation: 'pull image', status: a.status, target: image },
      });
    }
  }

  /** A call of the versioned API (negotiating the version first). */
  private async call(method: string, path: string, operation: string, init: SendInit = {}): Promise<Answer> {
    return this.send(method, `/v${await this.apiVersion()}${path}`, operation, init);
  }

  /** One HTTP request to the engine, its whole answer read. */
  private send(method: string, path: string, operation: string, init: SendInit = {}): Promise<Answer> {
    const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
    const deadline = init.timeoutMs ?? this.timeoutMs;
    return new Promise<Answer>((resolve, reject) => {
      const req = request(requestOptions(this.endpoint, method, path, payload), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      });
      req.setTimeout(deadline, () => {
        req.destroy(
          new ScalewiseError(
            'TIMEOUT',
            `Docker API ${operation}: no answer from ${this.where} within ${deadline} ms`,
            { details: { operation, endpoint: this.where } },
          ),
        );
      });
      req.on('error', (err) => reject(connectionError(this.endpoint, err, operation)));
      req.end(payload);
    });
  }
}

/**
 * The same client with every call through a circuit breaker (DESIGN.md section 6: the Docker
 * API is a dependency like any other). `endpoint` and `apiVersion` pass through.
 */
export function withBreaker(
  api: DockerApi,
  breaker: { call<T>(fn: () => Promise<T>): Promise<T> },
): DockerApi {
  return {
    endpoint: api.endpoint,
    apiVersion: () => breaker.call(() => api.apiVersion()),
    ping: () => breaker.call(() => api.ping()),
    createContainer: (name, body) => breaker.call(() => api.createContainer(name, body)),
    startContainer: (id) => breaker.call(() => api.startContainer(id)),
    inspectContainer: (id) => breaker.call(() => api.inspectContainer(id)),
    listContainers: (labels) => breaker.call(() => api.listContainers(labels)),
    stopContainer: (id, t) => breaker.call(() => api.stopContainer(id, t)),
    removeContainer: (id) => breaker.call(() => api.removeContainer(id)),
    imageExists: (image) => breaker.call(() => api.imageExists(image)),
    pullImage: (image) => breaker.call(() => api.pullImage(image)),
  };
}

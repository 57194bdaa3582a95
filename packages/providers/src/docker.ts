/**
 * The `docker` provider (seed 000): each worker is a k3s agent container on a Docker engine,
 * created through the Docker Engine API (docker-api.ts), that joins the k3s server as the
 * node of the same name. The pool's `provider_options` are typed in packages/config
 * (docker-options.ts); the server address, token, image and network may come from the
 * environment instead (docker-compose.yml sets K3S_URL, K3S_TOKEN, K3S_AGENT_IMAGE,
 * DOCKER_NETWORK).
 *
 * Idempotent by container name (`<container_name_prefix><node>`): creating a worker whose
 * container exists starts it if it is stopped and never makes a second one; removing a gone
 * one succeeds. A container of that name that Scalewise did not make (no `managed-by=scalewise`
 * label, or another pool's) is never started, stopped nor removed.
 */
import { readFileSync } from 'node:fs';
import {
  DEFAULT_K3S_AGENT_IMAGE,
  type DockerOptions,
  dockerOptionsSchema,
  type PoolConfig,
  zonesOfNew,
} from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import { deleteNode, type Kube, POOL_LABEL, ZONE_LABEL } from '@scalewise/kube';
import { type ContainerInspect, type DockerApi, describeEndpoint } from './docker-api.ts';

export type { DockerApi } from './docker-api.ts';

import type { CreateOptions, Instance, Provider } from './provider.ts';

export const MANAGED_BY_LABEL = 'managed-by';
export const MANAGED_BY_VALUE = 'scalewise';
export const NODE_LABEL = 'scalewise.io/node';
export const ACTION_LABEL = 'scalewise.io/action-id';
/** The zone a worker's node was given (its topology.kubernetes.io/zone), to count per zone. */
export const ZONE_CONTAINER_LABEL = 'scalewise.io/zone';

/** Where a worker's join token comes from (never logged, never in an error). */
export type TokenSource = { kind: 'file'; path: string; key: string } | { kind: 'value'; value: string };

/** A docker pool's options with the environment's defaults filled in. */
export interface DockerSettings {
  options: DockerOptions;
  image: string;
  serverUrl: string;
  token: TokenSource;
  network?: string;
}

/** The environment variables the provider reads (main.ts passes process.env). */
export interface DockerEnv {
  /** unix:///path or tcp://host:port. @default unix:///var/run/docker.sock */
  DOCKER_HOST?: string | undefined;
  /** Speak this API version instead of negotiating (as the docker CLI reads it). */
  DOCKER_API_VERSION?: string | undefined;
  K3S_URL?: string | undefined;
  K3S_TOKEN?: string | undefined;
  K3S_TOKEN_FILE?: string | undefined;
  K3S_AGENT_IMAGE?: string | undefined;
  DOCKER_NETWORK?: string | undefined;
}

/**
 * The kubernetes.io / k8s.io labels a kubelet may register its node with (NodeRestriction);
 * any other of those namespaces on `--node-label` stops the agent from starting.
 */
const KUBELET_LABEL_KEYS = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/arch',
  'kubernetes.io/os',
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/instance-type',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io', 'topology.kubernetes.io'];

/** Whether a kubelet may set this node label. Pure. */
export function kubeletMaySet(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return true;
  const prefix = key.slice(0, slash);
  const restricted = ['kubernetes.io', 'k8s.io'].some((d) => prefix === d || prefix.endsWith(`.${d}`));
  return (
    !restricted ||
    KUBELET_LABEL_KEYS.has(key) ||
    KUBELET_LABEL_NAMESPACES.some((ns) => prefix === ns || prefix.endsWith(`.${ns}`))
  );
}

const configError = (key: string, message: string) =>
  new ScalewiseError('INVALID_CONFIG', `${key}: ${message}`, { details: { key } });

/**
 * A docker pool's settings: its validated `provider_options`, then the environment for what
 * they leave out. Pure.
 * @param where the pool's key in messages, e.g. `autoscaler.pools[0]`.
 * @throws ScalewiseError INVALID_CONFIG naming the key (and the environment variable) of the
 *   first problem: bad options, no server URL, no token, a node label the kubelet refuses.
 */
export function resolveDockerSettings(pool: PoolConfig, env: DockerEnv, where: string): DockerSettings {
  const parsed = dockerOptionsSchema.safeParse(pool.provider_options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = (issue?.path ?? [])
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('');
    throw configError(`${where}.provider_options${path}`, issue?.message ?? 'invalid');
  }
  const options = parsed.data;
  const serverUrl = options.server_url ?? env.K3S_URL?.trim();
  if (!serverUrl) {
    throw configError(
      `${where}.provider_options.server_url`,
      'the k3s server the agents join: set it, or K3S_URL in the environment',
    );
  }
  if (!/^https:\/\/[^\s/]+/.test(serverUrl)) {
    throw configError(
      options.server_url ? `${where}.provider_options.server_url` : 'K3S_URL',
      `'${serverUrl}' is not an https URL such as https://k3s:6443`,
    );
  }
  let token: TokenSource;
  if (options.token_file) {
    token = { kind: 'file', path: options.token_file, key: `${where}.provider_options.token_file` };
  } else if (env.K3S_TOKEN_FILE?.trim()) {
    token = { kind: 'file', path: env.K3S_TOKEN_FILE.trim(), key: 'K3S_TOKEN_FILE' };
  } else if (env.K3S_TOKEN?.trim()) {
    token = { kind: 'value', value: env.K3S_TOKEN.trim() };
  } else {
    throw configError(
      `${where}.provider_options.token_file`,
      "the k3s server's join token: set it to a file holding the token, or K3S_TOKEN_FILE or K3S_TOKEN in the environment",
    );
  }
  for (const key of Object.keys(pool.node_labels)) {
    if (!kubeletMaySet(key)) {
      throw configError(
        `${where}.node_labels.${key}`,
        'a kubelet may not register its node with this kubernetes.io/k8s.io label (NodeRestriction): the agent would not start',
      );
    }
  }
  const network = options.network ?? (env.DOCKER_NETWORK?.trim() || undefined);
  return {
    options,
    image: options.image ?? (env.K3S_AGENT_IMAGE?.trim() || DEFAULT_K3S_AGENT_IMAGE),
    serverUrl,
    token,
    ...(network ? { network } : {}),
  };
}

/** The container name of a worker. */
export const containerName = (settings: DockerSettings, node: string): string =>
  `${settings.options.container_name_prefix}${node}`;

/**
 * The body of `POST /containers/create` for one worker: `k3s agent --node-name <node>` with
 * the pool label, the pool's node labels, its zone label when it has a zone, the pool's
 * `node_taints` and `provider_options.node_taints`, K3S_URL and K3S_TOKEN, labels
 * `managed-by=scalewise`, pool, node, action id and zone, privileged with tmpfs /run and
 * /var/run and k3s's ulimits unless the options say otherwise. Pure.
 */
export function containerSpec(
  pool: PoolConfig,
  node: string,
  actionId: string,
  settings: DockerSettings,
  token: string,
  zone?: string,
): Record<string, unknown> {
  const o = settings.options;
  const nodeLabels = {
    ...pool.node_labels,
    ...(zone ? { [ZONE_LABEL]: zone } : {}),
    [POOL_LABEL]: pool.name,
  };
  const taints = pool.node_taints.map(
    (t) => `${t.key}${t.value !== undefined ? `=${t.value}` : ''}:${t.effect}`,
  );
  const cmd = [
    'agent',
    '--node-name',
    node,
    ...Object.entries(nodeLabels).flatMap(([k, v]) => ['--node-label', `${k}=${v}`]),
    ...[...taints, ...o.node_taints].flatMap((t) => ['--node-taint', t]),
    ...o.extra_args,
  ];
  const binds = o.volumes;
  return {
    Image: settings.image,
    Cmd: cmd,
    Hostname: node,
    Env: [
      `K3S_URL=${settings.serverUrl}`,
      `K3S_TOKEN=${token}`,
      ...Object.entries(o.env).map(([k, v]) => `${k}=${v}`),
    ],
    Labels: {
      ...o.labels,
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
      [POOL_LABEL]: pool.name,
      [NODE_LABEL]: node,
      [ACTION_LABEL]: actionId,
      ...(zone ? { [ZONE_CONTAINER_LABEL]: zone } : {}),
    },
    StopTimeout: o.stop_timeout_seconds,
    HostConfig: {
      Privileged: o.privileged,
      Tmpfs: Object.fromEntries(o.tmpfs.map((p) => [p, ''])),
      ...(binds.length > 0 ? { Binds: binds } : {}),
      ...(settings.network ? { NetworkMode: settings.network } : {}),
      RestartPolicy: { Name: o.restart_policy },
      Ulimits: Object.entries(o.ulimits).map(([name, u]) => ({ Name: name, Soft: u.soft, Hard: u.hard })),
    },
  };
}

/** A container's instance: `docker://<id>`, its node, alive while it runs. Pure. */
export function instanceOf(c: {
  Id: string;
  Labels?: Record<string, string> | null;
  State?: string;
  Created?: number;
}): Instance {
  return {
    id: `docker://${c.Id}`,
    node: c.Labels?.[NODE_LABEL] ?? '',
    alive: c.State === 'running',
    createdAt: (c.Created ?? 0) * 1000,
  };
}

/** Why a container of a worker's name may not be touched, or undefined when it is the pool's own. */
export function notOurs(c: ContainerInspect, pool: string): string | undefined {
  const labels = c.Config?.Labels ?? {};
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return 'it has no managed-by=scalewise label';
  if (labels[POOL_LABEL] !== pool) return `it belongs to pool '${labels[POOL_LABEL] ?? '(none)'}'`;
  return undefined;
}

export interface DockerProviderDeps {
  docker: DockerApi;
  /** The configured pools (the docker ones are resolved at once, so a bad one fails the start). */
  pools: readonly PoolConfig[];
  env: DockerEnv;
  /** Deletes a removed worker's Node (option `delete_node`). */
  kube?: Kube;
  log?: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
  };
  /** Reads the token file. @default fs.readFileSync */
  readFile?: (path: string) => string;
}

/**
 * The provider. Docker pools' settings are resolved here, at start.
 * @throws ScalewiseError INVALID_CONFIG naming the key of a docker pool's first problem.
 */
export function dockerProvider(deps: DockerProviderDeps): Provider {
  return new DockerProvider(deps);
}

/** The labels every container of the pool's workers carries, to find them. */
const poolContainerLabels = (pool: PoolConfig): string[] => [
  `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
  `${POOL_LABEL}=${pool.name}`,
];

class DockerProvider implements Provider {
  readonly name = 'docker';
  private readonly docker: DockerApi;
  private readonly env: DockerEnv;
  private readonly kube: Kube | undefined;
  private readonly log: DockerProviderDeps['log'];
  private readonly readFile: (path: string) => string;
  /** Each docker pool's settings, resolved at start (or at first use for a pool added later). */
  private readonly settingsByPool = new Map<string, DockerSettings>();
  /** The engine's address, for messages. */
  private readonly where: string;

  constructor(deps: DockerProviderDeps) {
    this.docker = deps.docker;
    this.env = deps.env;
    this.kube = deps.kube;
    this.log = deps.log;
    this.readFile = deps.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
    deps.pools.forEach((pool, i) => {
      if (isDockerPool(pool)) {
        this.settingsByPool.set(pool.name, resolveDockerSettings(pool, deps.env, `autoscaler.pools[${i}]`));
      }
    });
    this.where = describeEndpoint(deps.docker.endpoint);
  }

  async create(pool: PoolConfig, nodes: readonly string[], actionId: string, options: CreateOptions = {}) {
    const zones =
      pool.zones.length > 0
        ? zonesOfNew(pool.zones, await this.zonesOfPool(pool), nodes, options.zones)
        : undefined;
    const out: { node: string; providerId: string }[] = [];
    for (const node of nodes) {
      const id = await this.ensureContainer(pool, node, actionId, zones?.get(node));
      // 304 when it runs already: an existing container that was stopped starts again.
      await this.docker.startContainer(id);
      out.push({ node, providerId: `docker://${id}` });
    }
    return out;
  }

  async remove(pool: PoolConfig, node: string): Promise<{ existed: boolean }> {
    const s = this.settingsOf(pool);
    const name = containerName(s, node);
    const c = await this.docker.inspectContainer(name);
    if (c) {
      const why = notOurs(c, pool.name);
      if (why) {
        throw new ScalewiseError(
          'CONFLICT',
          `container ${name} is not a Scalewise worker of pool '${pool.name}' (${why}): not removed`,
          { details: { container: name, pool: pool.name, reason: 'DOCKER_NAME_TAKEN' } },
        );
      }
      await this.docker.stopContainer(c.Id, s.options.stop_timeout_seconds);
      await this.docker.removeContainer(c.Id);
      this.log?.info(
        { container: name, container_id: c.Id, node, pool: pool.name },
        'k3s agent container removed',
      );
    }
    const deleted = s.options.delete_node && this.kube ? (await deleteNode(this.kube, node)).deleted : false;
    return { existed: Boolean(c) || deleted };
  }

  async list(pool: PoolConfig): Promise<Instance[]> {
    const found = await this.docker.listContainers(poolContainerLabels(pool));
    return found.map(instanceOf).filter((i) => i.node !== '');
  }

  private settingsOf(pool: PoolConfig): DockerSettings {
    let s = this.settingsByPool.get(pool.name);
    if (!s) {
      // A pool added at run time: resolved at first use.
      s = resolveDockerSettings(pool, this.env, `pool '${pool.name}'`);
      this.settingsByPool.set(pool.name, s);
    }
    return s;
  }

  /** The join token, read from its file at each use (a rotated token is used without a restart). */
  private tokenOf(s: DockerSettings): string {
    if (s.token.kind === 'value') return s.token.value;
    let text: string;
    try {
      text = this.readFile(s.token.path).trim();
    } catch (err) {
      throw new ScalewiseError(
        'INVALID_CONFIG',
        `${s.token.key}: cannot read the k3s join token from ${s.token.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { details: { key: s.token.key } },
      );
    }
    if (!text) throw configError(s.token.key, `${s.token.path} is empty: it should hold the k3s join token`);
    return text;
  }

  private async ensureImage(s: DockerSettings, pool: PoolConfig): Promise<void> {
    if (s.options.pull === 'missing' && (await this.docker.imageExists(s.image))) return;
    this.log?.info({ image: s.image, pool: pool.name }, 'pulling the k3s agent image');
    try {
      await this.docker.pullImage(s.image);
    } catch (err) {
      if (!(err instanceof ScalewiseError) || err.code !== 'DOCKER_API') throw err;
      // A registry that does not answer may answer later: retried, like any engine error.
      throw new ScalewiseError(
        'DOCKER_API',
        `image ${s.image}: the Docker engine at ${this.where} could not pull it (${err.message.replace(/^Docker API pull image \S+: /, '')}); pull it there yourself (docker pull ${s.image}), or fix the name or the engine's registry access`,
        {
          retriable: err.retriable,
          cause: err,
          details: { ...err.details, reason: 'DOCKER_PULL_FAILED', image: s.image, pool: pool.name },
        },
      );
    }
  }

  private missingImage(s: DockerSettings, message: string, pool: PoolConfig): ScalewiseError {
    const fix =
      s.options.pull === 'never'
        ? `pull it first (docker pull ${s.image}) or let node-manager pull it (provider_options.pull: missing)`
        : `node-manager pulled it and the engine still does not have it`;
    return new ScalewiseError(
      'DOCKER_API',
      `image ${s.image} is not on the Docker engine at ${this.where} (${message}): ${fix}`,
      {
        retriable: false,
        details: {
          operation: 'create container',
          reason: 'DOCKER_IMAGE_MISSING',
          image: s.image,
          pool: pool.name,
        },
      },
    );
  }

  /** The id of the worker's container, created (pulling its image if need be) unless it exists. */
  private async ensureContainer(
    pool: PoolConfig,
    node: string,
    actionId: string,
    zone: string | undefined,
  ): Promise<string> {
    const s = this.settingsOf(pool);
    const name = containerName(s, node);
    if (s.options.pull === 'always') await this.ensureImage(s, pool);
    for (let attempt = 1; ; attempt++) {
      const r = await this.docker.createContainer(
        name,
        containerSpec(pool, node, actionId, s, this.tokenOf(s), zone),
      );
      if (r.kind === 'created') {
        this.log?.info(
          { container: name, container_id: r.id, node, pool: pool.name },
          'k3s agent container created',
        );
        return r.id;
      }
      if (r.kind === 'no-image') {
        if (s.options.pull === 'never' || attempt > 1) throw this.missingImage(s, r.message, pool);
        await this.ensureImage(s, pool);
        continue;
      }
      // 409: made by an earlier attempt of this action (or of another): use it, if it is ours.
      const id = await this.existingContainer(pool, name);
      if (id !== undefined) return id;
      // Removed between the two calls: create it again.
      if (attempt > 2) break;
    }
    throw new ScalewiseError('DOCKER_API', `container ${name} keeps disappearing while being created`, {
      retriable: true,
      details: { operation: 'create container', container: name },
    });
  }

  /**
   * The id of the container of that name, when it is the pool's own and not going; undefined
   * when there is none (any more).
   */
  private async existingContainer(pool: PoolConfig, name: string): Promise<string | undefined> {
    const c = await this.docker.inspectContainer(name);
    if (!c) return undefined;
    const why = notOurs(c, pool.name);
    if (why) {
      throw new ScalewiseError(
        'CONFLICT',
        `a container named ${name} exists and is not a Scalewise worker of pool '${pool.name}' (${why}): left alone; rename it or change provider_options.container_name_prefix`,
        { details: { container: name, pool: pool.name, reason: 'DOCKER_NAME_TAKEN' } },
      );
    }
    if (c.State?.Status === 'removing' || c.State?.Status === 'dead') {
      throw new ScalewiseError('DOCKER_API', `container ${name} is being removed: try again`, {
        retriable: true,
        details: { operation: 'create container', container: name, state: c.State.Status },
      });
    }
    return c.Id;
  }

  /** The zone of each of the pool's workers that is not going (node -> zone). */
  private async zonesOfPool(pool: PoolConfig): Promise<Map<string, string>> {
    const found = await this.docker.listContainers(poolContainerLabels(pool));
    const zones = new Map<string, string>();
    for (const c of found) {
      const node = c.Labels?.[NODE_LABEL];
      const zone = c.Labels?.[ZONE_CONTAINER_LABEL];
      if (node && zone && c.State !== 'removing' && c.State !== 'dead') zones.set(node, zone);
    }
    return zones;
  }
}

/** Whether a pool's workers are k3s agent containers (`k3s-docker` is an alias of `docker`). */
export const isDockerPool = (pool: PoolConfig): boolean =>
  pool.provider === 'docker' || pool.provider === 'k3s-docker';

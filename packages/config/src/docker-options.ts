/**
 * `provider_options` of a pool whose `provider` is `docker` (or its alias `k3s-docker`), seed
 * 000: each worker is a k3s agent container that node-manager creates through the Docker
 * Engine API and that joins the k3s server as the node of the same name. Validated with the
 * rest of the configuration at start, errors naming their key, e.g.
 * `autoscaler.pools[0].provider_options.ulimits.nofile.soft`.
 *
 * The server address, the join token, the image and the network may come from node-manager's
 * environment instead (K3S_URL, K3S_TOKEN or K3S_TOKEN_FILE, K3S_AGENT_IMAGE, DOCKER_NETWORK),
 * as docker-compose.yml sets them; an option here wins over the environment.
 */
import { z } from 'zod';
import { workerEnv } from './worker-env.ts';

/** The image of a worker when neither `image` nor K3S_AGENT_IMAGE says: docker-compose.yml's server. */
export const DEFAULT_K3S_AGENT_IMAGE = 'rancher/k3s:v1.37.2-k3s1';

/** Container labels node-manager sets on every worker; options may not set them. */
export const RESERVED_DOCKER_LABELS = [
  'managed-by',
  'scalewise.io/pool',
  'scalewise.io/node',
  'scalewise.io/action-id',
  'scalewise.io/zone',
] as const;
/** Environment of the agent node-manager sets; options may not set it. */
export const RESERVED_DOCKER_ENV = ['K3S_URL', 'K3S_TOKEN', 'K3S_TOKEN_FILE', 'K3S_NODE_NAME'] as const;
/** Agent flags node-manager passes; `extra_args` may not repeat them. */
const RESERVED_AGENT_FLAGS = ['--node-name', '--server', '-s', '--token', '-t', '--token-file'];

const absolutePath = z
  .string()
  .regex(/^\/[^\s:]*$/, 'an absolute path in the container, without spaces or :');
/** `source:/target` or `source:/target:ro` (a host path or a named volume), as `docker run -v`. */
const bind = z
  .string()
  .regex(
    /^[^\s:]+:\/[^\s:]*(:[a-zA-Z,]+)?$/,
    'source:/target[:options], e.g. /lib/modules:/lib/modules:ro or k3s-images:/var/lib/rancher/k3s/agent/images',
  );
const ulimit = z
  .strictObject({
    soft: z.number().int('an integer').min(0, 'an integer >= 0'),
    hard: z.number().int('an integer').min(0, 'an integer >= 0'),
  })
  .refine((u) => u.soft <= u.hard, { message: 'soft is above hard', path: ['soft'] });
/** `key=value:Effect` or `key:Effect`, as k3s's --node-taint takes it. */
const taint = z
  .string()
  .regex(
    /^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?(=[A-Za-z0-9_.-]{0,63})?:(NoSchedule|PreferNoSchedule|NoExecute)$/,
    'key[=value]:NoSchedule|PreferNoSchedule|NoExecute',
  );

export const dockerOptionsSchema = z.strictObject({
  /** The k3s image of the agents. @default K3S_AGENT_IMAGE, else {@link DEFAULT_K3S_AGENT_IMAGE} */
  image: z
    .string()
    .regex(/^[^\s]+$/, 'an image reference without spaces')
    .optional(),
  /** Pull the image when the engine does not have it (`missing`), before each create (`always`), or never. */
  pull: z.enum(['missing', 'always', 'never']).default('missing'),
  /** The k3s server the agents join. @default K3S_URL */
  server_url: z.url({ protocol: /^https$/, error: 'an https URL such as https://k3s:6443' }).optional(),
  /** A file holding the join token (a mounted Secret), read at each create. @default K3S_TOKEN_FILE, else K3S_TOKEN */
  token_file: z.string().min(1, 'a file path').optional(),
  /** The Docker network of the agents (one the server is on). @default DOCKER_NETWORK, else the engine's default bridge */
  network: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'a Docker network name')
    .optional(),
  /** Container name = prefix + node name. */
  container_name_prefix: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits, _ . - (a Docker container name start)')
    .default('k3s-worker-'),
  /** k3s agents need a privileged container (kubelet, containerd, iptables). */
  privileged: z.boolean().default(true),
  /** tmpfs mounts, as k3s's own docker-compose.yml gives its agents. */
  tmpfs: z.array(absolutePath).default(['/run', '/var/run']),
  /** Extra binds and named volumes. */
  volumes: z.array(bind).default([]),
  /** Resource limits of the agent's processes (k3s's docker-compose.yml: 65535 files and processes). */
  ulimits: z
    .record(z.string().regex(/^[a-z]+$/, 'a ulimit name such as nofile or nproc'), ulimit)
    .default({ nofile: { soft: 65535, hard: 65535 }, nproc: { soft: 65535, hard: 65535 } }),
  /** Extra environment of the agent. */
  env: workerEnv(RESERVED_DOCKER_ENV),
  /** Extra container labels. */
  labels: z
    .record(
      z
        .string()
        .min(1)
        .refine((k) => !(RESERVED_DOCKER_LABELS as readonly string[]).includes(k), 'set by node-manager'),
      z.string(),
    )
    .default({}),
  /** Taints the node registers with (k3s `--node-taint`). */
  node_taints: z.array(taint).default([]),
  /** More `k3s agent` flags, e.g. ["--kubelet-arg=max-pods=50"]. */
  extra_args: z
    .array(
      z
        .string()
        .refine(
          (a) => !RESERVED_AGENT_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)),
          'set by node-manager (--node-name, --server, --token)',
        ),
    )
    .default([]),
  /** A removed worker gets this long to stop before the engine kills it. */
  stop_timeout_seconds: z.number().int('an integer').min(0).max(3600).default(30),
  /** What the engine does when an agent exits (`no`, `always`, `unless-stopped`, `on-failure`). */
  restart_policy: z.enum(['no', 'always', 'unless-stopped', 'on-failure']).default('unless-stopped'),
  /** After removing the container, delete its Node object too (it would stay NotReady otherwise). */
  delete_node: z.boolean().default(true),
});

export type DockerOptions = z.output<typeof dockerOptionsSchema>;
export type DockerOptionsInput = z.input<typeof dockerOptionsSchema>;

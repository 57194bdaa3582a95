/**
 * The whole system as an operator runs it: all six services as child processes
 * (`node services/<name>/src/main.ts` with one YAML config, as `scripts/up` starts them) on the
 * running stack, in a namespace of their own so that test files running side by side never
 * see each other: a unique cluster id (the services' Redis keys), topic and consumer-group
 * prefix, pool name (the `scalewise.io/pool` label of its nodes), Kubernetes namespace for the
 * test's workloads, dead-letter bucket and trigger-bridge stream.
 *
 * Every event on the system's topics is recorded from the first one: the topics are created
 * and each service's consumer group gets offset 0 committed before the services start (a new
 * group would otherwise start at the end and miss what was published while it joined).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensureTopics } from '@scalewise/bus';
import { type Recorder, recordTopics } from '@scalewise/bus/test-support/recorder';
import { startTcpProxy, type TcpProxy } from '@scalewise/bus/test-support/tcp-proxy';
import { type TopicKey, topicKeys, topicName } from '@scalewise/events';
import {
  connectKube,
  ensureNode,
  type Kube,
  kwokNodeManifest,
  POOL_LABEL,
  type V1Node,
  type V1Taint,
} from '@scalewise/kube';
import type { WireWorker, WorkersResponse } from '@scalewise/providers/provisioner-contract';
import {
  getStack,
  type KubeAdmin,
  kubeAdmin,
  repositoryRoot,
  type StackEndpoints,
  serversYaml,
  testKafka,
  uniqueName,
  waitFor,
} from '@scalewise/testing';
import { Redis } from 'ioredis';

/** The six services, in the order they start (consumers of a topic before its producers). */
export const serviceNames = [
  'alert-manager',
  'state-sync',
  'decision-engine',
  'min-enforcer',
  'node-manager',
  'metrics-listener',
] as const;
export type ServiceName = (typeof serviceNames)[number];

/** Consumer groups the services use, after the group prefix. */
const groupSuffixes = [...serviceNames, 'alert-manager-notify'];

export interface PoolOptions {
  /** @default 2 */
  min?: number;
  /** @default 6 */
  max?: number;
  /** What one worker offers. @default 4000 millicores, 8192 MiB */
  cpuMillicores?: number;
  memoryMib?: number;
  /** @default 2 */
  cooldownSeconds?: number;
  /** @default 2 */
  underutilizedForSeconds?: number;
  /** The scale-down stabilisation window. @default 2 */
  scaleDownWindowSeconds?: number;
  /** @default 60 */
  actionTimeoutSeconds?: number;
  /** The scale-up rate policy: at most this many workers added per 15 s. @default 10 */
  scaleUpPodsPer15s?: number;
  /** `trigger_hold_seconds`. @default the config's (600) */
  triggerHoldSeconds?: number;
  /** The template's `node_labels`: every node of the pool carries them. @default none */
  nodeLabels?: Record<string, string>;
  /** The template's `node_taints`. @default none */
  taints?: PoolTaint[];
  /** `zones`: new nodes go to the zone with the fewest of the pool's nodes. @default none */
  zones?: string[];
  /** For the `priority` expander. @default 0 (the config's default) */
  priority?: number;
  /**
   * `provider: external` through the provisioner at `url` (docs/providers.md), its
   * `provider_options.parameters` passed to every create. @default provider: kwok
   */
  external?: { url: string; parameters?: Record<string, string>; timeoutSeconds?: number };
  /**
   * `provider: pods` (seed 004): workers are pods of `image` in `namespace` (@default the
   * system's), on the nodes `nodeSelector` picks (@default those labelled
   * {@link PODS_HOST_LABEL}: <system name>, which the test creates). @default provider: kwok
   */
  pods?: { namespace?: string; image: string; nodeSelector?: Record<string, string> };
}

/** A taint of a pool's nodes (`node_taints`). */
export interface PoolTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'NoExecute' | 'PreferNoSchedule';
}

/**
 * A further pool of the system, named `<name>-<suffix>` (see {@link System.poolName}), with the
 * same behaviour (cooldown, windows, thresholds, rate) as the main pool's defaults; its nodes
 * are deleted at stop.
 */
export interface ExtraPool
  extends Pick<
    PoolOptions,
    'min' | 'max' | 'cpuMillicores' | 'memoryMib' | 'nodeLabels' | 'taints' | 'zones' | 'priority' | 'pods'
  > {
  /** Short (a few characters): node names are `<name>-<suffix>-<tag>-<i>`, at most 63. */
  suffix: string;
}

/** The label of the nodes a `pods` pool's worker pods run on, by default (PoolOptions.pods). */
export const PODS_HOST_LABEL = 'e2e.scalewise.io/pods-host';

/** The node label {@link SystemOptions.systemLabel} puts on every pool of a system. */
export const SYSTEM_LABEL = 'e2e.scalewise.io/system';

export interface SystemOptions {
  /** Short, for names and logs: `scale-down`, `node-failure`, ... */
  label: string;
  pool?: PoolOptions;
  /** Workers of the pool created (Ready) before the services start. @default 0 */
  initialWorkers?: number;
  /** @default 1 */
  sampleIntervalSeconds?: number;
  /** @default 2 */
  underutilizedPeriods?: number;
  /** @default 1 */
  syncIntervalSeconds?: number;
  /** @default 1 */
  minCheckIntervalSeconds?: number;
  /** @default 2 */
  emergencyScaleThreshold?: number;
  /** Losses within this many seconds count together towards the threshold. @default 60 */
  emergencyWindowSeconds?: number;
  /**
   * Runs once the namespace and the initial workers exist, before any service starts (a
   * workload the services must find as it is when they start).
   */
  prepare?: (place: { kube: Kube; admin: KubeAdmin; namespace: string; pool: string }) => Promise<void>;
  /** Seed 004's Redis-stream bridge in metrics-listener, on a stream of this system's own. @default false */
  triggerBridge?: boolean;
  /**
   * The services reach S3 (the dead-letter store) through a TCP proxy of the system's own,
   * which a test can cut and restore ({@link System.s3Proxy}). @default false
   */
  s3Proxy?: boolean;
  /**
   * A Kafka broker and/or a Redis other than the stack's (a test's own, which it may SIGKILL
   * and restart: `startPrivateKafka`, `startPrivateRedis`). @default the stack's
   */
  servers?: { kafkaBrokers?: string[]; redisUrl?: string };
  /** Pools besides the main one (`kwok`, min 0 and max 6 unless set). @default none */
  extraPools?: ExtraPool[];
  /**
   * Adds `e2e.scalewise.io/system: <name>` ({@link SYSTEM_LABEL}) to every pool's node labels,
   * the initial workers' included: pods that select it (and no pool) are this system's alone,
   * and the simulation chooses their pool. @default false
   */
  systemLabel?: boolean;
  /** `autoscaler.scheduling.expander`. @default the config's (least_waste) */
  expander?: 'least_waste' | 'priority';
  /**
   * How a service process starts (after `node`): its arguments, working directory and
   * environment on top of the system's. @default its TypeScript sources (`services/<svc>/src/main.ts`)
   */
  launch?: (service: ServiceName) => Promise<{ args: string[]; cwd: string; env?: Record<string, string> }>;
  /**
   * metrics-listener's leader-election Lease in the system's namespace (where a chart installed
   * there grants it) instead of the config's default namespace. @default false
   */
  leaseInSystemNamespace?: boolean;
}

export interface RunningService {
  name: ServiceName;
  port: number;
  child: ChildProcess;
  logFile: string;
}

export interface System {
  /** Unique to this system: the cluster id, pool, namespace and the topic/group prefix before the dot. */
  name: string;
  pool: string;
  /** Where the test's workloads go (pods select the pool's nodes). */
  namespace: string;
  /** Every pool of the system, the main one first. */
  pools: string[];
  /** The name of an extra pool: `<name>-<suffix>`. */
  poolName(suffix: string): string;
  /**
   * `{ 'e2e.scalewise.io/system': name }` with {@link SystemOptions.systemLabel} (a node
   * selector only this system's nodes satisfy), else empty.
   */
  systemSelector: Record<string, string>;
  clusterId: string;
  /** The full name of one of the system's topics. */
  topic(key: TopicKey): string;
  /** The Redis stream the trigger bridge reads (when enabled). */
  bridgeStream: string;
  /** Every event on the system's topics since before the services started. */
  rec: Recorder;
  /** Our client, as the services connect. */
  kube: Kube;
  /** client-node's typed APIs, for what the tests set up that our client does not serve (deployments, PDBs). */
  admin: KubeAdmin;
  redis: Redis;
  stack: StackEndpoints;
  services: ReadonlyMap<ServiceName, RunningService>;
  logDir: string;
  /** The proxy between the services and S3, with {@link SystemOptions.s3Proxy}. */
  s3Proxy?: TcpProxy;
  /** The pool's nodes on the API server, those being deleted left out. */
  workers(): Promise<V1Node[]>;
  /** The nodes of one of the system's pools (full name), those being deleted left out. */
  workersOf(pool: string): Promise<V1Node[]>;
  /** Names of the pool's Ready nodes. */
  readyWorkers(): Promise<string[]>;
  /** SIGKILLs a service (no shutdown of any kind) and waits until the process is gone. */
  kill(service: ServiceName): Promise<void>;
  /** Starts a service again (after {@link kill}), appending to its log; resolves once it is ready. */
  restart(service: ServiceName): Promise<RunningService>;
  /** SIGTERM to every service (SIGKILL after the deadline), then deletes the namespace and the pools' nodes. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; the service binds it a moment later). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** Environment variables that override config keys (packages/config): none may leak in from the shell. */
const overridePrefixes = ['KAFKA_', 'REDIS_', 'S3_', 'SCALEWISE_', 'OTEL_'];
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (overridePrefixes.some((p) => k.startsWith(p)) || k === 'KUBECONFIG' || k === 'LOG_LEVEL') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** The reference provisioner (services/provisioner) as a process of the test's own. */
export interface ProvisionerProcess {
  /** Its base URL on 127.0.0.1: a pool's `external.url`. */
  url: string;
  /** The namespace its machine records live in. */
  namespace: string;
  /** GET /pools/<pool>/workers: the machines it has for the pool. */
  workers(pool: string): Promise<WireWorker[]>;
  /** SIGTERM (SIGKILL after 10 s), then its namespace deleted. */
  stop(): Promise<void>;
}

/** Starts the reference provisioner on a free port, its records in a namespace named `label`-unique. */
export async function startProvisioner(label: string): Promise<ProvisionerProcess> {
  const shared = await getStack({ kubernetes: true });
  if (!shared.kubernetes) throw new Error('the stack has no Kubernetes API');
  const kube = connectKube({ kubeconfig: shared.kubernetes.kubeconfig });
  const namespace = uniqueName(`prov-${label.slice(0, 16)}`)
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  const port = await freePort();
  const logDir = join(repositoryRoot(), 'test-results', 'e2e', namespace);
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, 'provisioner.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=TimeoutNegativeWarning',
      join(repositoryRoot(), 'services', 'provisioner', 'src', 'main.ts'),
    ],
    {
      cwd: repositoryRoot(),
      env: childEnv({
        KUBECONFIG: shared.kubernetes.kubeconfig,
        PROVISIONER_NAMESPACE: namespace,
        SCALEWISE_HTTP_HOST: '127.0.0.1',
        SCALEWISE_HTTP_PORT: String(port),
        LOG_LEVEL: 'warn',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the provisioner exited (${child.exitCode})`);
      return (await fetch(`${url}/readyz`)).status === 200;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `the provisioner ready (log ${logFile})` },
  ).catch((err) => {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${tail(logFile)}`, { cause: err });
  });
  return {
    url,
    namespace,
    async workers(pool) {
      const res = await fetch(`${url}/pools/${pool}/workers`);
      if (res.status !== 200)
        throw new Error(`GET /pools/${pool}/workers: ${res.status} ${await res.text()}`);
      return ((await res.json()) as WorkersResponse).workers;
    },
    async stop() {
      await terminate(child, 10_000);
      await kube.core.deleteNamespace({ name: namespace }).catch(() => undefined);
    },
  };
}

/** A pool of the YAML: its name and everything a pool block says. */
interface PoolYaml extends PoolOptions {
  name: string;
}

/** One entry of `autoscaler.pools` (JSON is YAML's flow style: labels and taints quoted as they are). */
function poolYaml(p: PoolYaml): string {
  const template = [
    p.nodeLabels && Object.keys(p.nodeLabels).length > 0
      ? `      node_labels: ${JSON.stringify(p.nodeLabels)}`
      : '',
    p.taints && p.taints.length > 0 ? `      node_taints: ${JSON.stringify(p.taints)}` : '',
    p.zones && p.zones.length > 0 ? `      zones: ${JSON.stringify(p.zones)}` : '',
    p.priority !== undefined ? `      priority: ${p.priority}` : '',
  ].filter((l) => l !== '');
  const provider = p.external
    ? `      provider: external
      provider_options: ${JSON.stringify({
        url: p.external.url,
        timeout_seconds: p.external.timeoutSeconds ?? 5,
        ...(p.external.parameters ? { parameters: p.external.parameters } : {}),
      })}
`
    : p.pods
      ? `      provider: pods
      provider_options: ${JSON.stringify({
        namespace: p.pods.namespace,
        image: p.pods.image,
        ...(p.pods.nodeSelector ? { node_selector: p.pods.nodeSelector } : {}),
      })}
`
      : '      provider: kwok\n';
  return `    - name: ${p.name}
${provider}      min: ${p.min ?? 2}
      max: ${p.max ?? 6}
      node_size: { cpu_millicores: ${p.cpuMillicores ?? 4000}, memory_mib: ${p.memoryMib ?? 8192} }
${template.map((l) => `${l}\n`).join('')}      cooldown_seconds: ${p.cooldownSeconds ?? 2}
      action_timeout_seconds: ${p.actionTimeoutSeconds ?? 60}
${p.triggerHoldSeconds === undefined ? '' : `      trigger_hold_seconds: ${p.triggerHoldSeconds}\n`}      thresholds: { underutilized_for_seconds: ${p.underutilizedForSeconds ?? 2} }
      behavior:
        scale_up: { policies: [{ type: Pods, value: ${p.scaleUpPodsPer15s ?? 10}, period_seconds: 15 }] }
        scale_down: { stabilization_window_seconds: ${p.scaleDownWindowSeconds ?? 2} }`;
}

/** Every pool of a system with its labels (the system label added when asked), the main one first. */
function poolsOf(o: SystemOptions, name: string): PoolYaml[] {
  const system: Record<string, string> = o.systemLabel ? { [SYSTEM_LABEL]: name } : {};
  const withSystem = (labels: Record<string, string> | undefined) =>
    Object.keys({ ...labels, ...system }).length > 0 ? { ...labels, ...system } : undefined;
  const main = o.pool ?? {};
  return [
    { ...main, name, nodeLabels: withSystem(main.nodeLabels) },
    ...(o.extraPools ?? []).map(({ suffix, ...p }) => ({
      ...p,
      min: p.min ?? 0,
      name: `${name}-${suffix}`,
      nodeLabels: withSystem(p.nodeLabels),
      ...(p.pods ? { pods: { namespace: name, nodeSelector: { [PODS_HOST_LABEL]: name }, ...p.pods } } : {}),
    })),
  ];
}

/** The YAML every service of the system reads. */
export function systemYaml(
  stack: StackEndpoints,
  o: SystemOptions,
  names: { name: string; pool: string; bridgeStream: string },
): string {
  const { name, pool } = names;
  const pools = poolsOf(o, name).map((p, i) => (i === 0 ? { ...p, name: pool } : p));
  return `cluster_id: ${name}
autoscaler:
${o.expander ? `  scheduling: { expander: ${o.expander} }\n` : ''}  pools:
${pools.map(poolYaml).join('\n')}
  sensing:
    sample_interval_seconds: ${o.sampleIntervalSeconds ?? 1}
    underutilized_periods: ${o.underutilizedPeriods ?? 2}
    sync_interval_seconds: ${o.syncIntervalSeconds ?? 1}
    # Pending pods that name no pool belong to other tests, not to this system.
    default_pool: ${name}-none
${o.leaseInSystemNamespace ? `    leader_election: { namespace: ${name} }\n` : ''}  enforcement:
    auto_scale_to_min: true
    min_violation_check_interval: ${o.minCheckIntervalSeconds ?? 1}
    emergency_scale_threshold: ${o.emergencyScaleThreshold ?? 2}
    emergency_window_seconds: ${o.emergencyWindowSeconds ?? 60}
events: { topic_prefix: "${name}.", group_prefix: "${name}.", partitions: 3 }
redis: { url: "${stack.redis.url}", key_prefix: "${name}:" }
trigger_bridge: { enabled: ${o.triggerBridge ?? false}, stream: "${names.bridgeStream}", group: ${name}-bridge, default_pool: ${pool}, block_ms: 500 }
${serversYaml(stack)
  .split('\n')
  .filter((l) => !l.startsWith('redis:') && !l.startsWith('http:'))
  .join('\n')}
http: { host: 127.0.0.1, port: 0 }
telemetry: { log_level: ${process.env.E2E_LOG_LEVEL ?? 'info'} }
shutdown_timeout_seconds: 10
`;
}

/**
 * Commits offset 0 on every partition of `topics` for each service's consumer group, so that
 * the services read the topics from their first record. One member per group joins once for
 * all topics (kafkajs' admin.setOffsets joins a group per topic, about 5 s each), the groups
 * side by side.
 */
async function startGroupsAtZero(stack: StackEndpoints, prefix: string, topics: string[]): Promise<void> {
  const kafka = testKafka(stack);
  const admin = kafka.admin();
  await admin.connect();
  const partitions = new Map<string, number[]>();
  try {
    for (const topic of topics) {
      const offsets = await waitFor(
        async () => {
          const o = await admin.fetchTopicOffsets(topic);
          return o.length > 0 ? o : undefined;
        },
        { timeoutMs: 30_000, what: `the partitions of ${topic}` },
      );
      partitions.set(
        topic,
        offsets.map((o) => o.partition),
      );
    }
  } finally {
    await admin.disconnect();
  }
  await Promise.all(
    groupSuffixes.map(async (suffix) => {
      const consumer = kafka.consumer({ groupId: `${prefix}${suffix}`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      try {
        const joined = new Promise<void>((resolve) => {
          const off = consumer.on(consumer.events.GROUP_JOIN, () => {
            off();
            resolve();
          });
        });
        await consumer.subscribe({ topics, fromBeginning: true });
        await consumer.run({ autoCommit: false, eachMessage: async () => undefined });
        await joined;
        await consumer.commitOffsets(
          [...partitions].flatMap(([topic, ps]) =>
            ps.map((partition) => ({ topic, partition, offset: '0' })),
          ),
        );
      } finally {
        await consumer.disconnect();
      }
    }),
  );
}

/**
 * Starts the six services against the running stack and waits until each answers /readyz.
 * Their logs go to `test-results/e2e/<name>/<service>.log`.
 *
 * @throws Error naming the service and its log when one exits or is not ready within 120 s
 *   (what was started is stopped first).
 */
export async function startSystem(options: SystemOptions): Promise<System> {
  const shared = await getStack({ kubernetes: true });
  if (!shared.kubernetes) throw new Error('the stack has no Kubernetes API');
  const stack: StackEndpoints = {
    ...shared,
    ...(options.servers?.kafkaBrokers ? { kafka: { brokers: options.servers.kafkaBrokers } } : {}),
    ...(options.servers?.redisUrl ? { redis: { url: options.servers.redisUrl } } : {}),
  };
  if (!stack.kubernetes) throw new Error('the stack has no Kubernetes API');
  const kube = connectKube({ kubeconfig: stack.kubernetes.kubeconfig });
  const admin = kubeAdmin(stack.kubernetes.kubeconfig);
  // Under 40 characters (pool, namespace and node names derive from it: DNS labels), and
  // exactly as uniqueName recorded it, so that the test run drops the topics named after it.
  const name = uniqueName(`e2e-${options.label.slice(0, 16)}`);
  const pool = name;
  const prefix = `${name}.`;
  const bridgeStream = `${name}:otto:scale:events`;
  const s3url = new URL(stack.s3.endpoint);
  const s3Proxy = options.s3Proxy
    ? await startTcpProxy({ host: s3url.hostname, port: Number(s3url.port) })
    : undefined;
  const servicesStack = s3Proxy
    ? { ...stack, s3: { ...stack.s3, endpoint: `http://${s3Proxy.address}` } }
    : stack;
  const yaml = systemYaml(servicesStack, options, { name, pool, bridgeStream });
  const logDir = join(repositoryRoot(), 'test-results', 'e2e', name);
  mkdirSync(logDir, { recursive: true });
  const configFile = join(logDir, 'config.yaml');
  writeFileSync(configFile, yaml);

  const redis = new Redis(stack.redis.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  // A test may restart Redis: the commands fail meanwhile, the connection comes back.
  redis.on('error', () => undefined);
  await redis.connect();
  const services = new Map<ServiceName, RunningService>();
  let rec: (Recorder & { undecodable: number }) | undefined;
  const stopped: { done?: Promise<void> } = {};

  const pools = poolsOf(options, name).map((p) => p.name);
  const workersOf = async (of: string) =>
    (await kube.core.listNode({ labelSelector: `${POOL_LABEL}=${of}` })).items.filter(
      (n) => n.metadata?.deletionTimestamp === undefined,
    );
  const workers = () => workersOf(pool);
  const system: System = {
    name,
    pool,
    namespace: name,
    pools,
    poolName: (suffix) => `${name}-${suffix}`,
    systemSelector: options.systemLabel ? { [SYSTEM_LABEL]: name } : {},
    clusterId: name,
    topic: (key) => topicName(key, prefix),
    bridgeStream,
    get rec(): Recorder {
      if (!rec) throw new Error('the recorder has not started');
      return rec;
    },
    kube,
    admin,
    redis,
    stack,
    services,
    logDir,
    ...(s3Proxy ? { s3Proxy } : {}),
    workers,
    workersOf,
    readyWorkers: async () =>
      (await workers())
        .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((n) => n.metadata?.name as string),
    kill: async (svc) => {
      const s = services.get(svc);
      if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
      const gone = once(s.child, 'exit');
      s.child.kill('SIGKILL');
      await gone;
    },
    restart: async (svc) => {
      if (!control) throw new Error('the system has not started');
      const s = await control.launch(svc);
      await control.ready(s);
      return s;
    },
    stop: () => {
      stopped.done ??= stopAll();
      return stopped.done;
    },
  };
  let control:
    | { launch(svc: ServiceName): Promise<RunningService>; ready(s: RunningService): Promise<unknown> }
    | undefined;

  async function stopAll(): Promise<void> {
    // Producers first, as scripts/up does (in reverse order of starting).
    const running = [...services.values()].reverse();
    const t = Date.now();
    await Promise.all(running.map((s) => terminate(s.child, 15_000)));
    await rec?.stop().catch(() => undefined);
    await s3Proxy?.close().catch(() => undefined);
    // What the system said, for reading after a failure.
    if (rec) writeFileSync(join(logDir, 'events.jsonl'), rec.events.map((e) => JSON.stringify(e)).join('\n'));
    note(`services stopped in ${Date.now() - t} ms`);
    await kube.core.deleteNamespace({ name }).catch(() => undefined);
    // Pods go with the namespace while KWOK still plays their nodes' kubelet; then the nodes.
    await waitFor(
      async () => {
        try {
          await kube.core.readNamespace({ name });
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `namespace ${name} deleted` },
    ).catch(() => undefined);
    for (const p of pools) {
      await kube.core.deleteCollectionNode({ labelSelector: `${POOL_LABEL}=${p}` }).catch(() => undefined);
    }
    // The system's Redis keys (state, outputs, processed ids, the bridge stream) all carry
    // its name; SCAN rather than KEYS, not to hold a shared server.
    await new Promise<void>((resolve) => {
      const stream = redis.scanStream({ match: `*${name}*`, count: 1000 });
      stream.on('data', (keys: string[]) => {
        if (keys.length > 0) void redis.del(...keys).catch(() => undefined);
      });
      stream.on('end', resolve);
      stream.on('error', () => resolve());
    });
    await redis.quit().catch(() => redis.disconnect());
    note(`cleaned up in ${Date.now() - t} ms`);
  }
  const started = Date.now();
  const note = (what: string) => {
    if (process.env.E2E_VERBOSE) process.stderr.write(`e2e ${name} +${Date.now() - started} ms: ${what}\n`);
  };

  try {
    await kube.core.createNamespace({ body: { metadata: { name } } });
    await ensureWorkers(kube, pool, options, 0);
    await options.prepare?.({ kube, admin, namespace: name, pool });
    const kafkaAdmin = testKafka(stack).admin();
    await kafkaAdmin.connect();
    try {
      await ensureTopics(kafkaAdmin, { prefix, partitions: 3 });
    } finally {
      await kafkaAdmin.disconnect();
    }
    const topics = topicKeys.map((k) => topicName(k, prefix));
    note('topics created');
    await startGroupsAtZero(stack, prefix, topics);
    note('consumer groups at offset 0');
    rec = await recordTopics(stack.kafka.brokers, topics, `${name}.e2e-recorder`);
    note('recorder joined');

    const fromSources = async (svc: ServiceName) => ({
      args: [
        '--disable-warning=TimeoutNegativeWarning',
        join(repositoryRoot(), 'services', svc, 'src', 'main.ts'),
      ],
      cwd: repositoryRoot(),
      env: {},
    });
    const launch = async (svc: ServiceName): Promise<RunningService> => {
      const port = await freePort();
      const logFile = join(logDir, `${svc}.log`);
      const log = createWriteStream(logFile, { flags: 'a' });
      const how = await (options.launch ?? fromSources)(svc);
      const child = spawn(process.execPath, how.args, {
        cwd: how.cwd,
        // One replica per service, named as a pod would be: a restart takes its partitions back.
        env: childEnv({
          ...how.env,
          SCALEWISE_CONFIG: configFile,
          SCALEWISE_HTTP_PORT: String(port),
          SCALEWISE_INSTANCE_ID: svc,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      const s = { name: svc, port, child, logFile };
      services.set(svc, s);
      return s;
    };
    const ready = (s: RunningService) =>
      waitFor(
        async () => {
          if (s.child.exitCode !== null || s.child.signalCode !== null) {
            throw new Error(`${s.name} exited (${s.child.exitCode ?? s.child.signalCode})`);
          }
          const res = await fetch(`http://127.0.0.1:${s.port}/readyz`);
          return res.status === 200;
        },
        { timeoutMs: 120_000, intervalMs: 250, what: `${s.name} ready (log ${s.logFile})` },
      ).catch((err) => {
        throw new Error(`${(err as Error).message}\n${tail(s.logFile)}`, { cause: err });
      });
    // Sensing starts last, once state-sync has said what the pool is (the seed's flows begin
    // with ClusterStateSynced): a pool of initial workers is not scaled before it is known.
    const first = await Promise.all(
      serviceNames.filter((svc) => svc !== 'metrics-listener').map((svc) => launch(svc)),
    );
    await Promise.all(first.map(ready));
    note('every service but metrics-listener ready');
    const workersAtStart = options.initialWorkers ?? 0;
    await waitFor(
      () =>
        rec?.of('io.scalewise.ClusterStateSynced').some((e) => {
          const d = e.data as { pool: string; k8s_nodes: number };
          return d.pool === pool && d.k8s_nodes === workersAtStart;
        }),
      { timeoutMs: 30_000, intervalMs: 100, what: `ClusterStateSynced with ${workersAtStart} workers` },
    );
    await ready(await launch('metrics-listener'));
    note('every service ready');
    control = { launch, ready };
    // A service that exits later is a failure of the test that was running: say so loudly.
    for (const s of services.values()) {
      s.child.once('exit', (code, signal) => {
        if (!stopped.done && signal !== 'SIGKILL') {
          process.stderr.write(`e2e ${name}: ${s.name} exited early (${code ?? signal}); log ${s.logFile}\n`);
        }
      });
    }
    return system;
  } catch (err) {
    await system.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * Creates the pool's initial workers (named `<pool>-init-<i>`) of its template, as a provider
 * would have: its labels (the system label included) and taints, the zones taken in turn.
 */
async function ensureWorkers(kube: Kube, pool: string, o: SystemOptions, from: number): Promise<void> {
  const main = poolsOf(o, pool)[0];
  const zones = main?.zones ?? [];
  for (let i = from; i < (o.initialWorkers ?? 0); i++) {
    const zone = zones.length > 0 ? zones[i % zones.length] : undefined;
    await ensureNode(
      kube,
      kwokNodeManifest({
        name: `${pool}-init-${i}`,
        pool,
        cpuMillicores: o.pool?.cpuMillicores ?? 4000,
        memoryBytes: (o.pool?.memoryMib ?? 8192) * 2 ** 20,
        labels: { ...main?.nodeLabels },
        ...(main?.taints ? { taints: main.taints as V1Taint[] } : {}),
        ...(zone ? { zone } : {}),
      }),
    );
  }
  if ((o.initialWorkers ?? 0) > 0) {
    await waitFor(
      async () => {
        const nodes = (await kube.core.listNode({ labelSelector: `${POOL_LABEL}=${pool}` })).items;
        return (
          nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
            .length === o.initialWorkers
        );
      },
      { timeoutMs: 30_000, what: `${o.initialWorkers} initial workers Ready` },
    );
  }
}

/** SIGTERM, then SIGKILL when the child has not exited by the deadline. */
async function terminate(child: ChildProcess, deadlineMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  await exited;
  clearTimeout(timer);
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

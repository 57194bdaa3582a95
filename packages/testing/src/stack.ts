import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type KubernetesEndpoint, startK3s } from './k3s.ts';
import { loadKubeConfig } from './kube.ts';

const exec = promisify(execFile);

/** Where the real servers of a test run are. */
export interface StackEndpoints {
  /** `native` (scripts/stack on 127.0.0.1) or `containers` (testcontainers). */
  mode: 'native' | 'containers';
  kafka: { brokers: string[] };
  redis: { url: string };
  s3: {
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: true;
  };
  /** The Kubernetes API, when asked for with `getStack({ kubernetes: true })`. */
  kubernetes?: KubernetesEndpoint;
  /** Stops what this process started (containers); the native stack is left running. */
  stop(): Promise<void>;
}

const repoRoot = resolve(import.meta.dirname, '../../..');
const stackScript = join(repoRoot, 'scripts', 'stack');

/** What a test needs besides Kafka, Redis and S3. */
export interface StackOptions {
  /**
   * A Kubernetes API server with KWOK managing nodes labelled `kwok.x-k8s.io/node=fake`:
   * the native stack's k8s component, or k3s and kwok containers. @default false
   */
  kubernetes?: boolean;
}

/** Where the servers come from. */
export type ServerMode = StackEndpoints['mode'];

/**
 * Chooses native servers or containers from `SCALEWISE_TEST_SERVERS` (`auto`, `native` or
 * `containers`; unset or empty means `auto`) and whether a Docker engine answered. `auto`
 * takes containers when there is an engine; an explicit `containers` is taken as it is, as
 * testcontainers finds engines (rootless, remote, configured in ~/.testcontainers.properties)
 * that our probe of DOCKER_HOST and /var/run/docker.sock does not. Pure.
 *
 * @throws Error for any other setting.
 */
export function chooseServers(setting: string | undefined, dockerReachable: boolean): ServerMode {
  switch (setting || 'auto') {
    case 'auto':
      return dockerReachable ? 'containers' : 'native';
    case 'native':
      return 'native';
    case 'containers':
      return 'containers';
    default:
      throw new Error(`SCALEWISE_TEST_SERVERS must be auto, native or containers, not '${setting}'`);
  }
}

const started = new Map<string, Promise<StackEndpoints>>();

/**
 * The servers every integration test uses, started once per process. With a reachable Docker
 * engine (and `SCALEWISE_TEST_SERVERS` not `native`) they are testcontainers; otherwise the
 * native stack, started through `scripts/stack up` if it is not running. Kafka, Redis and S3
 * always; the Kubernetes control plane only when asked for, as it is the slowest to build.
 *
 * @throws Error with the stack command's output when the servers cannot be started.
 */
export function getStack(options: StackOptions = {}): Promise<StackEndpoints> {
  const key = options.kubernetes ? 'kube' : 'base';
  let p = started.get(key);
  if (!p) {
    p = start(options);
    started.set(key, p);
  }
  return p;
}

async function start(options: StackOptions): Promise<StackEndpoints> {
  const setting = process.env.SCALEWISE_TEST_SERVERS;
  // Only ask the engine when the answer matters.
  const docker = (setting || 'auto') === 'auto' && (await dockerReachable());
  return chooseServers(setting, docker) === 'containers' ? startContainers(options) : startNative(options);
}

async function dockerReachable(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  const socket = host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
  if (host && !host.startsWith('unix://')) return true;
  if (!existsSync(socket)) return false;
  return new Promise((done) => {
    const s = connect(socket);
    s.once('connect', () => {
      // A socket file alone is not an engine: ask for /_ping.
      s.write('GET /_ping HTTP/1.0\r\n\r\n');
    });
    s.once('data', (d) => {
      done(d.toString().includes(' 200 '));
      s.destroy();
    });
    s.once('error', () => done(false));
    s.setTimeout(1000, () => {
      done(false);
      s.destroy();
    });
  });
}

/** Parses `scripts/stack env` (KEY=VALUE lines). */
export function parseEnvLines(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return env;
}

function required(env: Record<string, string>, key: string): string {
  const v = env[key];
  if (!v) throw new Error(`scripts/stack env did not print ${key}`);
  return v;
}

async function startNative(options: StackOptions): Promise<StackEndpoints> {
  const components = ['kafka', 'redis', 's3', ...(options.kubernetes ? ['k8s'] : [])];
  try {
    await exec(stackScript, ['up', ...components], {
      cwd: repoRoot,
      maxBuffer: 16 << 20,
      timeout: 3_600_000,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`the native stack did not come up (scripts/stack up):\n${e.stderr ?? e.message}`);
  }
  const { stdout } = await exec(stackScript, ['env'], { cwd: repoRoot });
  const env = parseEnvLines(stdout);
  return {
    mode: 'native',
    kafka: { brokers: required(env, 'KAFKA_BROKERS').split(',') },
    redis: { url: required(env, 'REDIS_URL') },
    s3: {
      endpoint: required(env, 'S3_ENDPOINT'),
      region: required(env, 'S3_REGION'),
      accessKeyId: required(env, 'S3_ACCESS_KEY_ID'),
      secretAccessKey: required(env, 'S3_SECRET_ACCESS_KEY'),
      forcePathStyle: true,
    },
    ...(options.kubernetes
      ? {
          kubernetes: {
            ...kubernetesAt(required(env, 'KUBECONFIG')),
            ...(env.ETCD_ENDPOINT ? { etcd: env.ETCD_ENDPOINT } : {}),
          },
        }
      : {}),
    stop: async () => {},
  };
}

/** @throws Error when the kubeconfig is missing or names no server. */
function kubernetesAt(kubeconfig: string): KubernetesEndpoint {
  const server = loadKubeConfig(kubeconfig).getCurrentCluster()?.server;
  if (!server) throw new Error(`the kubeconfig ${kubeconfig} names no server for its current context`);
  return { kubeconfig, server };
}

async function startContainers(options: StackOptions): Promise<StackEndpoints> {
  // Loaded only where a Docker engine answers: the native path never needs them.
  const { GenericContainer, Wait } = await import('testcontainers');
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const { RedisContainer } = await import('@testcontainers/redis');
  const accessKeyId = 'scalewise';
  const secretAccessKey = 'scalewise-secret';
  const [k8s, kafka, redis, s3] = await Promise.all([
    options.kubernetes ? startK3s(join(repoRoot, 'scripts', 'k8s', 'kwok-stages.yaml')) : undefined,
    new KafkaContainer('apache/kafka:3.9.2').withKraft().start(),
    new RedisContainer('redis:7.0').start(),
    new GenericContainer('andrewgaul/s3proxy:sha-latest')
      .withEnvironment({
        S3PROXY_AUTHORIZATION: 'aws-v2-or-v4',
        S3PROXY_IDENTITY: accessKeyId,
        S3PROXY_CREDENTIAL: secretAccessKey,
        JCLOUDS_PROVIDER: 'filesystem',
      })
      .withExposedPorts(80)
      .withWaitStrategy(Wait.forListeningPorts())
      .start(),
  ]);
  return {
    mode: 'containers',
    kafka: { brokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`] },
    redis: { url: redis.getConnectionUrl() },
    s3: {
      endpoint: `http://${s3.getHost()}:${s3.getMappedPort(80)}`,
      region: 'us-east-1',
      accessKeyId,
      secretAccessKey,
      forcePathStyle: true,
    },
    ...(k8s ? { kubernetes: k8s.kubernetes } : {}),
    stop: async () => {
      await Promise.all([kafka.stop(), redis.stop(), s3.stop(), k8s?.stop()]);
    },
  };
}

/** The repository's root directory (for tests that run project scripts). */
export function repositoryRoot(): string {
  return repoRoot;
}

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KWOK_NODE_KEY, KWOK_NODE_VALUE } from './kube.ts';

/** Where a test's Kubernetes API is. */
export interface KubernetesEndpoint {
  /** Path of an admin kubeconfig for the cluster. */
  kubeconfig: string;
  /** The API server's URL as the kubeconfig names it, e.g. `https://127.0.0.1:6443`. */
  server: string;
  /** The native stack's etcd (plain HTTP, its JSON gateway), e.g. `http://127.0.0.1:2379`. */
  etcd?: string;
}

/**
 * Pinned images of the containers path. k3s has no 1.37 tag known to us yet, so it runs one
 * minor behind the native stack's v1.37.2; kwok is the native stack's v0.8.0.
 */
export const K3S_IMAGE = 'rancher/k3s:v1.36.4-k3s1';
export const KWOK_IMAGE = 'registry.k8s.io/kwok/kwok:v0.8.0';

const API_PORT = 6443;
/** k3s's name on the containers' private network, for kwok. */
const K3S_ALIAS = 'k3s';

/**
 * The kubeconfig with every cluster's server replaced by `server` (k3s writes
 * `https://127.0.0.1:6443`, its address inside the container). Pure.
 *
 * @throws Error when the text is not a kubeconfig with at least one cluster.
 */
export function kubeconfigWithServer(kubeconfig: string, server: string): string {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  if (kc.getClusters().length === 0) throw new Error('the kubeconfig names no cluster');
  const moved = new KubeConfig();
  moved.loadFromOptions({
    clusters: kc.getClusters().map((c) => ({ ...c, server })),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  // JSON is YAML: every kubeconfig reader accepts it.
  return moved.exportConfig();
}

/**
 * Starts k3s (`server --disable=traefik`, privileged) and, beside it on a private network,
 * kwok with the native stack's stages and selector, so simulated nodes behave as they do
 * there. Writes an admin kubeconfig for the API's mapped port on 127.0.0.1 to a temporary
 * directory. Needs a Docker engine; never run on the machine this was written on.
 *
 * @param stagesFile the kwok stages (scripts/k8s/kwok-stages.yaml).
 * @throws Error when a container does not start or k3s's kubeconfig cannot be read.
 */
export async function startK3s(
  stagesFile: string,
): Promise<{ kubernetes: KubernetesEndpoint; stop(): Promise<void> }> {
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const network = await new Network().start();
  const k3s = await new GenericContainer(K3S_IMAGE)
    .withPrivilegedMode()
    .withCommand(['server', '--disable=traefik', `--tls-san=${K3S_ALIAS}`])
    .withTmpFs({ '/run': 'rw', '/var/run': 'rw' })
    .withNetwork(network)
    .withNetworkAliases(K3S_ALIAS)
    .withExposedPorts(API_PORT)
    .withWaitStrategy(Wait.forLogMessage('Node controller sync successful'))
    .withStartupTimeout(180_000)
    .start();
  const dir = await mkdtemp(join(tmpdir(), 'scalewise-k3s-'));
  const stopAll = async (...started: { stop(): Promise<unknown> }[]) => {
    for (const c of started) await c.stop();
    await network.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const read = await k3s.exec(['cat', '/etc/rancher/k3s/k3s.yaml']);
    if (read.exitCode !== 0) throw new Error(`cannot read k3s's kubeconfig: ${read.output}`);
    const server = `https://127.0.0.1:${k3s.getMappedPort(API_PORT)}`;
    const kubeconfig = join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfig, kubeconfigWithServer(read.stdout, server), { mode: 0o600 });
    const kwok = await new GenericContainer(KWOK_IMAGE)
      .withNetwork(network)
      .withCopyContentToContainer([
        {
          content: kubeconfigWithServer(read.stdout, `https://${K3S_ALIAS}:${API_PORT}`),
          target: '/etc/kwok/kubeconfig',
        },
        { content: await readFile(stagesFile, 'utf8'), target: '/etc/kwok/stages.yaml' },
      ])
      // The flags of kwok in scripts/lib/k8s.sh.
      .withCommand([
        '--kubeconfig=/etc/kwok/kubeconfig',
        '--config=/etc/kwok/stages.yaml',
        `--manage-nodes-with-label-selector=${KWOK_NODE_KEY}=${KWOK_NODE_VALUE}`,
        '--node-lease-duration-seconds=40',
        '--cidr=10.244.0.0/16',
        '--node-ip=127.0.0.1',
      ])
      .start();
    return { kubernetes: { kubeconfig, server }, stop: () => stopAll(kwok, k3s) };
  } catch (err) {
    await stopAll(k3s).catch(() => undefined);
    throw err;
  }
}

#!/usr/bin/env node
/**
 * The demo workload: plays demoPlan() against the cluster in a loop so that the pool
 * scales up, down, loses a worker and recovers, printing what should happen next.
 *
 *   KUBECONFIG=... node packages/demo/src/main.ts [--pool workers] [--once]
 *
 * Reads KUBECONFIG (scripts/up sets it to the native stack's). Ctrl-C deletes the demo's
 * namespace and exits.
 */
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { defaultShape, demoPlan, type Phase } from './plan.ts';

const { values } = parseArgs({
  options: {
    pool: { type: 'string', default: 'workers' },
    namespace: { type: 'string', default: 'scalewise-demo' },
    once: { type: 'boolean', default: false },
    'scale-down-seconds': { type: 'string', default: String(defaultShape.scaleDownSeconds) },
  },
});
const pool = values.pool;
const namespace = values.namespace;
const scaleDownSeconds = Number(values['scale-down-seconds']);
if (!Number.isFinite(scaleDownSeconds) || scaleDownSeconds < 0) {
  console.error(
    `demo: --scale-down-seconds must be a number of seconds, got '${values['scale-down-seconds']}'`,
  );
  process.exit(2);
}
if (!process.env.KUBECONFIG) {
  console.error("demo: KUBECONFIG is not set (scripts/up sets it to the native stack's kubeconfig)");
  process.exit(2);
}

const kc = new KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG);
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const POOL_LABEL = 'scalewise.io/pool';
const name = 'demo-web';

function log(message: string): void {
  console.log(`[demo ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

function deployment(replicas: number): V1Deployment {
  return {
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: { [POOL_LABEL]: pool },
          // KWOK runs no containers; the image is never pulled on simulated nodes.
          containers: [
            {
              name: 'web',
              image: 'registry.k8s.io/pause:3.10',
              resources: { requests: { cpu: `${defaultShape.podCpuMillicores}m`, memory: '256Mi' } },
            },
          ],
        },
      },
    },
  };
}

async function ensureNamespace(): Promise<void> {
  try {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

async function setReplicas(replicas: number): Promise<void> {
  try {
    await apps.replaceNamespacedDeployment({ name, namespace, body: deployment(replicas) });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    await apps.createNamespacedDeployment({ namespace, body: deployment(replicas) });
  }
}

async function loseNode(): Promise<void> {
  const nodes = await core.listNode({ labelSelector: `${POOL_LABEL}=${pool}` });
  const victim = nodes.items.at(-1)?.metadata?.name;
  if (!victim) {
    log(`no node of pool ${pool} to lose; is node-manager running?`);
    return;
  }
  log(`deleting node ${victim} behind the autoscaler's back`);
  await core.deleteNode({ name: victim });
}

async function play(phase: Phase): Promise<void> {
  if (phase.kind === 'replicas') {
    log(`${name}: ${phase.replicas} replicas`);
    await setReplicas(phase.replicas);
  } else {
    await loseNode();
  }
  log(`expect: ${phase.expect}`);
  await new Promise((resolve) => setTimeout(resolve, phase.holdSeconds * 1000));
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`cleaning up namespace ${namespace}`);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

await ensureNamespace();
const plan = demoPlan({ ...defaultShape, scaleDownSeconds });
log(`pool ${pool}: workers labelled ${POOL_LABEL}=${pool}; watch with \`scalewise tail\` or /metrics`);
do {
  for (const phase of plan) {
    if (stopping) break;
    await play(phase);
  }
} while (!values.once && !stopping);
await stop();

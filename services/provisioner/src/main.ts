// The reference provisioner (docs/providers.md): the external provider's contract on KWOK.
//
//   KUBECONFIG                 the API server the machines' Nodes register on (in a pod: its own)
//   PROVISIONER_NAMESPACE      where machine records live (created if missing) @default scalewise-provisioner
//   PROVISIONER_TOKEN_FILE     the bearer token callers must send; unset: no auth
//   PROVISIONER_TLS_CERT_FILE, PROVISIONER_TLS_KEY_FILE   serve https
//   PROVISIONER_MAX_WORKERS_PER_POOL                     a pool's quota (QUOTA_EXCEEDED past it)
//   SCALEWISE_HTTP_HOST, SCALEWISE_HTTP_PORT             @default 0.0.0.0:8080
import { readFileSync } from 'node:fs';
import { connectKube, isStatus, kubeCall } from '@scalewise/kube';
import { buildApp, createMachines } from './app.ts';

const env = process.env;
const namespace = env.PROVISIONER_NAMESPACE?.trim() || 'scalewise-provisioner';
const kube = connectKube({ kubeconfig: env.KUBECONFIG?.trim() || undefined });
const max = env.PROVISIONER_MAX_WORKERS_PER_POOL?.trim();
if (max !== undefined && max !== '' && !/^\d+$/.test(max)) {
  console.error('PROVISIONER_MAX_WORKERS_PER_POOL: a whole number');
  process.exit(2);
}
try {
  await kubeCall('creating the namespace', () =>
    kube.core.createNamespace({ body: { metadata: { name: namespace } } }),
  );
} catch (err) {
  if (!isStatus(err, 409)) throw err;
}
const machines = createMachines({ kube, namespace, ...(max ? { maxPerPool: Number(max) } : {}) });
const cert = env.PROVISIONER_TLS_CERT_FILE?.trim();
const key = env.PROVISIONER_TLS_KEY_FILE?.trim();
const app = await buildApp({
  machines,
  ...(env.PROVISIONER_TOKEN_FILE?.trim() ? { tokenFile: env.PROVISIONER_TOKEN_FILE.trim() } : {}),
  server: {
    logger: { level: env.LOG_LEVEL?.trim() || 'info' },
    https: cert && key ? { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') } : null,
  },
});
// Boots that are due (a delay, or a restart in the middle of one).
let reconciling = false;
const timer = setInterval(() => {
  if (reconciling) return;
  reconciling = true;
  machines
    .reconcile()
    .catch((err) => app.log.warn({ err }, 'booting machines failed; retried in a second'))
    .finally(() => {
      reconciling = false;
    });
}, 1000);
const address = await app.listen({
  host: env.SCALEWISE_HTTP_HOST?.trim() || '0.0.0.0',
  port: Number(env.SCALEWISE_HTTP_PORT?.trim() || 8080),
});
app.log.info({ address, namespace }, 'provisioner listening');
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.once(signal, () => {
    clearInterval(timer);
    void app.close().then(() => process.exit(0));
  });
